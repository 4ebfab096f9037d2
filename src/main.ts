// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Process entry: parse the command line, load the configuration, serve (or inspect), handle signals.
 * The only file that calls process.exit().
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type AppDeps } from './app.ts';
import { parseCli, parseListenAddress, usage, type Cli } from './cli/flags.ts';
import { runInspect } from './cli/inspect.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { parseDuration } from './config/duration.ts';
import type { Config } from './config/schema.ts';
import { createSelfMetrics, type SelfMetrics } from './http/self-metrics.ts';
import { loadWebConfig, type WebConfig } from './http/web-config.ts';
import { createLibvirtInspector, type LibvirtInspector } from './inspector/libvirt-inspector.ts';
import { createLogger } from './log/logger.ts';
import { createPublisher, type Publisher } from './publisher/publisher.ts';
import { version } from './version.ts';

function inspectorFor(config: Config): LibvirtInspector {
  const l = config.libvirt;
  const inspector = createLibvirtInspector({
    uri: l.uri,
    readWrite: !l.read_only,
    tls: {
      ...(l.tls_ca_file !== undefined ? { caFile: l.tls_ca_file } : {}),
      ...(l.tls_cert_file !== undefined ? { certFile: l.tls_cert_file } : {}),
      ...(l.tls_key_file !== undefined ? { keyFile: l.tls_key_file } : {}),
    },
    connectTimeoutMs: parseDuration(l.connect_timeout),
    maxShards: l.stats_shards,
    shardTimeoutMs: parseDuration(l.shard_timeout),
  });
  // Domain events are counted from the start (the events collector); a daemon that is down now is
  // subscribed again on the first connection.
  if (config.collectors.events.enabled) void inspector.startEvents(AbortSignal.timeout(10_000));
  return inspector;
}

/** A running server: the app, the inspector and the publisher of one configuration. */
interface Running {
  config: Config;
  app: FastifyInstance;
  /** What the app reads at each request; a reload swaps its fields. */
  deps: AppDeps;
  inspector: LibvirtInspector;
  publisher: Publisher | undefined;
}

/** Loads the web configuration file, if any (TLS files and hashes are checked here). */
async function loadWeb(config: Config): Promise<WebConfig | undefined> {
  return config.web.config_file === undefined ? undefined : loadWebConfig(config.web.config_file);
}

function publisherFor(
  config: Config,
  inspector: LibvirtInspector,
  log: Logger,
  self: SelfMetrics,
): Publisher | undefined {
  return config.publisher.enabled
    ? createPublisher(config.publisher, {
        inspector,
        logger: log.child({ component: 'publisher' }),
        registry: self.registry,
      })
    : undefined;
}

async function start(
  config: Config,
  webConfig: WebConfig | undefined,
  log: Logger,
  self: SelfMetrics,
): Promise<Running> {
  const inspector = inspectorFor(config);
  const publisher = publisherFor(config, inspector, log, self);
  const deps: AppDeps = {
    config,
    inspector,
    logger: log,
    self,
    ...(webConfig ? { webConfig } : {}),
    publisherStatus: publisher ? () => publisher.status() : undefined,
  };
  const app = await buildApp(deps);
  const { host, port } = parseListenAddress(config.web.listen_address);
  await app.listen({ host, port });
  await publisher?.start();
  log.info(
    { address: config.web.listen_address, libvirt_uri: config.libvirt.uri, version: version.version },
    'listening',
  );
  return { config, app, deps, inspector, publisher };
}

async function stop(r: Running): Promise<void> {
  // Fastify's close() waits for in-flight requests (scrapes) to finish.
  await r.app.close();
  await r.publisher?.stop();
  await r.inspector.close();
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Applies a new configuration. What the HTTP server was built with (listen address, telemetry path, web
 * configuration file) needs a new server; everything else is swapped under the running one, so that
 * scrapes never see a closed socket: a new libvirt connection when the libvirt section changed, a new
 * publisher when its section (or the connection) changed.
 */
async function apply(
  r: Running,
  next: Config,
  web: WebConfig | undefined,
  log: Logger,
  self: SelfMetrics,
): Promise<Running> {
  const w = r.config.web;
  if (
    w.listen_address !== next.web.listen_address ||
    w.telemetry_path !== next.web.telemetry_path ||
    w.config_file !== next.web.config_file ||
    next.web.config_file !== undefined
  ) {
    await stop(r);
    return start(next, web, log, self);
  }
  const inspector = same(r.config.libvirt, next.libvirt) ? r.inspector : inspectorFor(next);
  const samePublisher = inspector === r.inspector && same(r.config.publisher, next.publisher);
  const publisher = samePublisher ? r.publisher : publisherFor(next, inspector, log, self);
  r.deps.config = next;
  r.deps.inspector = inspector;
  r.deps.publisherStatus = publisher ? () => publisher.status() : undefined;
  if (!samePublisher) {
    await r.publisher?.stop();
    await publisher?.start();
  }
  if (inspector !== r.inspector) await r.inspector.close();
  return { ...r, config: next, inspector, publisher };
}

async function serve(cli: Cli, config: Config, webConfig: WebConfig | undefined): Promise<void> {
  const log = createLogger(config.log.level);
  const self = createSelfMetrics();
  let running = await start(config, webConfig, log, self);
  let stopping = false;
  let work: Promise<unknown> = Promise.resolve();
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    work
      .then(() => stop(running))
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'error while shutting down');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  process.on('SIGINT', () => {
    shutdown('SIGINT');
  });
  // SIGHUP: load the configuration again; a bad file is logged and the running configuration kept.
  process.on('SIGHUP', () => {
    work = work.then(async () => {
      if (stopping) return;
      let next: Config;
      let web: WebConfig | undefined;
      try {
        next = loadConfig(cli.configFile, cli.overrides);
        parseListenAddress(next.web.listen_address);
        web = await loadWeb(next);
      } catch (err) {
        log.error(
          { err: (err as Error).message },
          'configuration reload failed; keeping the running configuration',
        );
        return;
      }
      log.level = next.log.level;
      try {
        running = await apply(running, next, web, log, self);
        log.info('configuration reloaded');
      } catch (err) {
        log.fatal({ err }, 'cannot serve the reloaded configuration');
        process.exit(1);
      }
    });
  });
}

async function main(argv: readonly string[]): Promise<number> {
  let cli: Cli;
  try {
    cli = parseCli(argv);
  } catch (err) {
    process.stderr.write(`libvirt-exporter: ${(err as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (cli.version) {
    process.stdout.write(
      `${version.name} ${version.version} (revision ${version.revision}, Node.js ${version.nodejsVersion})\n`,
    );
    return 0;
  }
  let config: Config;
  let webConfig: WebConfig | undefined;
  try {
    config = loadConfig(cli.configFile, cli.overrides);
    parseListenAddress(config.web.listen_address);
    // The web configuration (TLS files, bcrypt hashes) is checked before anything listens.
    webConfig = await loadWeb(config);
  } catch (err) {
    process.stderr.write(
      `libvirt-exporter: ${err instanceof ConfigError ? '' : 'invalid configuration: '}${(err as Error).message}\n`,
    );
    return 1;
  }
  if (cli.check) {
    process.stdout.write(`configuration ${cli.configFile ?? '(defaults and flags)'} is valid\n`);
    return 0;
  }
  if (cli.command === 'inspect') {
    return runInspect(config, { output: cli.output, intervalSeconds: cli.interval });
  }
  await serve(cli, config, webConfig);
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`libvirt-exporter: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
