// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The Ceilometer side-publisher: polls the local libvirt domains on the intervals of a Ceilometer
 * polling.yaml and publishes the samples the real compute agent (ceilometer-polling) would publish,
 * to the same exchange, in the same notifications. A broker outage never blocks or fails a poll:
 * samples wait in a bounded queue and go out in order when the broker is back.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';

import type { Inspector } from '../inspector/types.ts';
import { systemClock, type Clock } from '../libvirt/index.ts';
import { type AmqpTransport, type AmqpTransportOptions, createAmqpTransport } from './amqp-transport.ts';
import { type PublisherConfig, publisherConfigSchema } from './config.ts';
import { DeliveryQueue } from './delivery-queue.ts';
import { createUuid1 } from '../ceilometer/ids.ts';
import { computeMeters } from '../ceilometer/meters.ts';
import { defaultUnitProfile, parseRelease } from '../ceilometer/release.ts';
import { type PublisherMetrics, registerPublisherMetrics } from './metrics.ts';
import { type PollGroup, PollScheduler } from './poll-scheduler.ts';
import { Sender } from './sender.ts';
import {
  loadPolling,
  PublisherConfigError,
  pollGroups,
  readTelemetrySecret,
  readTransportUrl,
  tlsOptions,
} from './setup.ts';
import { secretFileWarning } from '../config/secret-file.ts';
import { describeTransportUrl, plainTcpPasswordWarning, type TransportUrl } from './transport-url.ts';

/** What the exporter hands the publisher. */
export interface PublisherDeps {
  readonly inspector: Inspector;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Replaces the AMQP transport (tests); default: rabbitmq-client. */
  readonly createTransport?: (options: AmqpTransportOptions) => AmqpTransport;
  /** Retry backoff bounds of a failed send in ms (tests shorten them); default 1000 to 30000. */
  readonly retryDelayMs?: { readonly min: number; readonly max: number };
  /** Times every timer of the publisher: poll cycles, sends, retries, the stop bound (tests); default: the system clock. */
  readonly clock?: Clock;
}

/**
 * The publisher's state for the landing page; never holds a secret. (A type alias, not an interface,
 * so that it is assignable to `Record<string, unknown>`.)
 */
export type PublisherStatus = {
  readonly enabled: boolean;
  readonly running: boolean;
  /** Transport URL with the password hidden; null before start. */
  readonly broker: string | null;
  /** The AMQP connection is established (blocked or not). */
  readonly brokerConnected: boolean;
  /** The broker blocks publishing (a memory or disk alarm): samples wait in the queue. */
  readonly brokerBlocked: boolean;
  readonly exchange: string;
  readonly routingKey: string;
  readonly ceilometerRelease: string;
  readonly unitProfile: 'MB' | 'MiB';
  readonly policy: 'queue' | 'drop';
  readonly queuedSamples: number;
  readonly maxQueueLength: number;
  readonly samplesPolled: number;
  readonly samplesPublished: number;
  readonly samplesDropped: number;
  /** One entry per polling interval (sources of one interval share a cycle, as in Ceilometer). */
  readonly polls: readonly {
    readonly interval: number;
    readonly sources: readonly string[];
    readonly meters: readonly string[];
    /** ISO time of the last cycle start. */
    readonly lastPoll?: string;
    readonly lastDurationSeconds?: number;
    readonly lastSamples?: number;
    readonly lastError?: string;
  }[];
};

/** The side-publisher. */
export interface Publisher {
  /** Validates, reads the secrets and polling file, connects in the background and starts the timers. */
  start(options?: { signal?: AbortSignal }): Promise<void>;
  /** Stops the timers, sends what it can within stop_timeout_seconds, closes the connection. */
  stop(options?: { signal?: AbortSignal }): Promise<void>;
  /** A snapshot for the landing page. */
  status(): PublisherStatus;
}

export { PublisherConfigError };

/** Creates the publisher; nothing happens before {@link Publisher.start}. */
export function createPublisher(config: PublisherConfig, deps: PublisherDeps): Publisher {
  const { logger } = deps;
  let cfg: PublisherConfig = config;
  /** What a started publisher runs; undefined before start and when disabled. */
  let parts: Running | undefined;
  let started = false;

  return {
    async start(options = {}) {
      if (started) throw new Error('publisher already started');
      started = true;
      const parsed = publisherConfigSchema.safeParse(config);
      if (!parsed.success) throw new PublisherConfigError(`publisher: ${z.prettifyError(parsed.error)}`);
      cfg = parsed.data;
      if (!cfg.enabled) {
        logger.debug('publisher disabled');
        return;
      }
      parts = await startParts(cfg, deps, options.signal);
      logStarted(cfg, parts, logger);
    },

    async stop() {
      if (parts?.running) await stopParts(cfg, parts, logger);
    },

    status() {
      return publisherStatus(cfg, parts);
    },
  };
}

