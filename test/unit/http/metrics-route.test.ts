// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../../src/app.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import type { Inspection, InspectOptions, Inspector } from '../../../src/inspector/types.ts';
import { collectorRegistry } from '../../../src/collectors/index.ts';
import { registerMetricsRoute } from '../../../src/http/metrics-route.ts';
import { createSelfMetrics } from '../../../src/http/self-metrics.ts';
import { fixtureClient } from '../../helpers/fixture-client.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

/**
 * The fixture inspector behind a gate: each inspection waits until the test opens the gate, or until its
 * deadline ends it. Nothing here waits for real time, so the outcome does not depend on the machine's load.
 */
function gated(): Inspector & { started: number; signals: AbortSignal[]; open: () => void } {
  const inner = new LibvirtInspector({ client: fixtureClient() });
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const inspector = {
    started: 0,
    /** The signal of each inspection, in order. */
    signals: [] as AbortSignal[],
    open: () => {
      openGate();
    },
    connected: true,
    listInstances: (o?: InspectOptions) => inner.listInstances(o),
    hostInfo: (o?: InspectOptions) => inner.hostInfo(o),
    close: () => inner.close(),
    async inspectAll(o: InspectOptions = {}): Promise<Inspection> {
      inspector.started++;
      if (o.signal !== undefined) inspector.signals.push(o.signal);
      await new Promise<void>((resolve, reject) => {
        void gate.then(resolve);
        o.signal?.addEventListener('abort', () => {
          reject(new Error('deadline'));
        });
      });
      return inner.inspectAll(o);
    },
  };
  return inspector;
}

/** The metrics route alone on a bare Fastify, its deadline on `clock` (a 60 s bound, a 200 ms offset). */
function routeOnly(inspector: Inspector, clock: ManualClock, self: ReturnType<typeof createSelfMetrics>) {
  const app = Fastify();
  registerMetricsRoute(
    app,
    {
      config: loadConfig(undefined, { 'scrape.timeout': '60s', 'scrape.timeout_offset': '200ms' }),
      inspector,
      logger: pino({ level: 'silent' }),
      clock,
    },
    self,
    collectorRegistry,
  );
  return app;
}

test('scrapes beyond web.max_requests_in_flight are answered 503 at once', { timeout: 30_000 }, async () => {
  const inspector = gated();
  const app = await buildApp({
    config: loadConfig(undefined, { 'web.max_requests_in_flight': 2 }),
    inspector,
    logger: pino({ level: 'silent' }),
  });
  const answered: { statusCode: number; headers: Record<string, unknown> }[] = [];
  const requests = [1, 2, 3, 4].map(() => app.inject({ url: '/metrics' }).then((r) => answered.push(r)));
  // Two scrapes wait at the closed gate; the two beyond the limit must be answered meanwhile.
  while (answered.length < 2) await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    answered.map((r) => r.statusCode),
    [503, 503],
  );
  assert.equal(answered[0]?.headers['retry-after'], '1');
  inspector.open();
  await Promise.all(requests);
  assert.deepEqual(
    answered.map((r) => r.statusCode),
    [503, 503, 200, 200],
  );
  const after = await app.inject({ url: '/metrics' });
  assert.match(after.body, /^libvirt_exporter_scrapes_total\{result="rejected"\} 2$/m);
  await app.close();
});

test(
  'the deadline from X-Prometheus-Scrape-Timeout-Seconds ends a slow inspection at header minus offset: 200 with libvirt_up 0',
  { timeout: 30_000 },
  async () => {
    // The gate never opens and the exporter's own bound is a minute: only the deadline taken from
    // Prometheus' header (5 s minus the 200 ms offset) can end this scrape. The route's deadline runs on
    // a ManualClock: the test moves time, nothing waits for real milliseconds.
    const clock = new ManualClock();
    const inspector = gated();
    const app = routeOnly(inspector, clock, createSelfMetrics());
    const answer = app.inject({ url: '/metrics', headers: { 'x-prometheus-scrape-timeout-seconds': '5' } });
    while (inspector.signals.length === 0) await new Promise((r) => setImmediate(r));
    const [signal] = inspector.signals;
    assert.ok(signal);
    clock.advance(4799);
    assert.equal(signal.aborted, false, 'still waiting 1 ms before the deadline');
    clock.advance(1);
    assert.equal(signal.aborted, true, 'ended at 4800 ms');
    const r = await answer;
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /^libvirt_up 0$/m);
    await app.close();
  },
);

