// SPDX-License-Identifier: Apache-2.0
/**
 * GET <telemetry_path>: one scrape per request, with the deadline from X-Prometheus-Scrape-Timeout-Seconds,
 * collectors chosen by `collect[]`/`exclude[]`, a cap on scrapes in flight (503 beyond it), OpenMetrics when
 * asked for, gzip when accepted (at `web.compression_level`, src/http/compression.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { COLLECTOR_NAMES, type CollectorName, type Config } from '../config/schema.ts';
import { parseDuration } from '../config/duration.ts';
import type { Inspector } from '../inspector/types.ts';
import { clockDeadline, systemClock, type Clock } from '../libvirt/index.ts';
import type { CollectorRegistry } from '../scrape/collector.ts';
import { scrapeDeadlineMs } from '../scrape/deadline.ts';
import { runScrape } from '../scrape/scraper.ts';
import { CONTENT_TYPES, renderResponse, type ExpositionFormat } from '../scrape/metric-sink.ts';
import { acceptsGzip, gzipBody } from './compression.ts';
import type { SelfMetrics } from './self-metrics.ts';

function list(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** A `collect[]`/`exclude[]` the exporter refuses: `message` is safe to send back (no request text in it). */
export class CollectorRequestError extends Error {
  override readonly name = 'CollectorRequestError';
  /** What to log: the names as the client sent them. */
  readonly detail: string;
  constructor(message: string, detail: string) {
    super(message);
    this.detail = detail;
  }
}

/**
 * Resolves the collectors of one request. Unknown names, collectors the configuration disables
 * (as node_exporter: "disabled collector"; issue 15 item 6) and collect[] with exclude[] are refused;
 * the message never repeats the request's names (they go to `detail`, for the log).
 */
export function resolveCollectors(config: Config, collect: string[], exclude: string[]): CollectorName[] {
  const known = COLLECTOR_NAMES as readonly string[];
  const unknown = [...collect, ...exclude].filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new CollectorRequestError(
      `unknown collector (known: ${COLLECTOR_NAMES.join(', ')})`,
      `unknown: ${unknown.map((n) => JSON.stringify(n.slice(0, 64))).join(', ')}`,
    );
  }
  if (collect.length > 0 && exclude.length > 0)
    throw new CollectorRequestError('collect[] and exclude[] cannot be combined', 'collect[] with exclude[]');
  const enabled = COLLECTOR_NAMES.filter((n) => config.collectors[n].enabled);
  if (collect.length > 0) {
    const disabled = COLLECTOR_NAMES.filter((n) => collect.includes(n) && !config.collectors[n].enabled);
    if (disabled.length > 0) {
      // The names here are ours (checked above), not the client's text.
      throw new CollectorRequestError(
        `disabled collector: ${disabled.join(', ')}`,
        `disabled: ${disabled.join(', ')}`,
      );
    }
    return enabled.filter((n) => collect.includes(n));
  }
  return enabled.filter((n) => !exclude.includes(n));
}

/** Answers 400 to a bad `collect[]`/`exclude[]`: our own words to the client, the detail in the log. */
function refuseBadRequest(
  err: unknown,
  req: FastifyRequest,
  reply: FastifyReply,
  self: SelfMetrics,
): FastifyReply {
  self.scrapes.inc({ result: 'bad_request' });
  const e =
    err instanceof CollectorRequestError ? err : new CollectorRequestError('bad request', String(err));
  req.log.warn({ detail: e.detail, remote: req.ip }, 'scrape refused: bad collect[]/exclude[]');
  return reply.code(400).type('text/plain; charset=utf-8').send(`${e.message}\n`);
}

/** What the metrics route reads at each request. */
export interface MetricsRouteDeps {
  readonly config: Config;
  readonly inspector: Inspector;
  readonly logger: Logger;
  /** Time source of the scrape deadline (default: the system clock; tests advance a ManualClock). */
  readonly clock?: Clock;
}

/** What one response body depends on. */
interface BodyRequest {
  readonly config: Config;
  readonly inspector: Inspector;
  readonly names: readonly CollectorName[];
  readonly format: ExpositionFormat;
  /** This request's scrape deadline, ms from now. */
  readonly deadlineMs: number;
}

/** A response body being built, which requests arriving meanwhile may share. */
interface InFlight {
  readonly config: Config;
  readonly inspector: Inspector;
  /** When its scrape's deadline expires, on the route's clock. */
  readonly deadlineAt: number;
  readonly body: Promise<Buffer>;
  /** The body gzip-encoded, by level, once a request that accepts gzip asked (shared like the body). */
  readonly gzipped: Map<number, Promise<Buffer | undefined>>;
}

/** The gzip encoding of a shared body at `level`: encoded once for every request that shares it. */
function gzipped(entry: InFlight, level: number): Promise<Buffer | undefined> {
  let encoded = entry.gzipped.get(level);
  if (encoded === undefined) {
    encoded = entry.body.then((b) => gzipBody(b, level));
    entry.gzipped.set(level, encoded);
  }
  return encoded;
}

