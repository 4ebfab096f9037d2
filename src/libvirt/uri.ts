// SPDX-License-Identifier: Apache-2.0
/**
 * Parsing of libvirt connection URIs (`driver[+transport]://[host[:port]]/path[?query]`) into what this
 * client needs: where to connect (unix socket, TCP or TLS) and the name to send in CONNECT_OPEN. The
 * rules follow libvirt's remote driver: the transport and the client-side query parameters are removed
 * from the name, a URI with a host but no transport means TLS, and a local URI finds the modular daemon's
 * socket (`virtqemud-sock-ro`) or the monolithic one's (`libvirt-sock-ro`), whichever exists.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { LibvirtUriError } from './errors.ts';

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

// Query parameters the remote driver consumes itself and never forwards to the daemon.
const CLIENT_PARAMS = new Set([
  'name',
  'command',
  'socket',
  'auth',
  'authfile',
  'netcat',
  'keyfile',
  'sshauth',
  'known_hosts',
  'known_hosts_verify',
  'no_sanity',
  'no_verify',
  'no_tty',
  'pkipath',
  'tls_priority',
  'mode',
  'proxy',
]);

const UNSUPPORTED_TRANSPORTS = new Set(['ssh', 'libssh', 'libssh2', 'ext']);

function parseQuery(uri: string, query: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of query.split(/[&;]/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    try {
      out.push([decodeURIComponent(rawName), decodeURIComponent(rawValue)]);
    } catch {
      throw new LibvirtUriError(uri, `malformed percent-encoding in query parameter ${JSON.stringify(part)}`);
    }
  }
  return out;
}

function parseBoolParam(uri: string, key: string, value: string): boolean {
  if (!/^-?\d+$/.test(value)) throw new LibvirtUriError(uri, `query parameter ${key} must be an integer`);
  return Number(value) !== 0;
}

/**
 * Parses a libvirt connection URI. Throws {@link LibvirtUriError} for malformed URIs and for transports
 * this client lacks (ssh, libssh, libssh2, ext).
 *
 * @example parseLibvirtUri('qemu:///system').target.path // '/var/run/libvirt/virtqemud-sock-ro' if it exists, else '/var/run/libvirt/libvirt-sock-ro'
 */
