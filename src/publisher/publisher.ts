// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The Ceilometer side-publisher: polls the local libvirt domains on the intervals of a Ceilometer
 * polling.yaml and publishes the samples the real compute agent (ceilometer-polling) would publish,
 * to the same exchange, in the same notifications. A broker outage never blocks or fails a poll:
 * samples wait in a bounded queue and go out in order when the broker is back.
 */
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
  const routingKey = (): string => `${cfg.topic}.sample`;

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
      logger.info(
        {
          broker: describeTransportUrl(parts.url),
          exchange: cfg.exchange,
          routing_key: routingKey(),
          release: cfg.ceilometer_release,
          unit_profile: parts.unitProfile,
          polls: parts.groups.map((g) => ({
            interval: g.interval,
            sources: g.sources,
            meters: g.meters.length,
          })),
        },
        'publisher started',
      );
    },

    async stop() {
      const p = parts;
      if (!p?.running) return;
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
    },

    status() {
      const p = parts;
      return {
        enabled: cfg.enabled,
        running: p?.running ?? false,
        broker: p ? describeTransportUrl(p.url) : null,
        brokerConnected: p?.transport.connected ?? false,
        brokerBlocked: p?.transport.blocked ?? false,
        exchange: cfg.exchange,
        routingKey: routingKey(),
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
    },
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
  readonly totals: { polled: number; published: number; dropped: number };
  running: boolean;
}

/** Reads the secrets and polling file, then builds and starts the units (the broker is reached in the background). */
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

async function startParts(
  cfg: PublisherConfig,
  deps: PublisherDeps,
  signal: AbortSignal | undefined,
): Promise<Running> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const url = await readTransportUrl(cfg, logger, signal);
  const secret = await readTelemetrySecret(cfg, logger, signal);
  const polling = await loadPolling(cfg, signal);
  const release = parseRelease(cfg.ceilometer_release);
  const unitProfile = cfg.unit_profile ?? defaultUnitProfile(release);
  const groups = pollGroups(polling, computeMeters(release, unitProfile), logger);
  const tls = await tlsOptions(cfg, url, logger, signal);
  await warnAboutSecrets(cfg, url, logger);
  const totals = { polled: 0, published: 0, dropped: 0 };
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
    url,
    tls,
    exchange: cfg.exchange,
    exchangeDeclare: cfg.exchange_declare,
    routingKey: `${cfg.topic}.sample`,
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
  const scheduler = new PollScheduler({
    inspector: deps.inspector,
    logger,
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
  scheduler.start(groups);
  return { url, unitProfile, groups, queue, transport, metrics, sender, scheduler, totals, running: true };
}
