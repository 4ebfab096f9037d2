// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The Ceilometer side-publisher: polls the local libvirt domains on the intervals of a Ceilometer
 * polling.yaml and publishes the samples the real compute agent (ceilometer-polling) would publish,
 * to the same exchange, in the same notifications. A broker outage never blocks or fails a poll:
 * samples wait in a bounded queue and go out in order when the broker is back.
 */
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';

import type { Inspector, StatsGroup } from '../inspector/types.ts';
import { deadline } from '../libvirt/signals.ts';
import {
  amqpErrorCode,
  type AmqpTransport,
  type AmqpTransportOptions,
  createAmqpTransport,
} from './amqp-transport.ts';
import { CEILOMETER_DEFAULT_SECRET, type PublisherConfig, publisherConfigSchema } from './config.ts';
import { DeliveryQueue } from './delivery-queue.ts';
import { createUuid1, monotonicSeconds } from './ids.ts';
import { defaultUnitProfile, parseRelease, type PublisherMeter, publisherMeters } from './meters.ts';
import { type PublisherMetrics, registerPublisherMetrics } from './metrics.ts';
import { batchSamples, buildNotificationBody } from './notification.ts';
import { groupByInterval, loadPollingFile, type PollingConfig, parsePollingConfig } from './polling.ts';
import {
  buildMeterSamples,
  discoverInstances,
  prepareCycle,
  type SampleContext,
  VnicDeltaTracker,
} from './samples.ts';
import { STOPPED_INSTANCE_METERS, stoppedCycle } from './stopped.ts';
import { describeTransportUrl, parseTransportUrl, type TransportUrl } from './transport-url.ts';

