// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The poll scheduler: one timer per polling interval (sources of one interval share a cycle, as in
 * Ceilometer), the first cycle at start-up, the next one interval after the previous one started, never
 * overlapping. A cycle makes one inspection, builds the samples of every meter of its group and hands
 * them, one notification per meter split into batch_size chunks, to `enqueue`. Its state: the timers,
 * the cycles in flight, and per group the outcome of the last cycle (for the landing page).
 */
import type { Logger } from 'pino';

import type { Inspector, StatsGroup } from '../inspector/types.ts';
import { systemClock, type Clock } from '../libvirt/index.ts';
import { clockDeadline } from '../libvirt/index.ts';
import type { QueuedBatch } from './delivery-queue.ts';
import { prepareCycle, VnicDeltaTracker } from '../ceilometer/cycle.ts';
import { discoverInstances } from '../ceilometer/discovery.ts';
import { monotonicSeconds } from '../ceilometer/ids.ts';
import { type SampleContext, sampleMessages } from '../ceilometer/message.ts';
import { batchSamples } from '../ceilometer/notification.ts';
import { meterSamples } from '../ceilometer/samples.ts';
import { STOPPED_INSTANCE_METERS, stoppedCycle } from '../ceilometer/stopped.ts';
import type { ComputeMeter } from '../ceilometer/types.ts';
import type { PublisherMetrics } from './metrics.ts';

/** The meters polled on one interval, and how its last cycle went. */
export interface PollGroup {
  readonly interval: number;
  readonly sources: readonly string[];
  readonly meters: readonly ComputeMeter[];
  /** Stats groups to ask for; undefined = the inspector's default. */
  readonly groups: readonly StatsGroup[] | undefined;
  lastPoll?: string;
  lastDurationSeconds?: number;
  lastSamples?: number;
  lastError?: string;
}

/** Options of {@link PollScheduler}. */
export interface PollSchedulerOptions {
  readonly inspector: Inspector;
  readonly logger: Logger;
  readonly metrics: PublisherMetrics;
  readonly sampleContext: SampleContext;
  /** Configured host (`publisher.host`); undefined = libvirt's hostname. */
  readonly host: string | undefined;
  readonly flavorIds: Readonly<Record<string, string>>;
  readonly batchSize: number;
  /** Ceilometer's `[compute] report_stopped_instance_metrics`: samples for shut-off guests too. */
  readonly reportStoppedInstances: boolean;
  /** Takes the notifications of a cycle (the delivery queue). */
  readonly enqueue: (batch: QueuedBatch) => void;
  /** Told once per cycle that produced samples (the sender's kick) and the number of samples. */
  readonly onCycle: (samples: number) => void;
  /** Times the cycles, their spacing and their deadline (default: the system clock; tests advance their own). */
  readonly clock?: Clock;
}

/** Runs the poll cycles of the groups until {@link stop}. */
export class PollScheduler {
  readonly #o: PollSchedulerOptions;
  readonly #clock: Clock;
  /** Cancels the armed timers. */
  readonly #timers = new Set<() => void>();
  readonly #cycles = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  readonly #deltas = new VnicDeltaTracker();
  readonly #reported = new Set<string>();
  #stopping = false;
  #host: string | undefined;

  constructor(options: PollSchedulerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#host = options.host;
  }

  /** Arms every group: the first cycle now (futurist run_immediately=True), then every interval. */
  start(groups: readonly PollGroup[]): void {
    for (const g of groups) this.#schedule(g, 0);
  }