test('landing page, health and an unknown path', async () => {
  const app = await buildApp({
    config: loadConfig(undefined),
    inspector: new LibvirtInspector({ client: fixtureClient() }),
    logger: pino({ level: 'silent' }),
  });
  const landing = await app.inject({ url: '/' });
  assert.equal(landing.statusCode, 200);
  assert.match(landing.body, /<a href="\/metrics">/);
  assert.match(landing.body, /<td>job<\/td><td>disabled<\/td>/);
  assert.equal((await app.inject({ url: '/-/healthy' })).statusCode, 200);
  assert.equal((await app.inject({ url: '/-/ready' })).statusCode, 200);
  assert.equal((await app.inject({ url: '/nope' })).statusCode, 404);
  const withBody = await app.inject({
    method: 'GET',
    url: '/metrics',
    payload: 'x',
    headers: { 'content-type': 'text/plain' },
  });
  assert.equal(withBody.statusCode, 400, 'a GET with a body is refused');
  await app.close();
});

test(
  'concurrent scrapes share one body: same collectors and format join the one in flight, a shorter deadline or other collectors scrape on their own, nothing is kept afterwards',
  { timeout: 30_000 },
  async () => {
    const clock = new ManualClock();
    const inspector = gated();
    const self = createSelfMetrics();
    const app = routeOnly(inspector, clock, self);
    const waitStarted = async (n: number): Promise<void> => {
      while (inspector.started < n) await new Promise((r) => setImmediate(r));
    };
    const first = app.inject({ url: '/metrics' });
    await waitStarted(1);
    // Same collectors, format and deadline: they wait for the first body.
    const joined1 = app.inject({ url: '/metrics' });
    const joined2 = app.inject({ url: '/metrics' });
    // A deadline earlier than the first's: it must not wait past it, so it scrapes on its own.
    const shorter = app.inject({ url: '/metrics', headers: { 'x-prometheus-scrape-timeout-seconds': '5' } });
    await waitStarted(2);
    // Other collectors, or OpenMetrics: another body.
    const other = app.inject({ url: '/metrics?collect[]=cpu' });
    await waitStarted(3);
    const om = app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text' } });
    await waitStarted(4);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(inspector.started, 4, 'the two joined requests started no inspection');
    inspector.open();
    const [a, b, c] = await Promise.all([first, joined1, joined2]);
    assert.equal(a.statusCode, 200);
    assert.match(a.body, /^libvirt_up 1$/m);
    assert.equal(b.body, a.body, 'a joined request gets the same body');
    assert.equal(c.body, a.body, 'a joined request gets the same body');
    assert.equal((await shorter).statusCode, 200);
    assert.doesNotMatch((await other).body, /^libvirt_domain_memory/m, 'collect[]=cpu got its own body');
    assert.match((await om).body, /# EOF\n$/, 'OpenMetrics got its own body');
    // Once answered, nothing is kept: the next request scrapes again.
    await app.inject({ url: '/metrics' });
    assert.equal(inspector.started, 5);
    const ok = (await self.scrapes.get()).values.find((v) => v.labels['result'] === 'ok')?.value;
    assert.equal(ok, 7, 'every response counted, the joined ones too');
    await app.close();
  },
);

test('gzip at web.compression_level when accepted, Vary: Accept-Encoding always; level 0 or q=0 is plain', async () => {
  const inspector = new LibvirtInspector({ client: fixtureClient() });
  const get = async (level: number, acceptEncoding?: string) => {
    const app = await buildApp({
      config: loadConfig(undefined, { 'web.compression_level': level }),
      inspector,
      logger: pino({ level: 'silent' }),
    });
    const r = await app.inject({
      url: '/metrics',
      headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
    });
    await app.close();
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers.vary, 'Accept-Encoding');
    return r;
  };
  const plain = await get(1);
  assert.equal(plain.headers['content-encoding'], undefined);
  const fast = await get(1, 'gzip');
  const small = await get(9, 'gzip');
  for (const r of [fast, small]) {
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(
      Number(r.headers['content-length']),
      r.rawPayload.length,
      'one body with its length, not chunked',
    );
    const text = gunzipSync(r.rawPayload).toString();
    assert.match(text, /^libvirt_up 1$/m);
    assert.equal(text.split('\n').length, plain.body.split('\n').length, 'the same lines as the plain body');
  }
  assert.ok(small.rawPayload.length < fast.rawPayload.length, 'level 9 encodes smaller than level 1');
  assert.equal((await get(0, 'gzip')).headers['content-encoding'], undefined, 'level 0 sends it plain');
  assert.equal((await get(6, 'gzip;q=0, identity')).headers['content-encoding'], undefined);
  await inspector.close();
});
