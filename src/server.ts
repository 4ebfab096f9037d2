// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The server's life cycle: a configuration is loaded and checked ({@link load}: the one path of the
 * start and of every reload), started ({@link start}), applied over a running one ({@link apply}, as
 * {@link reloadPlan} decides) and stopped ({@link stop}). Signals, file watching and the process exit
 * are src/main.ts's.
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
import { anomalyLogger } from './http/anomaly-log.ts';
import { closeListeners, drain, listen, type ListenAddress } from './http/listeners.ts';
import type { SelfMetrics } from './http/self-metrics.ts';
import { renewSecureContext, serverChange, ServerKept } from './http/server-change.ts';
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
  /** A reload's new server serves (the old one closes next): systemd listeners switch to it (main.ts). */
  readonly onServing?: (r: Running) => void;
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

function inspectorFor(config: Config, log: Logger): LibvirtInspector {
  // The client's anomalies (a listener that threw, a frame it could not place) are counted in
  // libvirt_exporter_libvirt_anomalies_total and logged here, rate-limited per kind.
  const onAnomaly = anomalyLogger(log.child({ component: 'libvirt' }));
  const inspector = createLibvirtInspector({ ...inspectorOptions(config), onAnomaly });
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

/** The addresses a configuration listens on; undefined with systemd sockets. */
function addressesOf(config: Config, ctx: ServerContext): ListenAddress[] | undefined {
  return ctx.systemd ? undefined : listenAddresses(config.web.listen_address).map(parseListenAddress);
}

/**
 * Builds the app of `next` over an inspector and a publisher (not started here) and makes it listen
 * (beside a running server on the `held` addresses). On failure the app is closed, nothing else.
 */
async function serve(
  next: Loaded,
  ctx: ServerContext,
  parts: Pick<Running, 'inspector' | 'publisher'>,
  held: readonly ListenAddress[] = [],
): Promise<Running> {
  const { config } = next;
  const { inspector, publisher } = parts;
  const deps: AppDeps = {
    config,
    inspector,
    logger: ctx.log,
    self: ctx.self,
    webConfig: next.web,
    publisherStatus: publisher ? () => publisher.status() : undefined,
  };
  const app = await buildApp(deps);
  let extra: Server[];
  try {
    extra = await listen(app, addressesOf(config, ctx), held);
  } catch (err) {
    await app.close();
    throw err;
  }
  return { loaded: next, app, extra, deps, inspector, publisher };
}

/** The "listening" line: logged once the server serves and the publisher has started (tests wait for it). */
function logListening(config: Config, ctx: ServerContext): void {
  ctx.log.info(
    {
      address: ctx.systemd ? 'systemd sockets' : listenAddresses(config.web.listen_address).join(','),
      libvirt_uri: config.libvirt.uri,
      version: version.version,
      v8_flags: appliedV8Flags.join(' '),
      node_options: process.execArgv.join(' '),
      heap_limit_bytes: heapLimitBytes(),
    },
    'listening',
  );
}

/** Starts serving `next`: the libvirt connection, the publisher and the server. */
export async function start(next: Loaded, ctx: ServerContext): Promise<Running> {
  const inspector = inspectorFor(next.config, ctx.log);
  const publisher = await publisherFor(next.config, inspector, ctx);
  let r: Running;
  try {
    r = await serve(next, ctx, { inspector, publisher });
  } catch (err) {
    await inspector.close();
    throw err;
  }
  await publisher?.start();
  logListening(next.config, ctx);
  return r;
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

/** What a reload does; {@link reloadPlan} decides it from what changed. */
export interface ReloadPlan {
  /**
   * The HTTP server: `keep` (it reads the new settings, basic auth and headers included, at its next
   * request), `secure-context` (and serves the new certificate, key or TLS settings from its next
   * handshake) or `new-server` (a new server listens beside it, then it closes after its requests).
   */
  readonly http: 'keep' | 'secure-context' | 'new-server';
  /** Why, for the log: what changed for the HTTP server. */
  readonly reason: string;
  /** The libvirt connection is kept: its section and the files it reads are the same. */
  readonly keepLibvirt: boolean;
  /** The publisher is kept: its section and files, and the libvirt connection, are the same. */
  readonly keepPublisher: boolean;
}

/**
 * Decides what applying `next` over `was` does. Only what the server is built with needs a new one:
 * the listen addresses, the paths (routes), and the server side of the web configuration (TLS on or
 * off, HTTP/2, the client certificate policy). A renewed certificate is a new secure context; anything
 * else is read per request. A renewed web certificate does not reconnect libvirt.
 */
export function reloadPlan(was: Loaded, next: Loaded): ReloadPlan {
  const a = was.config;
  const b = next.config;
  const keepLibvirt = same(a.libvirt, b.libvirt) && was.files.libvirt === next.files.libvirt;
  const keepPublisher =
    keepLibvirt && same(a.publisher, b.publisher) && was.files.publisher === next.files.publisher;
  const change = serverChange(was, next);
  const http = change.kind === 'none' ? 'keep' : change.kind;
  return { http, reason: change.reason, keepLibvirt, keepPublisher };
}

/**
 * A new server beside the running one: it listens first (same addresses shared), then the old one
 * stops accepting and closes once its requests are done. If the new one cannot listen, it is closed
 * and the error thrown with the running server untouched ({@link ServerKept}).
 */
async function replaceServer(
  r: Running,
  next: Loaded,
  ctx: ServerContext,
  plan: ReloadPlan,
): Promise<Running> {
  const inspector = plan.keepLibvirt ? r.inspector : inspectorFor(next.config, ctx.log);
  const publisher = plan.keepPublisher ? r.publisher : await publisherFor(next.config, inspector, ctx);
  let n: Running;
  try {
    n = await serve(next, ctx, { inspector, publisher }, addressesOf(r.loaded.config, ctx) ?? []);
  } catch (err) {
    if (!plan.keepLibvirt) await inspector.close();
    throw new ServerKept(err);
  }
  ctx.onServing?.(n);
  r.deps.retiring = true;
  await drain(r.app.server);
  await stop(r, false);
  await switchParts(r, plan, publisher);
  logListening(next.config, ctx);
  return n;
}

/** Stops the publisher and closes libvirt of `r` where the plan replaced them; starts the new publisher. */
async function switchParts(r: Running, plan: ReloadPlan, publisher: Running['publisher']): Promise<void> {
  if (!plan.keepPublisher) {
    // NOTE: the old publisher stops before the new one starts: never two sending the same interval.
    await r.publisher?.stop();
    await publisher?.start();
  }
  if (!plan.keepLibvirt) await r.inspector.close();
}

/**
 * Applies a new configuration as {@link reloadPlan} decides, so that no connection is refused: the
 * running server is kept (its deps swapped, a new secure context set) unless a socket-level setting
 * changed, and then a new server listens before the old one closes.
 */
export async function apply(r: Running, next: Loaded, ctx: ServerContext): Promise<Running> {
  const plan = reloadPlan(r.loaded, next);
  ctx.log.info({ http: plan.http, reason: plan.reason }, 'applying the reloaded configuration');
  if (plan.http === 'new-server') return replaceServer(r, next, ctx, plan);
  if (plan.http === 'secure-context') renewSecureContext(r.app.server, next.web);
  const inspector = plan.keepLibvirt ? r.inspector : inspectorFor(next.config, ctx.log);
  const publisher = plan.keepPublisher ? r.publisher : await publisherFor(next.config, inspector, ctx);
  r.deps.config = next.config;
  r.deps.inspector = inspector;
  r.deps.webConfig = next.web;
  r.deps.publisherStatus = publisher ? () => publisher.status() : undefined;
  for (const w of next.web?.warnings ?? []) ctx.log.warn({ file: next.web?.file }, w);
  await switchParts(r, plan, publisher);
  return { ...r, loaded: next, inspector, publisher };
}
