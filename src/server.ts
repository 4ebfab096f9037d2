// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The server's life cycle: a configuration is loaded and checked ({@link load}: the one path of the
 * start and of every reload), started ({@link start}), applied over a running one ({@link apply}) and
 * stopped ({@link stop}). Signals, file watching and the process exit are src/main.ts's.
 */
import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { buildApp, checkRoutes, type AppDeps } from './app.ts';
import type { Cli } from './cli/flags.ts';
import { inspectorOptions } from './config/inspector-options.ts';
import { listenAddresses, parseListenAddress } from './config/listen-address.ts';
import { loadConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { filesDigest } from './config/secret-file.ts';
import { appliedV8Flags, heapLimitBytes } from './heap.ts';
import { closeListeners, listen } from './http/listeners.ts';
import type { SelfMetrics } from './http/self-metrics.ts';
import { loadWebConfig, type WebConfig } from './http/web-config.ts';
import { createLibvirtInspector, type LibvirtInspector } from './inspector/libvirt-inspector.ts';
import type { Publisher } from './publisher/publisher.ts';
import { version } from './version.ts';

/** Digests of the files a section reads (secrets, TLS, polling.yaml): a changed file restarts its section. */
interface SectionFiles {
  readonly libvirt: string;
  readonly publisher: string;
}

/** A configuration and everything read with it, checked before anything is served. */
export interface Loaded {
  readonly config: Config;
  /** The web configuration file (TLS files and hashes checked), if the configuration names one. */
  readonly web: WebConfig | undefined;
  readonly files: SectionFiles;
  /** The files it was read from: watched, and reloaded when they change. */
  readonly watched: readonly string[];
}

/** What every start and reload of this process shares. */
export interface ServerContext {
  readonly log: Logger;
  readonly self: SelfMetrics;
  /** Serving on the sockets systemd passed, not on the configured addresses. */
  readonly systemd: boolean;
}

/** A running server: the app, the inspector and the publisher of one configuration. */
export interface Running {
  readonly loaded: Loaded;
  readonly app: FastifyInstance;
  /** Listeners beyond the app's own (more listen addresses). */
  readonly extra: Server[];
  /** What the app reads at each request; a reload swaps its fields. */
  readonly deps: AppDeps;
  readonly inspector: LibvirtInspector;
  readonly publisher: Publisher | undefined;
}

async function sectionFiles(config: Config): Promise<SectionFiles> {
  const l = config.libvirt;
  const p = config.publisher;
  const publisherFiles = [
    p.transport_url_file,
    p.telemetry_secret_file,
    p.polling_file,
    p.tls.ca_file,
    p.tls.cert_file,
    p.tls.key_file,
  ];
  return {
    libvirt: await filesDigest([l.tls_ca_file, l.tls_cert_file, l.tls_key_file]),
    publisher: p.enabled ? await filesDigest(publisherFiles) : '',
  };
}

/**
 * Loads and checks everything a configuration needs before it is served: the configuration (file and
 * flags), the listen addresses and routes, the web configuration file, the digests of the files the
 * sections read. The start and every reload go through here.
 */
export async function load(cli: Cli): Promise<Loaded> {
  const config = loadConfig(cli.configFile, cli.overrides, cli.defaults);
  if (!cli.systemdSocket) for (const a of listenAddresses(config.web.listen_address)) parseListenAddress(a);
  checkRoutes(config);
  const webFile = config.web.config_file;
  const web = webFile === undefined ? undefined : await loadWebConfig(webFile);
  const watched = [
    ...(cli.configFile === undefined ? [] : [cli.configFile]),
    ...(webFile === undefined ? [] : [webFile, ...(web?.tls?.files ?? [])]),
  ];
  return { config, web, files: await sectionFiles(config), watched };
}

function inspectorFor(config: Config): LibvirtInspector {
  const inspector = createLibvirtInspector(inspectorOptions(config));
  // Domain events are counted from the start (the events collector); a daemon that is down now is
  // subscribed again on the first connection.
  if (config.collectors.events.enabled) void inspector.startEvents(AbortSignal.timeout(10_000));
  return inspector;
}

async function publisherFor(
  config: Config,
  inspector: LibvirtInspector,
  ctx: ServerContext,
): Promise<Publisher | undefined> {
  if (!config.publisher.enabled) return undefined;
  // Loaded only when enabled: the publisher and its AMQP client are a few MiB of resident code that a
  // scrape-only exporter never runs.
  const { createPublisher } = await import('./publisher/publisher.ts');
  return createPublisher(config.publisher, {
    inspector,
    logger: ctx.log.child({ component: 'publisher' }),
    registry: ctx.self.registry,
  });
}

/** Starts serving `next`; `keep` reuses a running inspector and publisher (already started). */
export async function start(
  next: Loaded,
  ctx: ServerContext,
  keep?: Pick<Running, 'inspector' | 'publisher'>,
): Promise<Running> {
  const { config } = next;
  const inspector = keep?.inspector ?? inspectorFor(config);
  const publisher = keep === undefined ? await publisherFor(config, inspector, ctx) : keep.publisher;
  const deps: AppDeps = {
    config,
    inspector,
    logger: ctx.log,
    self: ctx.self,
    ...(next.web ? { webConfig: next.web } : {}),
    publisherStatus: publisher ? () => publisher.status() : undefined,
  };
  const app = await buildApp(deps);
  const addresses = listenAddresses(config.web.listen_address);
  const extra = await listen(app, ctx.systemd ? undefined : addresses.map(parseListenAddress));
  if (keep === undefined) await publisher?.start();
  ctx.log.info(
    {
      address: ctx.systemd ? 'systemd sockets' : addresses.join(','),
      libvirt_uri: config.libvirt.uri,
      version: version.version,
      v8_flags: appliedV8Flags.join(' '),
      heap_limit_bytes: heapLimitBytes(),
    },
    'listening',
  );
  return { loaded: next, app, extra, deps, inspector, publisher };
}

/** Stops serving; with `all`, stops the publisher and closes libvirt too. */
export async function stop(r: Running, all = true): Promise<void> {
  // The extra listeners stop accepting now, and are closed once the app has closed the connections they
  // handed over (a listener's close() waits for its connections).
  const extra = closeListeners(r.extra);
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

/** Whether the HTTP server must be built again: what it was built with changed, or a web file is used. */
function needsNewServer(a: Config['web'], b: Config['web']): boolean {
  return (
    !same(a.listen_address, b.listen_address) ||
    a.telemetry_path !== b.telemetry_path ||
    a.health_path !== b.health_path ||
    a.config_file !== b.config_file ||
    b.config_file !== undefined
  );
}

/**
 * Applies a new configuration. What the HTTP server was built with (listen address, paths, web
 * configuration file) needs a new server; everything else is swapped under the running one, so that
 * scrapes never see a closed socket. Either way, the libvirt connection is kept unless its section or
 * the files it reads changed, and the publisher unless its section, its files or the connection changed
 * (a renewed web certificate does not reconnect libvirt).
 */
export async function apply(r: Running, next: Loaded, ctx: ServerContext): Promise<Running> {
  const was = r.loaded;
  const sameLibvirt =
    same(was.config.libvirt, next.config.libvirt) && was.files.libvirt === next.files.libvirt;
  const samePublisher =
    sameLibvirt &&
    same(was.config.publisher, next.config.publisher) &&
    was.files.publisher === next.files.publisher;
  if (needsNewServer(was.config.web, next.config.web)) {
    const keep = sameLibvirt && samePublisher;
    await stop(r, !keep);
    return start(next, ctx, keep ? r : undefined);
  }
  const inspector = sameLibvirt ? r.inspector : inspectorFor(next.config);
  const publisher = samePublisher ? r.publisher : await publisherFor(next.config, inspector, ctx);
  r.deps.config = next.config;
  r.deps.inspector = inspector;
  r.deps.publisherStatus = publisher ? () => publisher.status() : undefined;
  if (!samePublisher) {
    await r.publisher?.stop();
    await publisher?.start();
  }
  if (!sameLibvirt) await r.inspector.close();
  return { ...r, loaded: next, inspector, publisher };
}
