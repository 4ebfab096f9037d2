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
import { LibvirtUriError } from './errors.ts';
import { resolveTarget } from './uri-target.ts';
import type { LibvirtTransport, ParsedLibvirtUri, UriOptions } from './uri-types.ts';

export { chooseLocalSocket, describeTarget } from './uri-target.ts';
export type { LocalSocketChoice } from './uri-target.ts';
export {
  DEFAULT_PKI,
  LIBVIRT_RUN_DIR,
  LIBVIRT_TCP_PORT,
  LIBVIRT_TLS_PORT,
  type ConnectTarget,
  type LibvirtTransport,
  type ParsedLibvirtUri,
  type TlsFileOptions,
  type UriOptions,
} from './uri-types.ts';

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

/**
 * Parses a libvirt connection URI. Throws {@link LibvirtUriError} for malformed URIs and for transports
 * this client lacks (ssh, libssh, libssh2, ext).
 *
 * @example parseLibvirtUri('qemu:///system').target.path // '/var/run/libvirt/virtqemud-sock-ro' if it exists, else '/var/run/libvirt/libvirt-sock-ro'
 */
export function parseLibvirtUri(uri: string, options: UriOptions = {}): ParsedLibvirtUri {
  const { driver, rawTransport, authority, path, query, fragment } = splitUri(uri);
  const { host, bareHost, port } = parseAuthority(uri, authority);
  const transport: LibvirtTransport =
    rawTransport === undefined ? (host === '' ? 'unix' : 'tls') : (rawTransport as LibvirtTransport);
  const { clientParams, serverParams, serverQuery } = splitParams(uri, query);
  const explicitName = clientParams.get('name');
  let name: string;
  if (explicitName !== undefined) name = explicitName;
  else if (driver === 'remote')
    name = ''; // let the daemon pick its default driver, as libvirt does
  else {
    name = `${driver}://${path}`;
    if (serverQuery.length > 0) name += `?${serverQuery.join('&')}`;
    if (fragment !== '') name += `#${fragment}`;
  }
  const target = resolveTarget({ uri, driver, transport, host, bareHost, port, path, clientParams }, options);
  return { uri, driver, transport, host: bareHost, path, serverParams, name, target };
}

/** The syntactic parts of `driver[+transport]://authority/path?query#fragment`. */
function splitUri(uri: string): {
  driver: string;
  rawTransport: string | undefined;
  authority: string;
  path: string;
  query: string;
  fragment: string;
} {
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
  const [beforeHash, fragment] = cut(rest, '#');
  const [beforeQuery, query] = cut(beforeHash, '?');
  const slashAt = beforeQuery.indexOf('/');
  const authority = slashAt >= 0 ? beforeQuery.slice(0, slashAt) : beforeQuery;
  const path = slashAt >= 0 ? beforeQuery.slice(slashAt) : '';
  return { driver, rawTransport, authority, path, query, fragment };
}

/** Splits `s` at the first `sep`: what comes before, and after (empty without `sep`). */
function cut(s: string, sep: string): [string, string] {
  const at = s.indexOf(sep);
  return at < 0 ? [s, ''] : [s.slice(0, at), s.slice(at + 1)];
}

/** Reads `[user@]host[:port]`, the host possibly an `[IPv6]` literal. */
function parseAuthority(
  uri: string,
  authority: string,
): { host: string; bareHost: string; port: number | undefined } {
  const hostPort = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  if (hp === null) throw new LibvirtUriError(uri, `malformed host ${JSON.stringify(hostPort)}`);
  const host = hp[1] ?? '';
  let port: number | undefined;
  if (hp[2] !== undefined && hp[2] !== '') {
    port = Number(hp[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new LibvirtUriError(uri, `port ${hp[2]} out of range`);
    }
  }
  return { host, bareHost: host.startsWith('[') ? host.slice(1, -1) : host, port };
}

/** Separates the query parameters the client consumes from those forwarded to the daemon. */
function splitParams(
  uri: string,
  query: string,
): { clientParams: Map<string, string>; serverParams: Map<string, string>; serverQuery: string[] } {
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
  return { clientParams, serverParams, serverQuery };
}
