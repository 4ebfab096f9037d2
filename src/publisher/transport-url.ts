// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * oslo.messaging transport URLs (`rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost?ssl=1`),
 * parsed as oslo's `TransportURL.parse` does, and redacted for logs.
 */

/** One broker of the URL. */
export interface BrokerAddress {
  readonly hostname: string;
  readonly port: number;
}

/** A parsed transport URL. */
export interface TransportUrl {
  /** `rabbit` (oslo's driver name), or `amqp`/`amqps`. */
  readonly scheme: string;
  readonly username: string;
  readonly password: string;
  /** Brokers in order: the client fails over through them. */
  readonly hosts: readonly BrokerAddress[];
  /** The virtual host; `/` when the URL has no path. */
  readonly vhost: string;
  /** TLS requested by the URL (`amqps:` or `?ssl=1`/`true`/`yes`). */
  readonly tls: boolean;
  /** Query parameters other than `ssl` (oslo driver options); accepted and reported, not used. */
  readonly otherParams: readonly string[];
}

/** A transport URL that cannot be used; the message never contains any part of the URL. */
export class TransportUrlError extends Error {
  override readonly name = 'TransportUrlError';
}

const SCHEMES = new Set(['rabbit', 'amqp', 'amqps']);

/**
 * Hides the credentials of a transport URL that may not even parse: everything between `://` and the
 * last `@` becomes `***`. Coarse on purpose: a password may hold unencoded `,`, `/` or `:`.
 */
export function redactTransportUrl(url: string): string {
  const start = url.indexOf('://');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return url;
  return `${url.slice(0, start + 3)}***@${url.slice(at + 1)}`;
}

/** Formats a parsed URL for logs and the status page: the user name is shown, the password never. */
export function describeTransportUrl(t: TransportUrl): string {
  const hosts = t.hosts.map((h) => `${h.hostname.includes(':') ? `[${h.hostname}]` : h.hostname}:${h.port}`);
  const vhost = t.vhost === '/' ? '' : encodeURIComponent(t.vhost);
  return `${t.scheme}://${encodeURIComponent(t.username)}:***@${hosts.join(',')}/${vhost}${t.tls ? '?ssl=1' : ''}`;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new TransportUrlError(`transport_url: invalid percent-encoding in the ${what}`);
  }
}

const ENCODE_HINT =
  'percent-encode the password (and the user name): "/" as %2F, "?" as %3F, "#" as %23, "," as %2C, "@" as %40, ":" as %3A';

/**
 * Parses a transport URL; throws a {@link TransportUrlError} that names the problem. No error echoes any
 * part of the URL (issue 15, item 2): with an unencoded `/`, `?`, `#` or `,` in the password, any part
 * (a "port", a "host", the "vhost") may be a piece of the password.
 */
export function parseTransportUrl(url: string): TransportUrl {
  const { scheme, netloc, path, query } = splitTransportUrl(url.trim());
  const { username, password, hosts } = parseNetloc(netloc);
  const vhost = path.length > 1 ? decode(path.slice(1), 'virtual host') : '/';
  let tls = scheme === 'amqps';
  const otherParams: string[] = [];
  for (const [k, v] of new URLSearchParams(query.slice(1))) {
    if (k === 'ssl') tls = ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
    else otherParams.push(k);
  }
  return {
    scheme,
    // NOTE: no credentials in the URL means the broker's default account, as kombu assumes.
    username: username ?? 'guest',
    password: password ?? 'guest',
    hosts,
    vhost,
    tls,
    otherParams,
  };
}

/**
 * Splits a trimmed transport URL into its lower-cased scheme, host part (`netloc`), path and query
 * (each with its leading `/` or `?`, or empty); rejects a malformed URL, an unsupported scheme, and the
 * unencoded characters in the password that show as an `@` in the wrong place.
 */
