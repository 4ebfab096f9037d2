// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Process entry: parse the command line, load the configuration, serve (or inspect), handle signals.
 * The only file that calls process.exit().
 */
// First: V8 heap settings for a daemon, before anything else allocates (see src/heap.ts).
import {
  HEAP_EXIT_CODE,
  appliedV8Flags,
  heapLimitBytes,
  heapLimitMessage,
  settleHeap,
  watchHeapLimit,
} from './heap.ts';
import { createServer, type Server, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, checkRoutes, type AppDeps } from './app.ts';
import { listenAddresses, parseCli, parseListenAddress, usage, type Cli } from './cli/flags.ts';
import { runInspect } from './cli/inspect.ts';
import { inspectorOptions } from './config/inspector-options.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { filesDigest } from './config/secret-file.ts';
import type { Config } from './config/schema.ts';
import { watchFiles, webConfigTlsFiles } from './config/watch.ts';
import { createSelfMetrics, type SelfMetrics } from './http/self-metrics.ts';
import { loadWebConfig, type WebConfig } from './http/web-config.ts';
import { createLibvirtInspector, type LibvirtInspector } from './inspector/libvirt-inspector.ts';
import { createLogger } from './log/logger.ts';
import type { Publisher } from './publisher/publisher.ts';
import { version } from './version.ts';

function inspectorFor(config: Config): LibvirtInspector {
  const inspector = createLibvirtInspector(inspectorOptions(config));
  // Domain events are counted from the start (the events collector); a daemon that is down now is
  // subscribed again on the first connection.
  if (config.collectors.events.enabled) void inspector.startEvents(AbortSignal.timeout(10_000));
  return inspector;
}

/** A running server: the app, the inspector and the publisher of one configuration. */
interface Running {
  config: Config;
  app: FastifyInstance;
  /** Listeners beyond the app's own (more listen addresses, systemd sockets). */
  extra: Server[];
  /** What the app reads at each request; a reload swaps its fields. */
  deps: AppDeps;
  inspector: LibvirtInspector;
  publisher: Publisher | undefined;
  /** Digests of the files each section read at start: a reload restarts a section whose files changed. */
  files: SectionFiles;
}

interface SectionFiles {
  readonly libvirt: string;
  readonly publisher: string;
}

/** What the libvirt connection and the publisher read from files (secrets, TLS, polling.yaml). */
async function sectionFiles(config: Config): Promise<SectionFiles> {
  const l = config.libvirt;
  const p = config.publisher;
  return {
    libvirt: await filesDigest([l.tls_ca_file, l.tls_cert_file, l.tls_key_file]),
    publisher: p.enabled
      ? await filesDigest([
          p.transport_url_file,
          p.telemetry_secret_file,
          p.polling_file,
          p.tls.ca_file,
          p.tls.cert_file,
          p.tls.key_file,
        ])
      : '',
  };
}

/** Loads and checks everything a configuration needs before it is served. */
async function prepare(cli: Cli): Promise<{ config: Config; web: WebConfig | undefined }> {
  const config = loadConfig(cli.configFile, cli.overrides, cli.defaults);
  if (!cli.systemdSocket) for (const a of listenAddresses(config.web.listen_address)) parseListenAddress(a);
  checkRoutes(config);
  // The web configuration (TLS files, bcrypt hashes) is checked before anything listens.
  return { config, web: await loadWeb(config) };
}

/** The sockets systemd passes to an activated service (sd_listen_fds): fd 3 onwards. */
function systemdFds(): number[] {
  const pid = process.env['LISTEN_PID'];
  const count = Number(process.env['LISTEN_FDS'] ?? '0');
  if (pid !== undefined && pid !== String(process.pid)) {
    throw new Error(`--web.systemd-socket: LISTEN_PID ${pid} is not this process (${process.pid})`);
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new Error('--web.systemd-socket: systemd passed no socket (LISTEN_FDS is unset or 0)');
  }
  return Array.from({ length: count }, (_, i) => 3 + i);
}

/** The connections each forwarder handed over and that are still open. */
const handedOver = new WeakMap<Server, Set<Socket>>();

/** A plain TCP listener that hands its connections to the current app's server. */
function forwarder(app: () => FastifyInstance): Server {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    app().server.emit('connection', socket);
  });
  handedOver.set(server, sockets);
  return server;
}

/** Ends the connections that listeners handed over and that are still open (kept alive, idle). */
function dropHandedOver(servers: readonly Server[]): void {
  for (const s of servers) for (const socket of handedOver.get(s) ?? []) socket.destroy();
}

function listening(server: Server, options: object): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Listens on the sockets systemd passed, for the whole life of the process (a reload cannot reopen them):
 * each hands its connections to the app of the moment.
 */
