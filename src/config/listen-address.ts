// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The `web.listen_address` value (one address or a list, each `host:port`), read by the server when it
 * listens and checked before anything starts.
 */

/** Splits `host:port` (`:9177`, `[::1]:9177`, `127.0.0.1:9177`) for listen(). */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (m === null)
    throw new Error(`invalid listen address "${address}" (expected host:port, :port or [ipv6]:port)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in listen address "${address}"`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '::' : host, port };
}

/** The listen addresses of a configuration, as a list. */
export function listenAddresses(value: string | readonly string[]): string[] {
  return typeof value === 'string' ? [value] : [...value];
}