function splitTransportUrl(trimmed: string): { scheme: string; netloc: string; path: string; query: string } {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/.exec(trimmed);
  if (!m) {
    // A "#" is never valid in a transport URL; in the credentials it is an unencoded character.
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^@]*#[^@]*@/.test(trimmed))
      throw new TransportUrlError(`transport_url: "#" before "@": ${ENCODE_HINT}`);
    throw new TransportUrlError('transport_url is not of the form rabbit://user:pass@host:port/vhost');
  }
  const scheme = (m[1] ?? '').toLowerCase();
  if (!SCHEMES.has(scheme)) {
    throw new TransportUrlError(
      'transport_url: the scheme is not supported (use rabbit://, amqp:// or amqps://)',
    );
  }
  const path = m[3] ?? '';
  const query = m[4] ?? '';
  // An "@" after the host part: the password holds an unencoded "/" or "?" that ended the host part early.
  if (path.includes('@') || query.includes('@')) {
    throw new TransportUrlError(`transport_url: "@" after "/" or "?": ${ENCODE_HINT}`);
  }
  return { scheme, netloc: m[2] ?? '', path, query };
}

/**
 * Parses the comma-separated hosts of the URL, each `[user[:pass]@]host[:port]`, into the brokers and
 * the one user and password they share (undefined when no host has credentials).
 */
function parseNetloc(netloc: string): {
  username: string | undefined;
  password: string | undefined;
  hosts: BrokerAddress[];
} {
  if (netloc === '') throw new TransportUrlError('transport_url has no host');
  const entries = netloc.split(',');
  // A "," in the password splits the first host's credentials: the first entry has no "@", a later one does.
  if (!(entries[0] ?? '').includes('@') && entries.slice(1).some((e) => e.includes('@'))) {
    throw new TransportUrlError(`transport_url: "@" after ",": ${ENCODE_HINT}`);
  }
  let username: string | undefined;
  let password: string | undefined;
  const hosts: BrokerAddress[] = [];
  for (const [i, entry] of entries.entries()) {
    const which = entries.length > 1 ? ` (host ${i + 1} of ${entries.length})` : '';
    const at = entry.lastIndexOf('@');
    if (at >= 0) {
      const cred = entry.slice(0, at);
      const colon = cred.indexOf(':');
      const user = decode(colon >= 0 ? cred.slice(0, colon) : cred, 'user name');
      const pass = colon >= 0 ? decode(cred.slice(colon + 1), 'password') : '';
      if (username === undefined) {
        username = user;
        password = pass;
      } else if (username !== user || password !== pass) {
        // NOTE: oslo allows per-host credentials; rabbitmq-client has one set for all hosts.
        throw new TransportUrlError('transport_url hosts must share one user and password');
      }
    }
    hosts.push(parseHost(entry.slice(at + 1), which));
  }
  return { username, password, hosts };
}

/**
 * Parses one `host[:port]` or `[ipv6][:port]` (port 5672 when absent); `which` names the host in
 * errors when the URL has several.
 */
function parseHost(hostPart: string, which: string): BrokerAddress {
  let hostname: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(hostPart);
  if (v6) {
    hostname = v6[1] ?? '';
    portText = v6[2];
  } else {
    const colon = hostPart.lastIndexOf(':');
    hostname = colon >= 0 ? hostPart.slice(0, colon) : hostPart;
    portText = colon >= 0 ? hostPart.slice(colon + 1) : undefined;
  }
  if (hostname === '') throw new TransportUrlError(`transport_url has an empty host name${which}`);
  let port = 5672;
  if (portText !== undefined && portText !== '') {
    if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new TransportUrlError(
        `transport_url has an invalid port${which} (a number from 1 to 65535; if a password holds "/", "?" or ",": ${ENCODE_HINT})`,
      );
    }
    port = Number(portText);
  }
  return { hostname: decode(hostname, 'host'), port };
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1|0:0:0:0:0:0:0:1)$/i;

/**
 * A one-line warning when the AMQP password would cross the network in clear: TLS off and a broker
 * that is not on this host (AMQP's PLAIN mechanism sends the password as is). Undefined otherwise.
 */
export function plainTcpPasswordWarning(t: TransportUrl, tls: boolean): string | undefined {
  if (tls || t.hosts.every((h) => LOOPBACK.test(h.hostname))) return undefined;
  return 'the AMQP password goes to the broker over plain TCP (no TLS): add ?ssl=1 to transport_url (or set publisher.tls.enabled) so that it is not readable on the network';
}