async function listenSystemd(app: () => FastifyInstance): Promise<Server[]> {
  const servers: Server[] = [];
  try {
    for (const fd of systemdFds()) {
      const s = forwarder(app);
      servers.push(s);
      await listening(s, { fd });
    }
  } catch (err) {
    await closeExtra(servers);
    throw err;
  }
  return servers;
}

/**
 * Starts listening: the first address through the app itself, every further address through a plain
 * TCP listener that hands its connections to the app's server, so that TLS, HTTP/2, basic auth, the
 * in-flight limit and close() are the same on every address. With systemd sockets the app does not
 * listen at all (see {@link listenSystemd}).
 */
async function listen(app: FastifyInstance, config: Config, systemd: boolean): Promise<Server[]> {
  if (systemd) {
    await app.ready();
    return [];
  }
  const extra: Server[] = [];
  try {
    const [first, ...rest] = listenAddresses(config.web.listen_address).map(parseListenAddress);
    if (first === undefined) throw new Error('no listen address');
    await app.listen(first);
    for (const a of rest) {
      const s = forwarder(() => app);
      extra.push(s);
      await listening(s, a);
    }
    return extra;
  } catch (err) {
    await closeExtra(extra);
    throw err;
  }
}

function closeExtra(servers: readonly Server[]): Promise<void> {
  return Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s.listening) {
            resolve();
            return;
          }
          s.close(() => {
            resolve();
          });
        }),
    ),
  ).then(() => undefined);
}

/** Loads the web configuration file, if any (TLS files and hashes are checked here). */
async function loadWeb(config: Config): Promise<WebConfig | undefined> {
  return config.web.config_file === undefined ? undefined : loadWebConfig(config.web.config_file);
}

async function publisherFor(
  config: Config,
  inspector: LibvirtInspector,
  log: Logger,
  self: SelfMetrics,
): Promise<Publisher | undefined> {
  if (!config.publisher.enabled) return undefined;
  // Loaded only when enabled: the publisher and its AMQP client are a few MiB of resident code that a
  // scrape-only exporter never runs.
  const { createPublisher } = await import('./publisher/publisher.ts');
  return createPublisher(config.publisher, {
    inspector,
    logger: log.child({ component: 'publisher' }),
    registry: self.registry,
  });
}

async function start(
  config: Config,
  webConfig: WebConfig | undefined,
  log: Logger,
  self: SelfMetrics,
  systemd: boolean,
  keep?: Pick<Running, 'inspector' | 'publisher'>,
): Promise<Running> {
  const files = await sectionFiles(config);
  const inspector = keep?.inspector ?? inspectorFor(config);
  const publisher = keep === undefined ? await publisherFor(config, inspector, log, self) : keep.publisher;
  const deps: AppDeps = {
    config,
    inspector,
    logger: log,
    self,
    ...(webConfig ? { webConfig } : {}),
    publisherStatus: publisher ? () => publisher.status() : undefined,
  };
  const app = await buildApp(deps);
  const extra = await listen(app, config, systemd);
  if (keep === undefined) await publisher?.start();
  log.info(
    {
      address: systemd ? 'systemd sockets' : listenAddresses(config.web.listen_address).join(','),
      libvirt_uri: config.libvirt.uri,
      version: version.version,
      v8_flags: appliedV8Flags.join(' '),
      heap_limit_bytes: heapLimitBytes(),
    },
    'listening',
  );
  return { config, app, extra, deps, inspector, publisher, files };
}

/** Stops serving; with `all`, stops the publisher and closes libvirt too. */
async function stop(r: Running, all = true): Promise<void> {
  // The extra listeners stop accepting now, and are closed once the app has closed the connections they
  // handed over (a listener's close() waits for its connections).
  const extra = closeExtra(r.extra);
  // Fastify's close() waits for in-flight requests (scrapes) to finish.
  await r.app.close();
  await extra;
  // Kept-alive connections handed over by systemd listeners would stay with the old app.
  if (!r.app.server.listening) r.app.server.closeIdleConnections();
  if (!all) return;
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
  systemd: boolean,
): Promise<Running> {
  const w = r.config.web;
  if (
    !same(w.listen_address, next.web.listen_address) ||
    w.telemetry_path !== next.web.telemetry_path ||
    w.health_path !== next.web.health_path ||
    w.config_file !== next.web.config_file ||
    next.web.config_file !== undefined
  ) {
    // A new server; libvirt and the publisher stay as they are when their sections and the files they
    // read did not change (a renewed web certificate does not reconnect libvirt).
    const nextFiles = await sectionFiles(next);
    const keep =
      same(r.config.libvirt, next.libvirt) &&
      same(r.config.publisher, next.publisher) &&
      nextFiles.libvirt === r.files.libvirt &&
      nextFiles.publisher === r.files.publisher;
    await stop(r, !keep);
    return start(next, web, log, self, systemd, keep ? r : undefined);
  }
  // A changed secret or TLS file counts as a changed section, even when the configuration text is the same.
  const files = await sectionFiles(next);
  const sameLibvirt = same(r.config.libvirt, next.libvirt) && files.libvirt === r.files.libvirt;
  const inspector = sameLibvirt ? r.inspector : inspectorFor(next);
  const samePublisher =
    inspector === r.inspector &&
    same(r.config.publisher, next.publisher) &&
    files.publisher === r.files.publisher;
  const publisher = samePublisher ? r.publisher : await publisherFor(next, inspector, log, self);
  r.deps.config = next;
  r.deps.inspector = inspector;
  r.deps.publisherStatus = publisher ? () => publisher.status() : undefined;
  if (!samePublisher) {
    await r.publisher?.stop();
    await publisher?.start();
  }
  if (inspector !== r.inspector) await r.inspector.close();
  return { ...r, config: next, inspector, publisher, files };
}

