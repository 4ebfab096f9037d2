// SPDX-License-Identifier: Apache-2.0
/**
 * Where a parsed libvirt URI connects: the unix socket of a local URI (the modular daemon's or the
 * monolithic one's), or the host, port and PKI files of a TCP or TLS URI.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { LibvirtUriError } from './errors.ts';
import {
  DEFAULT_PKI,
  LIBVIRT_RUN_DIR,
  LIBVIRT_TCP_PORT,
  LIBVIRT_TLS_PORT,
  type ConnectTarget,
  type LibvirtTransport,
  type UriOptions,
} from './uri-types.ts';

/** The parts of a URI the target depends on. */
export interface TargetParts {
  readonly uri: string;
  readonly driver: string;
  readonly transport: LibvirtTransport;
  /** Host as written (an IPv6 literal keeps its brackets), empty for none. */
  readonly host: string;
  /** Host without brackets. */
  readonly bareHost: string;
  readonly port: number | undefined;
  readonly path: string;
  /** Client-side query parameters, by lower-case name. */
  readonly clientParams: ReadonlyMap<string, string>;
}

/** Resolves where the connection goes; `options.socketPath` wins over the URI. */
export function resolveTarget(parts: TargetParts, options: UriOptions): ConnectTarget {
  if (options.socketPath !== undefined) return { kind: 'unix', path: options.socketPath };
  if (parts.transport === 'unix') return unixTarget(parts, options);
  const host = parts.bareHost === '' ? 'localhost' : parts.bareHost;
  if (parts.transport === 'tcp') return { kind: 'tcp', host, port: parts.port ?? LIBVIRT_TCP_PORT };
  const tlsOptions = options.tls ?? {};
  const pkiDir = tlsOptions.pkiPath ?? parts.clientParams.get('pkipath');
  const fromDir = (file: string): string | undefined =>
    pkiDir === undefined ? undefined : path.join(pkiDir, file);
  const noVerify = parts.clientParams.get('no_verify');
  return {
    kind: 'tls',
    host,
    port: parts.port ?? LIBVIRT_TLS_PORT,
    caFile: tlsOptions.caFile ?? fromDir('cacert.pem') ?? DEFAULT_PKI.caFile,
    certFile: tlsOptions.certFile ?? fromDir('clientcert.pem') ?? DEFAULT_PKI.certFile,
    keyFile: tlsOptions.keyFile ?? fromDir('clientkey.pem') ?? DEFAULT_PKI.keyFile,
    verify:
      tlsOptions.verify ??
      (noVerify === undefined ? true : !parseBoolParam(parts.uri, 'no_verify', noVerify)),
  };
}

function parseBoolParam(uri: string, key: string, value: string): boolean {
  if (!/^-?\d+$/.test(value)) throw new LibvirtUriError(uri, `query parameter ${key} must be an integer`);
  return Number(value) !== 0;
}

/** The unix socket of a local URI: the `socket` parameter, else the daemon's socket in its directory. */
function unixTarget(parts: TargetParts, options: UriOptions): ConnectTarget {
  const { uri } = parts;
  if (parts.host !== '') throw new LibvirtUriError(uri, 'the unix transport takes no host name');
  const socket = parts.clientParams.get('socket');
  if (socket !== undefined && socket !== '') {
    if (!path.isAbsolute(socket))
      throw new LibvirtUriError(uri, 'the socket parameter must be an absolute path');
    return { kind: 'unix', path: socket };
  }
  const session = parts.path === '/session';
  let dir = LIBVIRT_RUN_DIR;
  if (session) {
    const runtimeDir = (options.env ?? process.env)['XDG_RUNTIME_DIR'];
    if (runtimeDir === undefined || runtimeDir === '') {
      throw new LibvirtUriError(
        uri,
        'session URIs need XDG_RUNTIME_DIR to locate the per-user daemon socket; pass socketPath instead',
      );
    }
    dir = path.join(runtimeDir, 'libvirt');
  }
  const { path: socketPath, alternative } = chooseLocalSocket(dir, parts.driver, {
    readOnly: options.readOnly ?? true,
    session,
    fileExists: options.fileExists ?? existsSync,
  });
  return { kind: 'unix', path: socketPath, ...(alternative !== undefined ? { alternative } : {}) };
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