/** The routing key of the notifications, as Ceilometer's notifier builds it from the topic. */
function routingKey(cfg: PublisherConfig): string {
  return `${cfg.topic}.sample`;
}

/** Logs the broker (password hidden), exchange, release and poll groups of a publisher just started. */
function logStarted(cfg: PublisherConfig, p: Running, logger: Logger): void {
  logger.info(
    {
      broker: describeTransportUrl(p.url),
      exchange: cfg.exchange,
      routing_key: routingKey(cfg),
      release: cfg.ceilometer_release,
      unit_profile: p.unitProfile,
      polls: p.groups.map((g) => ({
        interval: g.interval,
        sources: g.sources,
        meters: g.meters.length,
      })),
    },
    'publisher started',
  );
}

/** Stops a running publisher: the timers, a bounded flush, the rest dropped, the connection closed. */
async function stopParts(cfg: PublisherConfig, p: Running, logger: Logger): Promise<void> {
  await p.scheduler.stop();
  // Flush: send what the broker takes within the bound, then give up the rest.
  await p.sender.flush(cfg.stop_timeout_seconds * 1000);
  p.queue.dropInFlight('shutdown');
  p.queue.dropAll('shutdown');
  await p.transport.close(2000);
  // The registry outlives this publisher: a stopped one must not look stuck (see unregisterGauges).
  p.metrics.unregisterGauges();
  p.running = false;
  logger.info({ published: p.totals.published, dropped: p.totals.dropped }, 'publisher stopped');
}

/** The status snapshot of {@link Publisher.status}; `p` is undefined before start and when disabled. */
function publisherStatus(cfg: PublisherConfig, p: Running | undefined): PublisherStatus {
  return {
    enabled: cfg.enabled,
    running: p?.running ?? false,
    broker: p ? describeTransportUrl(p.url) : null,
    brokerConnected: p?.transport.connected ?? false,
    brokerBlocked: p?.transport.blocked ?? false,
    exchange: cfg.exchange,
    routingKey: routingKey(cfg),
    ceilometerRelease: cfg.ceilometer_release,
    unitProfile: p?.unitProfile ?? 'MB',
    policy: cfg.policy,
    queuedSamples: p?.queue.samples ?? 0,
    maxQueueLength: cfg.max_queue_length,
    samplesPolled: p?.totals.polled ?? 0,
    samplesPublished: p?.totals.published ?? 0,
    samplesDropped: p?.totals.dropped ?? 0,
    polls: (p?.groups ?? []).map((g) => ({
      interval: g.interval,
      sources: g.sources,
      meters: g.meters.map((m) => m.name),
      ...(g.lastPoll !== undefined ? { lastPoll: g.lastPoll } : {}),
      ...(g.lastDurationSeconds !== undefined ? { lastDurationSeconds: g.lastDurationSeconds } : {}),
      ...(g.lastSamples !== undefined ? { lastSamples: g.lastSamples } : {}),
      ...(g.lastError !== undefined ? { lastError: g.lastError } : {}),
    })),
  };
}

/** The units of a started publisher: queue, transport, sender, scheduler, and its counts. */
interface Running {
  readonly url: TransportUrl;
  readonly unitProfile: 'MB' | 'MiB';
  readonly groups: readonly PollGroup[];
  readonly queue: DeliveryQueue;
  readonly transport: AmqpTransport;
  readonly metrics: PublisherMetrics;
  readonly sender: Sender;
  readonly scheduler: PollScheduler;
  readonly totals: Totals;
  running: boolean;
}

/** Samples polled, published and dropped since start, for the status page and the stop log. */
interface Totals {
  polled: number;
  published: number;
  dropped: number;
}

/** What start reads before building the units: the broker and its TLS options, the secret, the poll groups. */
interface Inputs {
  readonly url: TransportUrl;
  readonly tls: TlsConnectionOptions | undefined;
  readonly secret: string;
  readonly unitProfile: 'MB' | 'MiB';
  readonly groups: readonly PollGroup[];
}

/** The delivery side of a started publisher: the queue drained by the sender into the transport. */
interface Delivery {
  readonly queue: DeliveryQueue;
  readonly transport: AmqpTransport;
  readonly metrics: PublisherMetrics;
  readonly sender: Sender;
}