/** The files a configuration was read from: watched, and reloaded when they change. */
function watchedFiles(cli: Cli, config: Config): string[] {
  const files: string[] = [];
  if (cli.configFile !== undefined) files.push(cli.configFile);
  const web = config.web.config_file;
  if (web !== undefined) files.push(web, ...webConfigTlsFiles(web));
  return files;
}

async function serve(cli: Cli, config: Config, webConfig: WebConfig | undefined): Promise<void> {
  const log = createLogger(config.log.level, undefined, config.log.format);
  for (const w of cli.warnings) log.warn(w);
  const self = createSelfMetrics();
  let running: Running | undefined;
  const systemdListeners = cli.systemdSocket
    ? await listenSystemd(() => {
        if (running === undefined) throw new Error('not serving yet');
        return running.app;
      })
    : [];
  running = await start(config, webConfig, log, self, cli.systemdSocket);
  // Issue 16: the young generation back to its initial size once every module is loaded; a heap at its
  // limit is a clear fatal line and an exit the service manager restarts (src/heap.ts).
  settleHeap();
  watchHeapLimit({
    onLimit: (r) => {
      log.fatal({ heap_used_bytes: r.usedBytes, heap_limit_bytes: r.limitBytes }, heapLimitMessage(r));
      process.exit(HEAP_EXIT_CODE);
    },
  });
  let stopping = false;
  let work: Promise<unknown> = Promise.resolve();

  // SIGHUP, or a change of a watched file: load the configuration again; a bad file is logged and the
  // running configuration kept.
  const reload = (why: string): void => {
    work = work.then(async () => {
      if (stopping || running === undefined) return;
      let next: Config;
      let web: WebConfig | undefined;
      try {
        ({ config: next, web } = await prepare(cli));
      } catch (err) {
        log.error(
          { err: (err as Error).message, trigger: why },
          'configuration reload failed; keeping the running configuration',
        );
        return;
      }
      log.level = next.log.level;
      if (next.log.format !== running.config.log.format) {
        log.warn({ format: next.log.format }, 'log.format takes effect at the next start');
      }
      try {
        running = await apply(running, next, web, log, self, cli.systemdSocket);
        log.info({ trigger: why }, 'configuration reloaded');
      } catch (err) {
        log.fatal({ err }, 'cannot serve the reloaded configuration');
        process.exit(1);
      }
      const files = watchedFiles(cli, next);
      if (JSON.stringify(files) !== JSON.stringify(watcher.paths)) watcher.update(files);
    });
  };
  const watcher = watchFiles(watchedFiles(cli, config), {
    onChange: (changed) => {
      log.info({ files: changed.join(',') }, 'configuration files changed on disk; reloading');
      reload('file change');
    },
    onError: (err, dir) => {
      log.warn(
        { dir, err: err.message },
        'cannot watch this directory; send SIGHUP after changing its files',
      );
    },
  });

  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    watcher.close();
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    work
      .then(async () => {
        // The systemd listeners stop accepting; the connections they handed over end once the app has
        // finished its requests.
        const closing = closeExtra(systemdListeners);
        if (running !== undefined) await stop(running);
        dropHandedOver(systemdListeners);
        await closing;
      })
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
  process.on('SIGHUP', () => {
    reload('SIGHUP');
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
    ({ config, web: webConfig } = await prepare(cli));
  } catch (err) {
    process.stderr.write(
      `libvirt-exporter: ${err instanceof ConfigError ? '' : 'invalid configuration: '}${(err as Error).message}\n`,
    );
    return 1;
  }
  if (cli.check || cli.command === 'inspect') {
    for (const w of cli.warnings) process.stderr.write(`libvirt-exporter: warning: ${w}\n`);
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
