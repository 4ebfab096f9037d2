// SPDX-License-Identifier: Apache-2.0
/**
 * GET <telemetry_path>: one scrape per request, with the deadline from X-Prometheus-Scrape-Timeout-Seconds,
 * collectors chosen by `collect[]`/`exclude[]`, a cap on scrapes in flight (503 beyond it), OpenMetrics when
 * asked for, gzip when accepted (the compress plugin).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { COLLECTOR_NAMES, type CollectorName, type Config } from '../config/schema.ts';
import { parseDuration } from '../config/duration.ts';
import type { Inspector } from '../inspector/types.ts';
import { scrapeDeadlineMs } from '../scrape/deadline.ts';
import { runScrape } from '../scrape/scraper.ts';
import { CONTENT_TYPES, renderResponse } from '../scrape/metric-sink.ts';
import type { SelfMetrics } from './self-metrics.ts';

function list(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** Resolves the collectors of one request; throws a message naming unknown collectors. */
export function resolveCollectors(config: Config, collect: string[], exclude: string[]): CollectorName[] {
  const unknown = [...collect, ...exclude].filter((n) => !(COLLECTOR_NAMES as string[]).includes(n));
  if (unknown.length > 0) {
    throw new Error(`unknown collector(s): ${unknown.join(', ')} (known: ${COLLECTOR_NAMES.join(', ')})`);
  }
  if (collect.length > 0 && exclude.length > 0) throw new Error('collect[] and exclude[] cannot be combined');
  const enabled = COLLECTOR_NAMES.filter((n) => config.collectors[n].enabled);
  // NOTE: like node_exporter, collect[] may name a collector that is disabled by configuration.
  if (collect.length > 0) return COLLECTOR_NAMES.filter((n) => collect.includes(n));
  return enabled.filter((n) => !exclude.includes(n));
}

/** Registers the metrics route. */
export function registerMetricsRoute(
  app: FastifyInstance,
  deps: { readonly config: Config; readonly inspector: Inspector; readonly logger: Logger },
  self: SelfMetrics,
): void {
  let inflight = 0;

  // NOTE: config and inspector are read from `deps` at each request: a configuration reload (SIGHUP)
  // swaps them without closing the listening socket.
  app.get(
    deps.config.web.telemetry_path,
    { logLevel: 'warn' },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const { config, inspector } = deps;
      const maxMs = parseDuration(config.scrape.timeout);
      const offsetMs = parseDuration(config.scrape.timeout_offset);
      const query = req.query as Record<string, unknown>;
      let names: CollectorName[];
      try {
        names = resolveCollectors(config, list(query['collect[]']), list(query['exclude[]']));
      } catch (err) {
        self.scrapes.inc({ result: 'bad_request' });
        return reply
          .code(400)
          .type('text/plain; charset=utf-8')
          .send(`${(err as Error).message}\n`);
      }
      if (inflight >= config.web.max_requests_in_flight) {
        self.scrapes.inc({ result: 'rejected' });
        return reply
          .code(503)
          .header('retry-after', '1')
          .type('text/plain; charset=utf-8')
          .send(`too many scrapes in flight (max ${config.web.max_requests_in_flight})\n`);
      }
      inflight += 1;
      self.inflight.set(inflight);
      try {
        const header = req.headers['x-prometheus-scrape-timeout-seconds'];
        const deadline = scrapeDeadlineMs(Array.isArray(header) ? header[0] : header, offsetMs, maxMs);
        const openMetrics = (req.headers.accept ?? '').includes('application/openmetrics-text');
        const sink = await runScrape({
          inspector,
          config,
          log: deps.logger,
          collectors: names,
          signal: AbortSignal.timeout(deadline),
        });
        const format = openMetrics ? 'openmetrics' : 'prometheus';
        // Encoded once here: a string body would be scanned for its UTF-8 length, then encoded again.
        const body = Buffer.from(await renderResponse(self.registry, sink, format), 'utf8');
        self.scrapes.inc({ result: 'ok' });
        return await reply.type(CONTENT_TYPES[format]).send(body);
      } finally {
        inflight -= 1;
        self.inflight.set(inflight);
      }
    },
  );
}
