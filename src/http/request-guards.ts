// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * What every request goes through besides its route: a request with a body is refused, and an
 * unexpected error is answered with its status text only (the details go to the log).
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Adds the body check and the error handler to `app`. */
export function registerRequestGuards(app: FastifyInstance): void {
  // Every route here is a GET: a request that carries a body is a mistake or an attack (smuggling).
  app.addHook('onRequest', async (req, reply) => {
    const length = req.headers['content-length'];
    if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) {
      await reply.code(400).type('text/plain; charset=utf-8').send(`${req.method} requests take no body\n`);
    }
  });

  // An unexpected error: its message may hold paths or addresses, so it goes to the log only.
  app.setErrorHandler(async (err: Error & { statusCode?: number }, req, reply) => {
    const status =
      err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'request failed');
    else req.log.debug({ err: err.message }, 'bad request');
    return reply
      .code(status)
      .type('text/plain; charset=utf-8')
      .send(`${STATUS_CODES[status] ?? 'Error'}\n`);
  });
}
