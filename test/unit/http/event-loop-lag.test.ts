// SPDX-License-Identifier: Apache-2.0
// The nodejs_eventloop_lag_* gauges: the delay alone (not the sampling interval), over the samples since
// the previous scrape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import {
  EVENT_LOOP_LAG_NAMES,
  EVENT_LOOP_MAX_SAMPLES,
  LagSamples,
  delayRecorder,
  lagFigures,
  registerEventLoopLag,
} from '../../../src/http/event-loop-lag.ts';
import { createSelfMetrics } from '../../../src/http/self-metrics.ts';

test('figures of a window: min, max, mean, population standard deviation, nearest-rank percentiles', () => {
  const f = lagFigures(Float64Array.of(4, 1, 3, 2, 10));
  assert.deepEqual(f, {
    min: 0.001,
    max: 0.01,
    mean: 0.004,
    stddev: Math.sqrt((9 + 4 + 1 + 0 + 36) / 5) / 1000,
    p50: 0.003,
    p90: 0.01,
    p99: 0.01,
  });
  assert.equal(lagFigures(new Float64Array(0)), undefined);
  // 100 samples 1..100: the 90th is 90, the 99th 99.
  const f100 = lagFigures(Float64Array.from({ length: 100 }, (_, i) => 100 - i));
  assert.ok(f100);
  assert.deepEqual([f100.p50, f100.p90, f100.p99], [0.05, 0.09, 0.099]);
});

test('a window holds the samples since the previous one; an empty window keeps the previous figures', () => {
  const s = new LagSamples();
  assert.equal(s.take(), undefined, 'nothing recorded yet');
  s.record(5);
  s.record(-0.4); // the timer's millisecond rounding: counts as no delay
  assert.deepEqual([s.take()?.min, s.take()?.max], [0, 0.005]);
  s.record(40);
  const f = s.take();
  assert.deepEqual([f?.min, f?.max], [0.04, 0.04], 'the new window only');
  assert.deepEqual(s.take(), f, 'no sample since: the same figures');
});

test('more samples than the ring holds: the newest are kept, wrapped or not', () => {
  const s = new LagSamples();
  for (let i = 0; i < EVENT_LOOP_MAX_SAMPLES + 10; i++) s.record(i);
  const f = s.take();
  assert.ok(f);
  assert.deepEqual([f.min, f.max], [10 / 1000, (EVENT_LOOP_MAX_SAMPLES + 9) / 1000]);
});

test('a tick records how late it ran: the time since the previous tick less the interval', () => {
  const samples = new LagSamples();
  const times = [0, 1000, 2003, 3003, 4250];
  const tick = delayRecorder(samples, 1000, () => times.shift() ?? Number.NaN);
  for (let i = 0; i < 4; i++) tick();
  const f = samples.take();
  assert.ok(f);
  assert.deepEqual([f.min, f.max, f.p50], [0, 0.247, 0]);
  assert.equal(f.mean, (0 + 3 + 0 + 247) / 4 / 1000);
});

test('the gauges serve the window, each collection taking it once', async () => {
  const registry = new Registry();
  const lag = registerEventLoopLag(registry);
  try {
    lag.samples.record(2);
    lag.samples.record(8);
    const metrics = await registry.getMetricsAsJSON();
    assert.deepEqual(
      metrics.map((m) => m.name),
      EVENT_LOOP_LAG_NAMES,
    );
    const value = (name: string): number =>
      metrics.find((m) => m.name === name)?.values[0]?.value ?? Number.NaN;
    assert.equal(value('nodejs_eventloop_lag_min_seconds'), 0.002);
    assert.equal(value('nodejs_eventloop_lag_max_seconds'), 0.008);
    assert.equal(value('nodejs_eventloop_lag_mean_seconds'), 0.005);
    assert.equal(value('nodejs_eventloop_lag_stddev_seconds'), 0.003);
    assert.equal(value('nodejs_eventloop_lag_p99_seconds'), 0.008);
    // No sample since: the next collection serves the same figures.
    const again = await registry.getMetricsAsJSON();
    assert.equal(again.find((m) => m.name === 'nodejs_eventloop_lag_max_seconds')?.values[0]?.value, 0.008);
  } finally {
    lag.stop();
  }
});

test("the runtime registry serves these gauges, once each, and no longer prom-client's own", async () => {
  const self = createSelfMetrics();
  const names = (await self.runtime.getMetricsAsJSON()).map((m) => m.name);
  for (const n of EVENT_LOOP_LAG_NAMES) assert.equal(names.filter((x) => x === n).length, 1, n);
  const help = (await self.runtime.getMetricsAsJSON()).find(
    (m) => m.name === 'nodejs_eventloop_lag_p99_seconds',
  )?.help;
  assert.match(help ?? '', /how late a timer/);
});
