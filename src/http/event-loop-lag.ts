// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The `nodejs_eventloop_lag_*` gauges, measured here rather than by prom-client's default metrics (whose
 * own gauges of these names src/http/self-metrics.ts removes from the runtime registry).
 *
 * NOTE: why not prom-client's. It reads Node.js's `monitorEventLoopDelay()` histogram, which records the
 * whole time between two ticks of its timer, the sampling interval included. At prom-client's 10 ms
 * interval an idle process reads as 10 ms late; at the 1 s this exporter chose (so that an idle process
 * does not wake a hundred times a second), every figure read about 1.0 s: min 0.9993, p50 1.0003, p99
 * 1.0014 on the lab, plotted as the event loop's p99 lag by the exporter dashboard. Each collection also
 * walked the histogram's buckets five times (mean, standard deviation, three percentiles): 3 % of the CPU
 * of a 50-guest scrape (perf). Here a timer due every second records how late it ran, the delay alone,
 * and a scrape sorts the few samples taken since the previous one.
 */
import { Gauge, type Registry } from 'prom-client';
import { oncePerCollection } from './once-per-collection.ts';

/** How often the delay is sampled, ms: an idle exporter wakes once a second for it. */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** The most samples kept between two scrapes (an hour's worth; older ones are overwritten). */
export const EVENT_LOOP_MAX_SAMPLES = 3600;

/** The figures of one window of samples, seconds. */
export interface LagFigures {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** The gauges' names (prom-client's), with what each shows of a window. */
const FIGURES: readonly [string, keyof LagFigures, string][] = [
  ['nodejs_eventloop_lag_min_seconds', 'min', 'smallest'],
  ['nodejs_eventloop_lag_max_seconds', 'max', 'largest'],
  ['nodejs_eventloop_lag_mean_seconds', 'mean', 'mean'],
  ['nodejs_eventloop_lag_stddev_seconds', 'stddev', 'standard deviation'],
  ['nodejs_eventloop_lag_p50_seconds', 'p50', 'median'],
  ['nodejs_eventloop_lag_p90_seconds', 'p90', '90th percentile'],
  ['nodejs_eventloop_lag_p99_seconds', 'p99', '99th percentile'],
];

/** Every gauge this module registers, by name. */
export const EVENT_LOOP_LAG_NAMES: readonly string[] = [
  'nodejs_eventloop_lag_seconds',
  ...FIGURES.map((f) => f[0]),
];

/** The value at percentile `q` (0–100) of sorted samples: the nearest rank. */
function nearestRank(sorted: Float64Array, q: number): number {
  const i = Math.max(0, Math.ceil((q / 100) * sorted.length) - 1);
  return sorted[i] ?? Number.NaN;
}

/** The figures of `samples`, milliseconds in, seconds out; undefined for none. */
export function lagFigures(samples: Float64Array): LagFigures | undefined {
  const n = samples.length;
  if (n === 0) return undefined;
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  const mean = sum / n;
  let squares = 0;
  for (const x of sorted) squares += (x - mean) ** 2;
  return {
    min: (sorted[0] ?? 0) / 1000,
    max: (sorted[n - 1] ?? 0) / 1000,
    mean: mean / 1000,
    stddev: Math.sqrt(squares / n) / 1000,
    p50: nearestRank(sorted, 50) / 1000,
    p90: nearestRank(sorted, 90) / 1000,
    p99: nearestRank(sorted, 99) / 1000,
  };
}

/**
 * The delays recorded since the last window was taken, in a ring of {@link EVENT_LOOP_MAX_SAMPLES}.
 * A window with no sample (two scrapes less than a second apart) keeps the previous figures.
 */
export class LagSamples {
  readonly #ring = new Float64Array(EVENT_LOOP_MAX_SAMPLES);
  /** Samples recorded since the last window (may exceed the ring: the oldest were overwritten). */
  #count = 0;
  #next = 0;
  #figures: LagFigures | undefined;

  /** Records one delay, ms (negative ones, from the timer's millisecond rounding, count as 0). */
  record(lateMs: number): void {
    this.#ring[this.#next] = Math.max(0, lateMs);
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#count++;
  }

  /** The figures of the samples since the previous call, and starts a new window. */
  take(): LagFigures | undefined {
    if (this.#count === 0) return this.#figures;
    const n = Math.min(this.#count, this.#ring.length);
    const start = (this.#next - n + this.#ring.length) % this.#ring.length;
    const window =
      start + n <= this.#ring.length
        ? this.#ring.subarray(start, start + n)
        : Float64Array.of(...this.#ring.subarray(start), ...this.#ring.subarray(0, this.#next));
    this.#figures = lagFigures(window);
    this.#count = 0;
    return this.#figures;
  }
}

/**
 * The tick of a timer due every `sampleMs`: records how late it ran, from the time between two ticks
 * (Node.js schedules a repeating timer's next run from the time its callbacks were run).
 */
export function delayRecorder(
  samples: LagSamples,
  sampleMs: number,
  now = (): number => performance.now(),
): () => void {
  let last = now();
  return () => {
    const t = now();
    samples.record(t - last - sampleMs);
    last = t;
  };
}

/** What {@link registerEventLoopLag} started: the sampling timer to stop. */
export interface EventLoopLag {
  readonly samples: LagSamples;
  stop(): void;
}

/**
 * Registers the `nodejs_eventloop_lag_*` gauges in `registry` and starts sampling (a timer that does not
 * keep the process alive). `nodejs_eventloop_lag_seconds` keeps prom-client's meaning: how long a
 * callback queued by the previous collection (`setImmediate`) waited.
 */
export function registerEventLoopLag(registry: Registry, sampleMs = EVENT_LOOP_SAMPLE_MS): EventLoopLag {
  const samples = new LagSamples();
  const timer = setInterval(delayRecorder(samples, sampleMs), sampleMs);
  timer.unref();

  // The window is taken once per collection, by whichever gauge is collected first.
  const figures = oncePerCollection(() => samples.take());

  const immediate = new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'How long a callback queued by the previous scrape waited for the event loop, seconds.',
    registers: [registry],
    collect() {
      const queued = performance.now();
      setImmediate(() => {
        immediate.set((performance.now() - queued) / 1000);
      });
    },
  });
  for (const [name, key, what] of FIGURES) {
    const gauge: Gauge = new Gauge({
      name,
      help:
        `Event loop delay (how late a timer due every ${sampleMs / 1000} s ran), ${what} of the samples ` +
        'since the previous scrape, seconds.',
      registers: [registry],
      collect() {
        // Before the first sample (the first second after start) the gauges read 0, as prom-client's did.
        const f = figures();
        if (f !== undefined) gauge.set(f[key]);
      },
    });
  }
  return {
    samples,
    stop: () => {
      clearInterval(timer);
    },
  };
}