/**
 * The response bodies being built, by what they depend on (collectors, format, exporter metrics or not).
 * A request that arrives while a body it could use is being built waits for that body instead of running a
 * scrape of its own, provided that body's deadline is no later than its own (it never waits past its own
 * deadline) and the configuration is the same one. The entry is gone once the body is built: nothing is
 * cached between scrapes, a later request always gets a fresh scrape.
 *
 * NOTE: concurrent scrapes already share one libvirt inspection (src/inspector/inspection-cycle.ts); what
 * each still built for itself was the collectors' output and the rendered body, 50 of each at once under 50
 * concurrent scrapers (the load test's peak RSS: 145.7 MiB, against 103.7 MiB shared, in a prototype).
 * Joined requests get the same exporter self-metrics as the request that started the body (the same
 * moment, within one scrape's duration).
 */
class SharedScrapes {
  readonly #inFlight = new Map<string, InFlight>();
  readonly #deps: MetricsRouteDeps;
  readonly #self: SelfMetrics;
  readonly #registry: CollectorRegistry;

  constructor(deps: MetricsRouteDeps, self: SelfMetrics, registry: CollectorRegistry) {
    this.#deps = deps;
    this.#self = self;
    this.#registry = registry;
  }

  /** The body for `r`: one being built that it may share, else a new scrape. */
  body(r: BodyRequest): InFlight {
    const clock = this.#deps.clock ?? systemClock;
    const deadlineAt = clock.now() + r.deadlineMs;
    const key = `${r.names.join(',')}|${r.format}|${r.config.web.disable_exporter_metrics}`;
    const current = this.#inFlight.get(key);
    if (
      current !== undefined &&
      current.config === r.config &&
      current.inspector === r.inspector &&
      current.deadlineAt <= deadlineAt
    )
      return current;
    const entry: InFlight = {
      config: r.config,
      inspector: r.inspector,
      deadlineAt,
      body: this.#build(r),
      gzipped: new Map(),
    };
    this.#inFlight.set(key, entry);
    const done = (): void => {
      if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
    };
    entry.body.then(done, done);
    return entry;
  }

  async #build(r: BodyRequest): Promise<Buffer> {
    const sink = await runScrape({
      inspector: r.inspector,
      config: r.config,
      log: this.#deps.logger,
      registry: this.#registry,
      collectors: r.names,
      // NOTE: never cleared, as AbortSignal.timeout() was not: work still bound to this scrape ends
      // at its deadline (the timer does not keep the process alive).
      signal: clockDeadline(this.#deps.clock ?? systemClock, r.deadlineMs).signal,
    });
    // NOTE: the registries in turn, not a Registry.merge() per request (a new registry each time, the
    // same text); the body comes encoded (a string body would be measured, then encoded again).
    const self = this.#self;
    const own = r.config.web.disable_exporter_metrics ? [self.registry] : [self.registry, self.runtime];
    const body = await renderResponse(own, sink, r.format);
    sink.release();
    return body;
  }
}

/** Registers the metrics route; its scrapes run the collectors of `registry`. */
export function registerMetricsRoute(
  app: FastifyInstance,
  deps: MetricsRouteDeps,
  self: SelfMetrics,
  registry: CollectorRegistry,
): void {
  let inflight = 0;
  const shared = new SharedScrapes(deps, self, registry);

  // NOTE: config and inspector are read from `deps` at each request: a configuration reload (SIGHUP)
  // swaps them without closing the listening socket. The route encodes its own body (`compress: false`
  // keeps @fastify/compress out of it): src/http/compression.ts says why.
  app.get(
    deps.config.web.telemetry_path,
    { logLevel: 'warn', compress: false },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const { config, inspector } = deps;
      const maxMs = parseDuration(config.scrape.timeout);
      const offsetMs = parseDuration(config.scrape.timeout_offset);
      const query = req.query as Record<string, unknown>;
      let names: CollectorName[];
      try {
        names = resolveCollectors(config, list(query['collect[]']), list(query['exclude[]']));
      } catch (err) {
        return refuseBadRequest(err, req, reply, self);
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
        const format = openMetrics ? 'openmetrics' : 'prometheus';
        const entry = shared.body({ config, inspector, names, format, deadlineMs: deadline });
        const encoded = acceptsGzip(req.headers['accept-encoding'])
          ? await gzipped(entry, config.web.compression_level)
          : undefined;
        const body = encoded ?? (await entry.body);
        self.scrapes.inc({ result: 'ok' });
        // The body depends on Accept-Encoding, whether this one was encoded or not.
        void reply.header('vary', 'Accept-Encoding');
        if (encoded !== undefined) void reply.header('content-encoding', 'gzip');
        return await reply.type(CONTENT_TYPES[format]).send(body);
      } finally {
        inflight -= 1;
        self.inflight.set(inflight);
      }
    },
  );
}
