// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The Fastify side of the web configuration: headers, client certificate checks, basic auth and the
 * rate limit, on every request. The configuration is read at each request and connection, so that a
 * reload swaps users, headers and limits under the running server (src/server.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { BasicAuth } from './basic-auth.ts';
import { peerProblem } from './client-cert.ts';
import { FailureBudget, tokenBucket } from './rate-limit.ts';
import type { WebConfig } from './types.ts';

function plain(reply: FastifyReply, code: number, text: string): FastifyReply {
  return reply.code(code).type('text/plain; charset=utf-8').send(text);
}

/** What the hook enforces for one web configuration. */
interface Enforcement {
  readonly config: WebConfig;
  readonly headers: readonly (readonly [string, string])[];
  readonly auth: BasicAuth | undefined;
  readonly allow: (() => boolean) | undefined;
}

function sameUsers(a: WebConfig, b: WebConfig): boolean {
  if (a.basicAuthUsers.size !== b.basicAuthUsers.size) return false;
  for (const [user, hash] of a.basicAuthUsers) {
    if (b.basicAuthUsers.get(user)?.reveal() !== hash.reveal()) return false;
  }
  return true;
}

/**
 * The enforcement of `config`. NOTE: what did not change is kept from `was` (the bcrypt cache and
 * queue of the same users, the token bucket of the same limit), so that a reload neither empties a
 * bucket nor makes every client pay bcrypt again; the failure budget per address is the app's and
 * outlives every reload (a flood of wrong passwords is not forgiven by a certificate renewal).
 */
function enforcement(config: WebConfig, was: Enforcement | undefined, failures: FailureBudget): Enforcement {
  const { rateLimit } = config;
  const sameRate =
    was !== undefined &&
    was.config.rateLimit?.intervalMs === rateLimit?.intervalMs &&
    was.config.rateLimit?.burst === rateLimit?.burst;
  return {
    config,
    headers: Object.entries(config.headers),
    auth:
      was !== undefined && sameUsers(was.config, config)
        ? was.auth
        : config.basicAuthUsers.size > 0
          ? new BasicAuth(config.basicAuthUsers, { failures })
          : undefined,
    allow: sameRate ? was.allow : rateLimit ? tokenBucket(rateLimit.intervalMs, rateLimit.burst) : undefined,
  };
}

/** Closes TLS connections that fail the client certificate policy of the configuration of the moment. */
function checkPeers(app: FastifyInstance, current: () => WebConfig | undefined): void {
  app.server.on('secureConnection', (socket: TLSSocket) => {
    const tls = current()?.tls;
    if (
      tls === undefined ||
      tls.clientAuthType === 'NoClientCert' ||
      tls.clientAuthType === 'RequestClientCert'
    ) {
      return;
    }
    const problem = peerProblem(socket, tls);
    if (problem !== undefined) {
      app.log.warn({ remote: socket.remoteAddress, reason: problem }, 'TLS client refused');
      socket.destroy();
    }
  });
}

/**
 * Enforces the configuration on `app`: the configured headers on every response, basic auth on every
 * route (401 with `WWW-Authenticate: Basic`; 429 for an address that failed too often, 503 when the
 * bcrypt queue is full), the rate limit, and the client certificate policies that OpenSSL cannot
 * enforce alone (a connection that fails them is closed right after the handshake). Logs, once, the
 * warnings about client certificate settings that look safe and are not. Call it right after
 * creating the app, before any route or plugin.
 *
 * `config` is the configuration, or a function that gives the configuration of the moment (read at
 * each request and TLS connection; undefined: nothing to enforce), so that a reload can swap it.
 *
 * With basic auth, the rate limit counts authenticated requests only: a flood of wrong credentials
 * must not spend the tokens of the real Prometheus (the failure budget per address and the bounded
 * bcrypt queue hold that flood instead). Without basic auth it counts every request, as in
 * exporter-toolkit.
 */
export function registerWebSecurity(
  app: FastifyInstance,
  config: WebConfig | (() => WebConfig | undefined),
): void {
  const current = typeof config === 'function' ? config : () => config;
  const failures = new FailureBudget();
  let state: Enforcement | undefined;
  const now = (): Enforcement | undefined => {
    const c = current();
    if (c === undefined) return undefined;
    if (state?.config !== c) state = enforcement(c, state, failures);
    return state;
  };
  for (const w of current()?.warnings ?? []) app.log.warn({ file: current()?.file }, w);
  checkPeers(app, current);

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const s = now();
    if (s === undefined) return;
    for (const [name, value] of s.headers) reply.header(name, value);
    if (s.auth !== undefined) {
      switch (await s.auth.check(req.headers.authorization, req.ip)) {
        case 'ok':
          break;
        case 'denied':
          return plain(reply.header('www-authenticate', 'Basic'), 401, 'Unauthorized\n');
        case 'throttled':
          return plain(reply.header('retry-after', '10'), 429, 'Too Many Requests\n');
        case 'busy':
          return plain(reply.header('retry-after', '1'), 503, 'Service Unavailable\n');
      }
    }
    if (s.allow !== undefined && !s.allow()) return plain(reply, 429, 'Too Many Requests\n');
  });
}
