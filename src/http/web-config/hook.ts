// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The Fastify side of the web configuration: headers, client certificate checks, basic auth and the
 * rate limit, on every request.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { BasicAuth } from './basic-auth.ts';
import { peerProblem } from './client-cert.ts';
import { tokenBucket } from './rate-limit.ts';
import type { WebConfig } from './types.ts';

function plain(reply: FastifyReply, code: number, text: string): FastifyReply {
  return reply.code(code).type('text/plain; charset=utf-8').send(text);
}

/**
 * Enforces the configuration on `app`: the configured headers on every response, basic auth on every
 * route (401 with `WWW-Authenticate: Basic`; 429 for an address that failed too often, 503 when the
 * bcrypt queue is full), the rate limit, and the client certificate policies that OpenSSL cannot
 * enforce alone (a connection that fails them is closed right after the handshake). Logs, once, the
 * warnings about client certificate settings that look safe and are not. Call it right after
 * creating the app, before any route or plugin.
 *
 * With basic auth, the rate limit counts authenticated requests only: a flood of wrong credentials
 * must not spend the tokens of the real Prometheus (the failure budget per address and the bounded
 * bcrypt queue hold that flood instead). Without basic auth it counts every request, as in
 * exporter-toolkit.
 */
export function registerWebSecurity(app: FastifyInstance, config: WebConfig): void {
  const headers = Object.entries(config.headers);
  const allow = config.rateLimit
    ? tokenBucket(config.rateLimit.intervalMs, config.rateLimit.burst)
    : undefined;
  const auth = config.basicAuthUsers.size > 0 ? new BasicAuth(config.basicAuthUsers) : undefined;
  const tls = config.tls;
  for (const w of config.warnings) app.log.warn({ file: config.file }, w);

  if (
    tls !== undefined &&
    tls.clientAuthType !== 'NoClientCert' &&
    tls.clientAuthType !== 'RequestClientCert'
  ) {
    app.server.on('secureConnection', (socket: TLSSocket) => {
      const problem = peerProblem(socket, tls);
      if (problem !== undefined) {
        app.log.warn({ remote: socket.remoteAddress, reason: problem }, 'TLS client refused');
        socket.destroy();
      }
    });
  }

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    for (const [name, value] of headers) reply.header(name, value);
    if (auth !== undefined) {
      switch (await auth.check(req.headers.authorization, req.ip)) {
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
    if (allow !== undefined && !allow()) return plain(reply, 429, 'Too Many Requests\n');
  });
}