/** What the exporter hands the publisher. */
export interface PublisherDeps {
  readonly inspector: Inspector;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Replaces the AMQP transport (tests); default: rabbitmq-client. */
  readonly createTransport?: (options: AmqpTransportOptions) => AmqpTransport;
  /** Retry backoff bounds of a failed send in ms (tests shorten them); default 1000 to 30000. */
  readonly retryDelayMs?: { readonly min: number; readonly max: number };
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
  readonly brokerConnected: boolean;
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

/** A configuration the publisher cannot run with (bad key, unreadable file, bad URL); the message says which. */
export class PublisherConfigError extends Error {
  override readonly name = 'PublisherConfigError';
}

async function readSecretFile(path: string, key: string, signal: AbortSignal | undefined): Promise<string> {
  try {
    const text = await readFile(path, { encoding: 'utf8', ...(signal ? { signal } : {}) });
    return text.replace(/[\r\n]+$/, '');
  } catch (err) {
    throw new PublisherConfigError(
      `publisher.${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

async function readTlsFile(path: string, key: string, signal: AbortSignal | undefined): Promise<Buffer> {
  try {
    return await readFile(path, signal ? { signal } : {});
  } catch (err) {
    throw new PublisherConfigError(
      `publisher.tls.${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

interface PollGroup {
  readonly interval: number;
  readonly sources: readonly string[];
  readonly meters: readonly PublisherMeter[];
  /** Stats groups to ask for; undefined = the inspector's default. */
  readonly groups: readonly StatsGroup[] | undefined;
  lastPoll?: string;
  lastDurationSeconds?: number;
  lastSamples?: number;
  lastError?: string;
}

/** The stats groups of a cycle that polls perf meters. */
const PERF_GROUPS: readonly StatsGroup[] = ['state', 'cpu', 'balloon', 'vcpu', 'interface', 'block', 'perf'];

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

/** Creates the publisher; nothing happens before {@link Publisher.start}. */
export function createPublisher(config: PublisherConfig, deps: PublisherDeps): Publisher {
  const { inspector, registry } = deps;
  const logger = deps.logger;
  let started = false;
  let running = false;
  let stopping = false;
  let hardStop = false;
  let cfg: PublisherConfig = config;
  let transportUrl: TransportUrl | undefined;
  let transport: AmqpTransport | undefined;
  let metrics: PublisherMetrics | undefined;
  let queue: DeliveryQueue | undefined;
  let groups: PollGroup[] = [];
  let unitProfile: 'MB' | 'MiB' = 'MB';
  let resolvedHost: string | undefined;
  let sampleContext: SampleContext | undefined;
  let drainPromise: Promise<void> | undefined;
  const timers = new Set<NodeJS.Timeout>();
  const cycles = new Set<Promise<void>>();
  const stopController = new AbortController();
  const sendController = new AbortController();
  const deltas = new VnicDeltaTracker();
  const reportedDomains = new Set<string>();
  const totals = { polled: 0, published: 0, dropped: 0 };
  const routingKey = (): string => `${cfg.topic}.sample`;
  // NOTE: read through a function: TypeScript narrows the flag at the loop's top and would not see
  // stop() setting it during an await.
  const isHardStop = (): boolean => hardStop;

  async function resolveHost(signal: AbortSignal): Promise<string> {
    if (resolvedHost !== undefined) return resolvedHost;
    // NOTE: Ceilometer's [DEFAULT] host defaults to the hostname, which is what libvirt reports too.
    const info = await inspector.hostInfo({ signal });
    resolvedHost = info.hostname;
    return resolvedHost;
  }

  function kick(): void {
    if (drainPromise || !queue || hardStop) return;
    drainPromise = drain().finally(() => {
      drainPromise = undefined;
      // Batches pushed while the loop was finishing would otherwise wait for the next cycle.
      if (queue && queue.length > 0 && !hardStop && !stopping) kick();
    });
  }

  async function drain(): Promise<void> {
    if (!queue || !transport || !metrics) return;
    const retry = deps.retryDelayMs ?? { min: 1000, max: 30_000 };
    let backoffMs = retry.min;
    let failuresOfHead = 0;
    let failing = false;
    for (;;) {
      if (hardStop) return;
      if (stopping && !transport.ready) return;
      const batch = queue.take();
      if (!batch) return;
      if (cfg.policy === 'drop' && !transport.ready) {
        // Ceilometer's 'drop' policy: what cannot be sent now is discarded, never held.
        queue.dropInFlight('broker_unavailable');
        queue.dropAll('broker_unavailable');
        continue;
      }
      const count = batch.samples.length;
      try {
        await transport.send(buildNotificationBody(batch.samples), { signal: sendController.signal });
        queue.done();
        metrics.samplesPublished.inc({ meter: batch.meter }, count);
        metrics.notificationsPublished.inc();
        totals.published += count;
        if (failing) logger.info('publishing again');
        failing = false;
        backoffMs = retry.min;
        failuresOfHead = 0;
      } catch (err) {
        metrics.sendFailures.inc();
        const code = amqpErrorCode(err);
        const message = err instanceof Error ? err.message : String(err);
        logger[failing ? 'debug' : 'warn'](
          { err: message, code, meter: batch.meter, samples: count },
          'publish failed',
        );
        failing = true;
        if (isHardStop()) {
          queue.release();
          return;
        }
        if (cfg.policy === 'drop') {
          queue.dropInFlight('broker_unavailable');
          queue.dropAll('broker_unavailable');
          continue;
        }
        // A broker that is up but keeps refusing one message (nack, frame or size limit) would block
        // the queue forever: give that message up after a few tries. A missing exchange (passive
        // declare before the notification agent created it) is an outage, not a refusal.
        if (transport.ready && code !== 'NOT_FOUND' && ++failuresOfHead >= 5) {
          logger.error(
            { err: message, code, meter: batch.meter, samples: count },
            'broker keeps refusing a notification, dropping it',
          );
          queue.dropInFlight('rejected');
          failuresOfHead = 0;
          continue;
        }
        queue.release();
        if (stopping) return;
        if (transport.ready) await sleep(backoffMs, stopController.signal);
        else await transport.waitReady(backoffMs, { signal: stopController.signal });
        backoffMs = Math.min(backoffMs * 2, retry.max);
      }
    }
  }

  function reportUndiscovered(list: ReturnType<typeof discoverInstances>['undiscovered']): void {
    for (const d of list) {
      if (d.reason !== 'incomplete-nova-metadata' || reportedDomains.has(d.uuid)) continue;
      reportedDomains.add(d.uuid);
      // Ceilometer logs "Fail to get domain uuid … metadata was missing expected attributes" and skips it.
      logger.warn(
        { domain: d.name, instance_id: d.uuid, detail: d.detail },
        'nova metadata incomplete, domain not published',
      );
    }
  }

  async function runCycle(group: PollGroup): Promise<void> {
    if (!queue || !metrics || !sampleContext) return;
    const t0 = performance.now();
    const startedAt = new Date();
    // NOTE: not AbortSignal.any([…, AbortSignal.timeout()]), whose timeout garbage collection can lose.
    const bound = deadline(group.interval * 1000, stopController.signal);
    const { signal } = bound;
    try {
      const host = cfg.host ?? (await resolveHost(signal));
      // One inspection per cycle, shared by every meter of the cycle (Ceilometer's per-cycle cache).
      const inspection = await inspector.inspectAll({
        signal,
        ...(group.groups ? { groups: group.groups } : {}),
      });
      const monotonicTime = monotonicSeconds();
      const { discovered, undiscovered } = discoverInstances(inspection, { host, flavorIds: cfg.flavor_ids });
      reportUndiscovered(undiscovered);
      const pollsVnics = group.meters.some((m) => m.scope === 'vnic');
      const cycle = prepareCycle(inspection, discovered, pollsVnics ? deltas : undefined, monotonicTime);
      const stopped = await stoppedCycle(cfg.report_stopped_instance_metrics, inspector, cycle, signal);
      let built = 0;
      for (const meter of group.meters) {
        if (stopping) break;
        let samples;
        try {
          samples = buildMeterSamples(
            sampleContext,
            meter,
            stopped && STOPPED_INSTANCE_METERS.has(meter.name) ? stopped : cycle,
          );
        } catch (err) {
          // Ceilometer: "Continue after error from <pollster>".
          logger.error({ err, meter: meter.name }, 'building samples failed');
          continue;
        }
        if (samples.length === 0) continue;
        built += samples.length;
        metrics.samplesPolled.inc({ meter: meter.name }, samples.length);
        totals.polled += samples.length;
        // One notification per meter per cycle, split into batch_size chunks.
        for (const chunk of batchSamples(samples, cfg.batch_size))
          queue.push({ meter: meter.name, samples: chunk });
      }
      kick();
      const seconds = (performance.now() - t0) / 1000;
      for (const source of group.sources) {
        metrics.polls.inc({ source, result: 'success' });
        metrics.pollDuration.set({ source }, seconds);
        metrics.pollTimestamp.set({ source }, startedAt.getTime() / 1000);
      }
      group.lastPoll = startedAt.toISOString();
      group.lastDurationSeconds = seconds;
      group.lastSamples = built;
      delete group.lastError;
      logger.debug(
        { interval: group.interval, samples: built, instances: discovered.length, duration_seconds: seconds },
        'poll done',
      );
    } catch (err) {
      const seconds = (performance.now() - t0) / 1000;
      for (const source of group.sources) {
        metrics.polls.inc({ source, result: 'error' });
        metrics.pollDuration.set({ source }, seconds);
      }
      group.lastPoll = startedAt.toISOString();
      group.lastDurationSeconds = seconds;
      group.lastError = err instanceof Error ? err.message : String(err);
      if (!stopping) logger.warn({ err, interval: group.interval }, 'poll failed');
    } finally {
      bound.clear();
    }
  }

  function schedule(group: PollGroup, delayMs: number): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopping) return;
      const t0 = performance.now();
      const p = runCycle(group);
      cycles.add(p);
      void p.finally(() => {
        cycles.delete(p);
        // Non-overlapping: the next cycle is armed when this one is done, one interval after it started
        // (futurist's periodic spacing); a cycle longer than the interval is followed at once.
        if (!stopping) schedule(group, Math.max(0, group.interval * 1000 - (performance.now() - t0)));
      });
    }, delayMs);
    timer.unref();
    timers.add(timer);
  }

  async function loadPolling(c: PublisherConfig, signal: AbortSignal | undefined): Promise<PollingConfig> {
    try {
      if (c.polling_file !== undefined)
        return await loadPollingFile(c.polling_file, signal ? { signal } : {});
      return parsePollingConfig(c.polling, 'publisher.polling');
    } catch (err) {
      throw new PublisherConfigError((err as Error).message, { cause: err });
    }
  }

  async function tlsOptions(
    c: PublisherConfig,
    url: TransportUrl,
    signal: AbortSignal | undefined,
  ): Promise<TlsConnectionOptions | undefined> {
    const enabled = url.tls || c.tls.enabled === true;
    const files = [c.tls.ca_file, c.tls.cert_file, c.tls.key_file].filter((f) => f !== undefined);
    if (!enabled) {
      if (files.length > 0)
        logger.warn(
          'publisher.tls files are set but TLS is off (add ?ssl=1 to transport_url or set tls.enabled)',
        );
      return undefined;
    }
    if ((c.tls.cert_file === undefined) !== (c.tls.key_file === undefined)) {
      throw new PublisherConfigError('publisher.tls: cert_file and key_file go together');
    }
    return {
      ...(c.tls.ca_file !== undefined ? { ca: await readTlsFile(c.tls.ca_file, 'ca_file', signal) } : {}),
      ...(c.tls.cert_file !== undefined
        ? { cert: await readTlsFile(c.tls.cert_file, 'cert_file', signal) }
        : {}),
      ...(c.tls.key_file !== undefined ? { key: await readTlsFile(c.tls.key_file, 'key_file', signal) } : {}),
      ...(c.tls.server_name !== undefined ? { servername: c.tls.server_name } : {}),
      rejectUnauthorized: !c.tls.insecure_skip_verify,
    };
  }

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
      const signal = options.signal;

      const rawUrl =
        cfg.transport_url_file !== undefined
          ? await readSecretFile(cfg.transport_url_file, 'transport_url_file', signal)
          : (cfg.transport_url ?? '');
      try {
        transportUrl = parseTransportUrl(rawUrl);
      } catch (err) {
        const where =
          cfg.transport_url_file !== undefined
            ? `transport_url_file ${cfg.transport_url_file}`
            : 'transport_url';
        throw new PublisherConfigError(`publisher.${where}: ${(err as Error).message}`, { cause: err });
      }
      if (transportUrl.otherParams.length > 0) {
        logger.warn({ params: transportUrl.otherParams }, 'transport_url options other than ssl are ignored');
      }
      let secret: string;
      if (cfg.telemetry_secret_file !== undefined)
        secret = await readSecretFile(cfg.telemetry_secret_file, 'telemetry_secret_file', signal);
      else if (cfg.telemetry_secret !== undefined) secret = cfg.telemetry_secret;
      else {
        logger.warn("no telemetry_secret configured: signing with Ceilometer's default secret");
        secret = CEILOMETER_DEFAULT_SECRET;
      }

      const polling = await loadPolling(cfg, signal);
      const release = parseRelease(cfg.ceilometer_release);
      unitProfile = cfg.unit_profile ?? defaultUnitProfile(release);
      const meters = publisherMeters(release, unitProfile);
      const byName = new Map(meters.map((m) => [m.name, m]));
      for (const s of polling.sources) {
        if (s.resources.length > 0 || s.discovery.length > 0) {
          logger.warn(
            { source: s.name },
            'polling source resources/discovery are ignored: the publisher always polls the local libvirt domains',
          );
        }
        // Exact names this publisher does not produce (hardware.*, central-agent meters, other releases).
        const unknown = s.meters.filter((p) => !/[*?[!]/.test(p) && !byName.has(p));
        if (unknown.length > 0)
          logger.info({ source: s.name, meters: unknown }, 'meters not produced by this publisher');
      }
      groups = groupByInterval(
        polling,
        meters.map((m) => m.name),
      ).map((g) => {
        const selected = g.meters
          .map((n) => byName.get(n))
          .filter((m): m is PublisherMeter => m !== undefined);
        // NOTE: the real agent reads every stats group (domainListGetStats with stats=0); perf
        // counters are read only when a perf meter is polled, the inspector's default covers the rest.
        const perf = selected.some((m) => m.origin.startsWith('companion:perf.'));
        return {
          interval: g.interval,
          sources: g.sources,
          meters: selected,
          groups: perf ? PERF_GROUPS : undefined,
        };
      });
      if (groups.length === 0)
        logger.warn('the polling configuration selects no meter this publisher produces');

      const tls = await tlsOptions(cfg, transportUrl, signal);
      queue = new DeliveryQueue({
        maxSamples: cfg.max_queue_length,
        onDrop: (count, reason) => {
          metrics?.samplesDropped.inc({ reason }, count);
          totals.dropped += count;
          logger.warn({ samples: count, reason }, 'samples dropped');
        },
      });
      const q = queue;
      const make = deps.createTransport ?? createAmqpTransport;
      transport = make({
        url: transportUrl,
        tls,
        exchange: cfg.exchange,
        exchangeDeclare: cfg.exchange_declare,
        routingKey: routingKey(),
        sendTimeoutMs: cfg.send_timeout_seconds * 1000,
        logger,
      });
      const t = transport;
      metrics = registerPublisherMetrics(registry, {
        queueSamples: () => q.samples,
        queueCapacity: () => cfg.max_queue_length,
        brokerUp: () => t.ready,
      });
      sampleContext = { source: cfg.source, secret, messageId: createUuid1() };
      running = true;
      // First poll at start-up (futurist run_immediately=True), then every interval.
      for (const g of groups) schedule(g, 0);
      logger.info(
        {
          broker: describeTransportUrl(transportUrl),
          exchange: cfg.exchange,
          routing_key: routingKey(),
          release: cfg.ceilometer_release,
          unit_profile: unitProfile,
          polls: groups.map((g) => ({ interval: g.interval, sources: g.sources, meters: g.meters.length })),
        },
        'publisher started',
      );
    },

    async stop() {
      if (!running) return;
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      stopController.abort(new Error('publisher stopping'));
      await Promise.allSettled([...cycles]);
      // Flush: send what the broker takes within the bound, then give up the rest.
      kick();
      const deadline = sleep(cfg.stop_timeout_seconds * 1000);
      await Promise.race([drainPromise ?? Promise.resolve(), deadline]);
      hardStop = true;
      sendController.abort(new Error('publisher stopped'));
      await drainPromise?.catch(() => undefined);
      if (queue) {
        queue.dropInFlight('shutdown');
        queue.dropAll('shutdown');
      }
      await transport?.close(2000);
      // The registry outlives this publisher: a stopped one must not look stuck (see unregisterGauges).
      metrics?.unregisterGauges();
      running = false;
      logger.info({ published: totals.published, dropped: totals.dropped }, 'publisher stopped');
    },

    status() {
      return {
        enabled: cfg.enabled,
        running,
        broker: transportUrl ? describeTransportUrl(transportUrl) : null,
        brokerConnected: transport?.ready ?? false,
        exchange: cfg.exchange,
        routingKey: routingKey(),
        ceilometerRelease: cfg.ceilometer_release,
        unitProfile,
        policy: cfg.policy,
        queuedSamples: queue?.samples ?? 0,
        maxQueueLength: cfg.max_queue_length,
        samplesPolled: totals.polled,
        samplesPublished: totals.published,
        samplesDropped: totals.dropped,
        polls: groups.map((g) => ({
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