  /** Clears the timers, aborts the cycles in flight and waits for them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
    this.#stop.abort(new Error('publisher stopping'));
    await Promise.allSettled([...this.#cycles]);
  }

  #schedule(group: PollGroup, delayMs: number): void {
    const cancel = this.#clock.setTimer(() => {
      this.#timers.delete(cancel);
      if (this.#stopping) return;
      const t0 = this.#clock.now();
      const p = this.#runCycle(group);
      this.#cycles.add(p);
      void p.finally(() => {
        this.#cycles.delete(p);
        // Non-overlapping: the next cycle is armed when this one is done, one interval after it started
        // (futurist's periodic spacing); a cycle longer than the interval is followed at once.
        if (!this.#stopping)
          this.#schedule(group, Math.max(0, group.interval * 1000 - (this.#clock.now() - t0)));
      });
    }, delayMs);
    this.#timers.add(cancel);
  }

  async #resolveHost(signal: AbortSignal): Promise<string> {
    // NOTE: Ceilometer's [DEFAULT] host defaults to the hostname, which is what libvirt reports too.
    this.#host ??= (await this.#o.inspector.hostInfo({ signal })).hostname;
    return this.#host;
  }

  async #runCycle(group: PollGroup): Promise<void> {
    const { metrics, logger } = this.#o;
    const t0 = this.#clock.now();
    // A wall-clock timestamp for the metric and the landing page; durations come from the clock.
    const startedAt = new Date();
    // NOTE: not AbortSignal.any([…, AbortSignal.timeout()]), whose timeout garbage collection can lose.
    const bound = clockDeadline(this.#clock, group.interval * 1000, this.#stop.signal);
    try {
      const { built, instances } = await this.#poll(group, bound.signal);
      const seconds = (this.#clock.now() - t0) / 1000;
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
        { interval: group.interval, samples: built, instances, duration_seconds: seconds },
        'poll done',
      );
    } catch (err) {
      const seconds = (this.#clock.now() - t0) / 1000;
      for (const source of group.sources) {
        metrics.polls.inc({ source, result: 'error' });
        metrics.pollDuration.set({ source }, seconds);
      }
      group.lastPoll = startedAt.toISOString();
      group.lastDurationSeconds = seconds;
      group.lastError = err instanceof Error ? err.message : String(err);
      if (!this.#stopping) logger.warn({ err, interval: group.interval }, 'poll failed');
    } finally {
      bound.clear();
    }
  }

  /** One inspection, the samples of every meter of the group, queued. */
  async #poll(group: PollGroup, signal: AbortSignal): Promise<{ built: number; instances: number }> {
    const { logger, metrics } = this.#o;
    const host = await this.#resolveHost(signal);
    // One inspection per cycle, shared by every meter of the cycle (Ceilometer's per-cycle cache).
    const inspection = await this.#o.inspector.inspectAll({
      signal,
      ...(group.groups ? { groups: group.groups } : {}),
    });
    const monotonicTime = monotonicSeconds();
    const { discovered, undiscovered } = discoverInstances(inspection, {
      host,
      flavorIds: this.#o.flavorIds,
    });
    this.#reportUndiscovered(undiscovered);
    const pollsVnics = group.meters.some((m) => m.scope === 'vnic');
    const cycle = prepareCycle(inspection, discovered, pollsVnics ? this.#deltas : undefined, monotonicTime);
    const stopped = await stoppedCycle(this.#o.reportStoppedInstances, this.#o.inspector, cycle, signal);
    let built = 0;
    for (const meter of group.meters) {
      if (this.#stopping) break;
      let samples;
      try {
        const from = stopped && STOPPED_INSTANCE_METERS.has(meter.name) ? stopped : cycle;
        samples = sampleMessages(this.#o.sampleContext, meterSamples(meter, from));
      } catch (err) {
        // Ceilometer: "Continue after error from <pollster>".
        logger.error({ err, meter: meter.name }, 'building samples failed');
        continue;
      }
      if (samples.length === 0) continue;
      built += samples.length;
      metrics.samplesPolled.inc({ meter: meter.name }, samples.length);
      // One notification per meter per cycle, split into batch_size chunks.
      for (const chunk of batchSamples(samples, this.#o.batchSize))
        this.#o.enqueue({ meter: meter.name, samples: chunk });
    }
    this.#o.onCycle(built);
    return { built, instances: discovered.length };
  }

  #reportUndiscovered(list: ReturnType<typeof discoverInstances>['undiscovered']): void {
    for (const d of list) {
      if (d.reason !== 'incomplete-nova-metadata' || this.#reported.has(d.uuid)) continue;
      this.#reported.add(d.uuid);
      // Ceilometer logs "Fail to get domain uuid … metadata was missing expected attributes" and skips it.
      this.#o.logger.warn(
        { domain: d.name, instance_id: d.uuid, detail: d.detail },
        'nova metadata incomplete, domain not published',
      );
    }
  }
}
