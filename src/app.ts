// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * buildApp(): the Fastify application with every route; it never listens (tests use inject()).
 */
import compress from '@fastify/compress';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { collectorRegistry } from './collectors/index.ts';
import { parseDuration } from './config/duration.ts';
import type { Config } from './config/schema.ts';
import type { Inspector } from './inspector/types.ts';
import { landingPage } from './http/landing-page.ts';
import { registerMetricsRoute } from './http/metrics-route.ts';
import { registerRequestGuards } from './http/request-guards.ts';
import { createSelfMetrics, type SelfMetrics } from './http/self-metrics.ts';
import { registerWebSecurity, webServerOptions, type WebConfig } from './http/web-config.ts';
import type { CollectorRegistry } from './scrape/collector.ts';

/**
 * What the application is built from. `config`, `inspector`, `publisherStatus` and `webConfig` are read
 * at each request, so that a configuration reload can swap them without closing the listening socket;
 * the listen address, the paths and the server side of the web configuration (TLS on or off, HTTP/2, the
 * client certificate policy) are fixed when the app is built (a new certificate is set on the running
 * server: src/server.ts).
 */
export interface AppDeps {
  config: Config;
  inspector: Inspector;
  readonly logger: Logger;
  readonly self?: SelfMetrics;
  /** Status of the Ceilometer publisher for the landing page (no secrets). */
  publisherStatus?: (() => object) | undefined;
  /** Set when a new server has taken over: HTTP/1 answers say `Connection: close` (see src/server.ts). */
  retiring?: boolean;
  /** The web configuration file (TLS, basic auth, headers), already loaded and validated. */
  webConfig?: WebConfig | undefined;
  /** The collectors the scrapes choose from (default: every built-in one, src/collectors/index.ts). */
  readonly collectors?: CollectorRegistry;
}

/** Paths the app always serves besides the metrics. */
const FIXED_ROUTES = ['/-/healthy', '/-/ready'];

/**
 * Checks that the configured paths do not collide (a collision would stop the start with Fastify's own
 * error); throws a message that names the keys.
 */
export function checkRoutes(config: Config): void {
  const { telemetry_path: metrics, health_path: health } = config.web;
  if (FIXED_ROUTES.includes(metrics)) {
    throw new Error(`web.telemetry_path ${metrics} is taken by the exporter's own ${metrics} route`);
  }
  if (health !== undefined && (health === metrics || FIXED_ROUTES.includes(health))) {
    throw new Error(
      `web.health_path ${health} is already served (${health === metrics ? 'web.telemetry_path' : 'built in'})`,
    );
  }
  if (health === '/' && metrics !== '/') {
    throw new Error('web.health_path / would replace the landing page; choose another path');
  }
}

/** Builds the application. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { logger } = deps;
  const self = deps.self ?? createSelfMetrics();
  self.inspector = () => deps.inspector;
  // Request logs at info would log every scrape; they show at debug and trace only.
  const httpLevel = logger.isLevelEnabled('debug') ? logger.level : 'warn';
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }, { level: httpLevel }),
    // Scrapes carry no body; anything large is a mistake or an attack.
    bodyLimit: 16 * 1024,
    routerOptions: { maxParamLength: 200 },
    // NOTE: a server that closes (a reload that built a new one, or the shutdown) still answers the
    // requests that reach it, with `Connection: close`, instead of 503: the scrape succeeds and the
    // client opens its next connection to the new server.
    return503OnClosing: false,
    ...(deps.webConfig ? webServerOptions(deps.webConfig) : {}),
  } as FastifyServerOptions) as unknown as FastifyInstance;
  app.addHook('onRequest', async (req, reply) => {
    if (deps.retiring === true && req.raw.httpVersionMajor < 2) void reply.header('connection', 'close');
  });
  // Always registered: a reload may add basic auth or headers to a server built without them.
  registerWebSecurity(app, () => deps.webConfig);
  await app.register(compress, { global: true, encodings: ['gzip'], threshold: 1024 });
  registerRequestGuards(app);

  checkRoutes(deps.config);
  // As the exporter-toolkit does: metrics at / replace the landing page.
  if (deps.config.web.telemetry_path !== '/') {
    app.get('/', async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(landingPage(deps.config, deps.publisherStatus ? { publisher: deps.publisherStatus() } : {})),
    );
  }
  const healthPath = deps.config.web.health_path;
  if (healthPath !== undefined) {
    // inovex's --web.health-path: libvirt answers now (200) or not (503), at every request.
    app.get(healthPath, async (_req, reply) => {
      try {
        const waitMs = Math.min(parseDuration(deps.config.libvirt.connect_timeout) + 1000, 4500);
        // The domain list, not the host info (read once and kept): libvirt must answer this request.
        await deps.inspector.listInstances({ signal: AbortSignal.timeout(waitMs) });
        return await reply.type('text/plain; charset=utf-8').send('OK\n');
      } catch (err) {
        // The reason may name sockets or hosts: the log gets it, the answer does not (issue 15 item 3).
        deps.logger.warn({ err: (err as Error).message }, 'health check: libvirt does not answer');
        return reply.code(503).type('text/plain; charset=utf-8').send('libvirt does not answer\n');
      }
    });
  }
  app.get('/-/healthy', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('OK\n'));

  let ready = false;
  app.get('/-/ready', async (req, reply) => {
    if (!ready) {
      try {
        // Long enough for a failed connection attempt to report its own reason (a daemon that accepts
        // and never answers fails at libvirt.connect_timeout), short of the chart's 5 s probe timeout.
        const waitMs = Math.min(parseDuration(deps.config.libvirt.connect_timeout) + 1000, 4500);
        await deps.inspector.hostInfo({ signal: AbortSignal.timeout(waitMs) });
        ready = true;
      } catch (err) {
        // The reason (socket paths, host names, TLS details) is for the log, not for anyone who asks.
        req.log.warn({ err: (err as Error).message }, 'not ready: libvirt has not answered yet');
        return reply.code(503).type('text/plain; charset=utf-8').send('libvirt has not answered yet\n');
      }
    }
    return reply.type('text/plain; charset=utf-8').send('OK\n');
  });

  registerMetricsRoute(app, deps, self, deps.collectors ?? collectorRegistry);
  // NOTE: the inspector outlives the app (a reload may keep it), so main.ts closes it.
  return app;
}