export function parseLibvirtUri(uri: string, options: UriOptions = {}): ParsedLibvirtUri {
  const m = /^([A-Za-z][A-Za-z0-9.-]*)(?:\+([A-Za-z0-9.-]*))?:(.*)$/s.exec(uri.trim());
  if (m === null)
    throw new LibvirtUriError(uri, 'not a libvirt URI: expected driver[+transport]://[host]/path');
  const driver = (m[1] ?? '').toLowerCase();
  const rawTransport = m[2]?.toLowerCase();
  let rest = m[3] ?? '';

  if (rawTransport !== undefined && UNSUPPORTED_TRANSPORTS.has(rawTransport)) {
    throw new LibvirtUriError(
      uri,
      `the ${rawTransport} transport is not supported by this client; use unix, tcp or tls (or tunnel the socket yourself and pass socketPath)`,
    );
  }
  if (rawTransport !== undefined && !['unix', 'tcp', 'tls'].includes(rawTransport)) {
    throw new LibvirtUriError(uri, `unknown transport ${JSON.stringify(rawTransport)}`);
  }
  if (!rest.startsWith('//')) {
    throw new LibvirtUriError(uri, 'not a libvirt URI: expected driver[+transport]://[host]/path');
  }
  rest = rest.slice(2);

  let fragment = '';
  const hashAt = rest.indexOf('#');
  if (hashAt >= 0) {
    fragment = rest.slice(hashAt + 1);
    rest = rest.slice(0, hashAt);
  }
  let query = '';
  const qAt = rest.indexOf('?');
  if (qAt >= 0) {
    query = rest.slice(qAt + 1);
    rest = rest.slice(0, qAt);
  }
  const slashAt = rest.indexOf('/');
  const authority = slashAt >= 0 ? rest.slice(0, slashAt) : rest;
  const uriPath = slashAt >= 0 ? rest.slice(slashAt) : '';

  // authority = [user@]host[:port], host possibly an [IPv6] literal
  const hostPort = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  let port: number | undefined;
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  if (hp === null) throw new LibvirtUriError(uri, `malformed host ${JSON.stringify(hostPort)}`);
  const host = hp[1] ?? '';
  if (hp[2] !== undefined && hp[2] !== '') {
    port = Number(hp[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new LibvirtUriError(uri, `port ${hp[2]} out of range`);
    }
  }
  const bareHost = host.startsWith('[') ? host.slice(1, -1) : host;

  const transport: LibvirtTransport =
    rawTransport === undefined ? (host === '' ? 'unix' : 'tls') : (rawTransport as LibvirtTransport);

  const clientParams = new Map<string, string>();
  const serverParams = new Map<string, string>();
  const serverQuery: string[] = [];
  for (const [key, value] of parseQuery(uri, query)) {
    if (CLIENT_PARAMS.has(key.toLowerCase())) clientParams.set(key.toLowerCase(), value);
    else {
      serverParams.set(key, value);
      serverQuery.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
    }
  }

  const explicitName = clientParams.get('name');
  let name: string;
  if (explicitName !== undefined) name = explicitName;
  else if (driver === 'remote')
    name = ''; // let the daemon pick its default driver, as libvirt does
  else {
    name = `${driver}://${uriPath}`;
    if (serverQuery.length > 0) name += `?${serverQuery.join('&')}`;
    if (fragment !== '') name += `#${fragment}`;
  }

  const readOnly = options.readOnly ?? true;
  let target: ConnectTarget;
  if (options.socketPath !== undefined) {
    target = { kind: 'unix', path: options.socketPath };
  } else if (transport === 'unix') {
    if (host !== '') throw new LibvirtUriError(uri, 'the unix transport takes no host name');
    const socket = clientParams.get('socket');
    if (socket !== undefined && socket !== '') {
      if (!path.isAbsolute(socket))
        throw new LibvirtUriError(uri, 'the socket parameter must be an absolute path');
      target = { kind: 'unix', path: socket };
    } else {
      let dir = LIBVIRT_RUN_DIR;
      if (uriPath === '/session') {
        const runtimeDir = (options.env ?? process.env)['XDG_RUNTIME_DIR'];
        if (runtimeDir === undefined || runtimeDir === '') {
          throw new LibvirtUriError(
            uri,
            'session URIs need XDG_RUNTIME_DIR to locate the per-user daemon socket; pass socketPath instead',
          );
        }
        dir = path.join(runtimeDir, 'libvirt');
      }
      const { path: socketPath, alternative } = chooseLocalSocket(dir, driver, {
        readOnly,
        session: uriPath === '/session',
        fileExists: options.fileExists ?? existsSync,
      });
      target = { kind: 'unix', path: socketPath, ...(alternative !== undefined ? { alternative } : {}) };
    }
  } else if (transport === 'tcp') {
    target = { kind: 'tcp', host: bareHost === '' ? 'localhost' : bareHost, port: port ?? LIBVIRT_TCP_PORT };
  } else {
    const tlsOptions = options.tls ?? {};
    const pkiDir = tlsOptions.pkiPath ?? clientParams.get('pkipath');
    const fromDir = (file: string): string | undefined =>
      pkiDir === undefined ? undefined : path.join(pkiDir, file);
    const noVerify = clientParams.get('no_verify');
    target = {
      kind: 'tls',
      host: bareHost === '' ? 'localhost' : bareHost,
      port: port ?? LIBVIRT_TLS_PORT,
      caFile: tlsOptions.caFile ?? fromDir('cacert.pem') ?? DEFAULT_PKI.caFile,
      certFile: tlsOptions.certFile ?? fromDir('clientcert.pem') ?? DEFAULT_PKI.certFile,
      keyFile: tlsOptions.keyFile ?? fromDir('clientkey.pem') ?? DEFAULT_PKI.keyFile,
      verify:
        tlsOptions.verify ?? (noVerify === undefined ? true : !parseBoolParam(uri, 'no_verify', noVerify)),
    };
  }

  return { uri, driver, transport, host: bareHost, path: uriPath, serverParams, name, target };
}

/** Where a local URI's daemon listens, and the socket that was not chosen (when it was looked for). */
export interface LocalSocketChoice {
  readonly path: string;
  readonly alternative?: string;
}

/**
 * Chooses the unix socket of a local URI as libvirt's remote driver does in its default `auto` mode
 * (remoteGetUNIXSocket): the modular daemon's socket (`virtqemud-sock-ro` for `qemu`, `virt<driver>d-…`
 * for the others) when it exists, else the monolithic daemon's (`libvirt-sock-ro`) when it exists, else
 * the monolithic one (libvirt's build default): a daemon that starts later is found at the next
 * connection attempt. `remote` (and `name`-less URIs) always mean `libvirt-sock*` (virtproxyd or libvirtd).
 * Session daemons listen on `<dir>/<daemon>-sock`, with no read-only socket.
 */
export function chooseLocalSocket(
  dir: string,
  driver: string,
  options: { readOnly: boolean; session?: boolean; fileExists?: (path: string) => boolean },
): LocalSocketChoice {
  const exists = options.fileExists ?? existsSync;
  const suffix = options.session === true ? 'sock' : options.readOnly ? 'sock-ro' : 'sock';
  const legacy = path.join(dir, `libvirt-${suffix}`);
  if (driver === 'remote' || driver === '') return { path: legacy };
  const modular = path.join(dir, `virt${driver}d-${suffix}`);
  if (exists(modular)) return { path: modular, alternative: legacy };
  return { path: legacy, alternative: modular };
}

/** Describes a target for messages: the socket path or `host:port`. */
export function describeTarget(target: ConnectTarget): string {
  if (target.kind === 'unix') return target.path;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.kind}://${host}:${target.port}`;
}