/** Issue 15 item 4: secrets others can read, and a password sent in clear, each a one-line warning. */
async function warnAboutSecrets(cfg: PublisherConfig, url: TransportUrl, logger: Logger): Promise<void> {
  for (const [path, key] of [
    [cfg.transport_url_file, 'publisher.transport_url_file'],
    [cfg.telemetry_secret_file, 'publisher.telemetry_secret_file'],
    [cfg.tls.key_file, 'publisher.tls.key_file'],
  ] as const) {
    const w = path === undefined ? undefined : await secretFileWarning(path, key);
    if (w !== undefined) logger.warn(w);
  }
  const clear = plainTcpPasswordWarning(url, url.tls || cfg.tls.enabled === true);
  if (clear !== undefined) logger.warn(clear);
}

/** Reads the secrets and polling file, then builds and starts the units (the broker is reached in the background). */
async function startParts(
  cfg: PublisherConfig,
  deps: PublisherDeps,
  signal: AbortSignal | undefined,
): Promise<Running> {
  const clock = deps.clock ?? systemClock;
  const inputs = await readInputs(cfg, deps.logger, signal);
  const totals: Totals = { polled: 0, published: 0, dropped: 0 };
  const delivery = createDelivery(cfg, deps, inputs, totals, clock);
  const scheduler = createScheduler(cfg, deps, inputs.secret, delivery, totals, clock);
  scheduler.start(inputs.groups);
  const { url, unitProfile, groups } = inputs;
  return { url, unitProfile, groups, ...delivery, scheduler, totals, running: true };
}

/** Reads the transport URL, telemetry secret, polling file and TLS files, and warns about exposed secrets. */
async function readInputs(
  cfg: PublisherConfig,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<Inputs> {
  const url = await readTransportUrl(cfg, logger, signal);
  const secret = await readTelemetrySecret(cfg, logger, signal);
  const polling = await loadPolling(cfg, signal);
  const release = parseRelease(cfg.ceilometer_release);
  const unitProfile = cfg.unit_profile ?? defaultUnitProfile(release);
  const groups = pollGroups(polling, computeMeters(release, unitProfile), logger);
  const tls = await tlsOptions(cfg, url, logger, signal);
  await warnAboutSecrets(cfg, url, logger);
  return { url, tls, secret, unitProfile, groups };
}

/**
 * Builds the delivery side: the bounded queue (its drops counted in `totals`), the AMQP transport, the
 * publisher metrics (registered in the exporter's registry) and the sender. Nothing is connected yet.
 */
function createDelivery(
  cfg: PublisherConfig,
  deps: PublisherDeps,
  inputs: Inputs,
  totals: Totals,
  clock: Clock,
): Delivery {
  const { logger } = deps;
  // eslint-disable-next-line prefer-const -- assigned once the metrics exist, read by the queue's callback
  let metrics: PublisherMetrics | undefined;
  const queue = new DeliveryQueue({
    maxSamples: cfg.max_queue_length,
    onDrop: (count, reason) => {
      metrics?.samplesDropped.inc({ reason }, count);
      totals.dropped += count;
      logger.warn({ samples: count, reason }, 'samples dropped');
    },
  });
  const transport = (deps.createTransport ?? createAmqpTransport)({
    url: inputs.url,
    tls: inputs.tls,
    exchange: cfg.exchange,
    exchangeDeclare: cfg.exchange_declare,
    routingKey: routingKey(cfg),
    sendTimeoutMs: cfg.send_timeout_seconds * 1000,
    logger,
    clock,
  });
  metrics = registerPublisherMetrics(deps.registry, {
    queueSamples: () => queue.samples,
    queueCapacity: () => cfg.max_queue_length,
    brokerUp: () => transport.connected,
    brokerBlocked: () => transport.blocked,
  });
  const sender = new Sender({
    queue,
    transport,
    metrics,
    logger,
    policy: cfg.policy,
    retryDelayMs: deps.retryDelayMs ?? { min: 1000, max: 30_000 },
    onPublished: (n) => (totals.published += n),
    clock,
  });
  return { queue, transport, metrics, sender };
}

/** Builds the poll scheduler: each cycle's samples go into the queue, then the sender is woken. */
function createScheduler(
  cfg: PublisherConfig,
  deps: PublisherDeps,
  secret: string,
  { queue, metrics, sender }: Delivery,
  totals: Totals,
  clock: Clock,
): PollScheduler {
  return new PollScheduler({
    inspector: deps.inspector,
    logger: deps.logger,
    metrics,
    sampleContext: { source: cfg.source, secret, messageId: createUuid1() },
    host: cfg.host,
    flavorIds: cfg.flavor_ids,
    batchSize: cfg.batch_size,
    reportStoppedInstances: cfg.report_stopped_instance_metrics,
    enqueue: (batch) => {
      queue.push(batch);
    },
    onCycle: (n) => {
      totals.polled += n;
      sender.kick();
    },
    clock,
  });
}
