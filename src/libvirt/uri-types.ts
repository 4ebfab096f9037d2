// SPDX-License-Identifier: Apache-2.0
/**
 * What a parsed libvirt connection URI says (where to connect, the name to open) and the options that
 * complete it, with libvirt's default ports, socket directory and PKI files.
 *
 * @packageDocumentation
 */

/** Default TCP port of libvirtd's plain TCP listener. */
export const LIBVIRT_TCP_PORT = 16509;
/** Default TCP port of libvirtd's TLS listener. */
export const LIBVIRT_TLS_PORT = 16514;
/** System socket directory of libvirtd. */
export const LIBVIRT_RUN_DIR = '/var/run/libvirt';
/** Default PKI files of a libvirt TLS client (system-wide layout). */
export const DEFAULT_PKI = {
  caFile: '/etc/pki/CA/cacert.pem',
  certFile: '/etc/pki/libvirt/clientcert.pem',
  keyFile: '/etc/pki/libvirt/private/clientkey.pem',
} as const;

/** Where a connection goes. */
export type ConnectTarget =
  | {
      readonly kind: 'unix';
      readonly path: string;
      /** The other socket that was looked for and not found (named in connection errors). */
      readonly alternative?: string;
    }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | {
      readonly kind: 'tls';
      readonly host: string;
      readonly port: number;
      readonly caFile: string;
      readonly certFile: string;
      readonly keyFile: string;
      /** Verify the server certificate against the CA and the host name (libvirt's default). */
      readonly verify: boolean;
    };

/** Transports this client implements. */
export type LibvirtTransport = 'unix' | 'tcp' | 'tls';

/** Options that complete or override what the URI says. */
export interface UriOptions {
  /** Use the read-only socket for local system URIs (default true). */
  readonly readOnly?: boolean;
  /** Connect to this unix socket whatever the URI says. */
  readonly socketPath?: string;
  /** TLS settings for `+tls` URIs; each overrides the `pkipath`/`no_verify` query parameters. */
  readonly tls?: TlsFileOptions;
  /** Environment used to find the session socket (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Whether a socket path exists, to choose between the modular and the monolithic daemon (default `fs.existsSync`). */
  readonly fileExists?: (path: string) => boolean;
}

/** PKI files and verification of a TLS connection. */
export interface TlsFileOptions {
  /** Directory holding cacert.pem, clientcert.pem and clientkey.pem (like the `pkipath` parameter). */
  readonly pkiPath?: string;
  /** CA certificate file (overrides pkiPath and the default). */
  readonly caFile?: string;
  /** Client certificate file. */
  readonly certFile?: string;
  /** Client private key file. */
  readonly keyFile?: string;
  /** Verify the server certificate (default true; `no_verify=1` in the URI turns it off). */
  readonly verify?: boolean;
}

/** A parsed connection URI. */
export interface ParsedLibvirtUri {
  /** The URI as given. */
  readonly uri: string;
  /** Hypervisor driver: `qemu`, `test`, `remote`, ... */
  readonly driver: string;
  /** Transport used to reach the daemon. */
  readonly transport: LibvirtTransport;
  /** Host for tcp/tls, empty for unix. */
  readonly host: string;
  /** Path part, e.g. `/system`. */
  readonly path: string;
  /** Query parameters kept for the server (client-side ones removed). */
  readonly serverParams: ReadonlyMap<string, string>;
  /** The name sent in CONNECT_OPEN, e.g. `qemu:///system`. */
  readonly name: string;
  /** Where to connect. */
  readonly target: ConnectTarget;
}
