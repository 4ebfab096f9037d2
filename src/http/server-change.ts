// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * What a new configuration needs from the running HTTP server (a reload, src/server.ts): nothing (the
 * request-time settings are read at each request: basic auth, headers, the rate limit in
 * web-config/hook.ts, the rest in the app's deps), a new secure context (a renewed certificate, another
 * key, client CA, protocol versions, ciphers or curves: `tls.Server.setSecureContext()`, no new socket),
 * or a new server (listen addresses, paths, TLS switched on or off, HTTP/2, the client certificate
 * policy: what the server and its routes are built with).
 */
import type { Server as TlsServer } from 'node:tls';
import { listenAddresses } from '../config/listen-address.ts';
import type { Config } from '../config/schema.ts';
import { secureContextOptions } from './web-config/tls.ts';
import type { WebConfig } from './web-config/types.ts';

/** What the running server must do for a new configuration. */
export interface ServerChange {
  /** `none`: read per request; `secure-context`: set on the running server; `new-server`: build one. */
  readonly kind: 'none' | 'secure-context' | 'new-server';
  /** What changed, for the log (never a value: the key is among the compared settings). */
  readonly reason: string;
}

/** What a server is built from: the web section and the web configuration file it names (loaded). */
export interface ServerSettings {
  readonly config: Pick<Config, 'web'>;
  readonly web: WebConfig | undefined;
}

/** Compares what a running server was built with (`was`) with the next configuration. */
export function serverChange(was: ServerSettings, next: ServerSettings): ServerChange {
  const a = was.config.web;
  const b = next.config.web;
  const addresses = (w: typeof a): string => JSON.stringify(listenAddresses(w.listen_address));
  if (addresses(a) !== addresses(b)) return { kind: 'new-server', reason: 'listen_address changed' };
  if (a.telemetry_path !== b.telemetry_path) return { kind: 'new-server', reason: 'telemetry_path changed' };
  if (a.health_path !== b.health_path) return { kind: 'new-server', reason: 'health_path changed' };
  return webServerChange(was.web, next.web);
}

/**
 * Compares the web configuration a server was built with (`was`) with the next one. Request-time
 * settings (basic auth users, headers, rate limit, allowed client SANs) never need anything here.
 */
export function webServerChange(was: WebConfig | undefined, next: WebConfig | undefined): ServerChange {
  const a = was?.tls;
  const b = next?.tls;
  if (a === undefined && b === undefined)
    return { kind: 'none', reason: 'nothing the server is built with changed' };
  if (a === undefined || b === undefined) {
    return { kind: 'new-server', reason: b === undefined ? 'TLS switched off' : 'TLS switched on' };
  }
  // NOTE: requestCert and rejectUnauthorized are options of the server, not of the secure context, and
  // http2 is another server class: those need a new server.
  if (a.clientAuthType !== b.clientAuthType)
    return { kind: 'new-server', reason: 'client_auth_type changed' };
  if (was?.http2 !== next?.http2) return { kind: 'new-server', reason: 'http2 changed' };
  // The options hold the key: compared, never logged.
  const same = JSON.stringify(secureContextOptions(a)) === JSON.stringify(secureContextOptions(b));
  return same
    ? { kind: 'none', reason: 'nothing the server is built with changed' }
    : { kind: 'secure-context', reason: 'TLS certificate, key or settings changed' };
}

/** A reload that cannot be served (a new server that cannot listen…): the running server is untouched. */
export class ServerKept extends Error {
  constructor(cause: unknown) {
    super((cause as Error).message, { cause });
  }
}

/**
 * Serves the certificate, key and TLS settings of `web` on the running `server` (a TLS server, built
 * with TLS) from the next TLS handshake on; connections already open keep theirs. NOTE: the load has
 * checked these settings; were Node.js to refuse them now, nothing has changed: {@link ServerKept}.
 */
export function renewSecureContext(server: object, web: WebConfig | undefined): void {
  try {
    if (web?.tls === undefined) throw new Error('the web configuration has no TLS');
    (server as TlsServer).setSecureContext(secureContextOptions(web.tls));
  } catch (err) {
    throw new ServerKept(err);
  }
}
