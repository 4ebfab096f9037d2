// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Process entry: parse the command line, load the configuration, serve (or inspect), handle signals.
 * The only file that calls process.exit().
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { parseCli, parseListenAddress, usage, type Cli } from './cli/flags.ts';
import { runInspect } from './cli/inspect.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { parseDuration } from './config/duration.ts';
import type { Config } from './config/schema.ts';
import { createSelfMetrics } from './http/self-metrics.ts';
import { loadWebConfig, type WebConfig } from './http/web-config.ts';
import { createLibvirtInspector, type LibvirtInspector } from './inspector/libvirt-inspector.ts';
import { createLogger } from './log/logger.ts';
import { createPublisher, type Publisher } from './publisher/publisher.ts';
import { version } from './version.ts';

function inspectorFor(config: Config): LibvirtInspector {
  const l = config.libvirt;
  return createLibvirtInspector({
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
}

/** A running server: the app, the inspector and the publisher of one configuration. */
interface Running {
  config: Config;
  app: FastifyInstance;
  inspector: LibvirtInspector;
  publisher: Publisher | undefined;
}

async function start(config: Config, log: Logger, self = createSelfMetrics()): Promise<Running> {
  const webConfig: WebConfig | undefined =
    config.web.config_file === undefined ? undefined : await loadWebConfig(config.web.config_file);
  const inspector = inspectorFor(config);
  const publisher = config.publisher.enabled
    ? createPublisher(config.publisher, { inspector, logger: log.child({ component: 'publisher' }), registry: self.registry })
    : undefined;
  const app = await buildApp({
    config,
    inspector,
    logger: log,
    self,
    ...(webConfig ? { webConfig } : {}),
    ...(publisher ? { publisherStatus: () => publisher.status() } : {}),
  });
  const { host, port } = parseListenAddress(config.web.listen_address);
  await app.listen({ host, port });
  await publisher?.start();
  log.info({ address: config.web.listen_address, libvirt_uri: config.libvirt.uri, version: version.version }, 'listening');
  return { config, app, inspector, publisher };
}

async function stop(r: Running): Promise<void> {
  // Fastify's close() waits for in-flight requests (scrapes) to finish.
  await r.app.close();
  await r.publisher?.stop();
  await r.inspector.close();
}

async function serve(cli: Cli, config: Config): Promise<void> {
  const log = createLogger(config.log.level);
  let running = await start(config, log);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    stop(running).then(
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
  // SIGHUP: load the configuration again; a bad file is logged and the running one kept.
  process.on('SIGHUP', () => {
    let next: Config;
    try {
      next = loadConfig(cli.configFile, cli.overrides);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'configuration reload failed; keeping the running configuration');
      return;
    }
    log.level = next.log.level;
    const previous = running;
    stop(previous)
      .then(() => start(next, log))
      .then(
        (r) => {
          running = r;
          log.info('configuration reloaded');
        },
        (err: unknown) => {
          log.fatal({ err }, 'cannot serve the reloaded configuration');
          process.exit(1);
        },
      );
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
    process.stdout.write(`${version.name} ${version.version} (revision ${version.revision}, Node.js ${version.nodejsVersion})\n`);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig(cli.configFile, cli.overrides);
    parseListenAddress(config.web.listen_address);
    // The web configuration (TLS files, bcrypt hashes) is checked before anything listens.
    if (config.web.config_file !== undefined) await loadWebConfig(config.web.config_file);
  } catch (err) {
    process.stderr.write(`libvirt-exporter: ${(err as Error).message}\n`);
    return err instanceof ConfigError ? 1 : 1;
  }
  if (cli.check) {
    process.stdout.write(`configuration ${cli.configFile ?? '(defaults and flags)'} is valid\n`);
    return 0;
  }
  if (cli.command === 'inspect') {
    return runInspect(config, { output: cli.output, intervalSeconds: cli.interval });
  }
  await serve(cli, config);
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
