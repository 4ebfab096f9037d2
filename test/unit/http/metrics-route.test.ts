// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { buildApp } from '../../../src/app.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import type { Inspection, InspectOptions, Inspector } from '../../../src/inspector/types.ts';
import { fixtureClient } from '../../helpers/fixture-client.ts';

/** The fixture inspector, slowed down: each inspection takes `ms` unless its deadline comes first. */
function slow(ms: number): Inspector & { seen: (number | undefined)[] } {
  const inner = new LibvirtInspector({ client: fixtureClient() });
  const seen: (number | undefined)[] = [];
  return {
    seen,
    connected: true,
    listInstances: (o) => inner.listInstances(o),
    hostInfo: (o) => inner.hostInfo(o),
    close: () => inner.close(),
    async inspectAll(o: InspectOptions = {}): Promise<Inspection> {
      const t0 = Date.now();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        o.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('deadline'));
        });
      });
      seen.push(Date.now() - t0);
      return inner.inspectAll(o);
    },
  };
}

test('scrapes beyond web.max_requests_in_flight are answered 503 at once', async () => {
  const app = await buildApp({
    config: loadConfig(undefined, { 'web.max_requests_in_flight': 2 }),
    inspector: slow(300),
    logger: pino({ level: 'silent' }),
  });
  const results = await Promise.all([1, 2, 3, 4].map(() => app.inject({ url: '/metrics' })));
  assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 200, 503, 503]);
  const rejected = results.find((r) => r.statusCode === 503);
  assert.equal(rejected?.headers['retry-after'], '1');
  const after = await app.inject({ url: '/metrics' });
  assert.match(after.body, /^libvirt_exporter_scrapes_total\{result="rejected"\} 2$/m);
  await app.close();
});

test('the deadline from X-Prometheus-Scrape-Timeout-Seconds ends a slow inspection: 200 with libvirt_up 0', async () => {
  const app = await buildApp({
    config: loadConfig(undefined, { 'scrape.timeout_offset': '200ms' }),
    inspector: slow(5000),
    logger: pino({ level: 'silent' }),
  });
  const t0 = Date.now();
  const r = await app.inject({ url: '/metrics', headers: { 'x-prometheus-scrape-timeout-seconds': '1' } });
  const took = Date.now() - t0;
  assert.equal(r.statusCode, 200);
  assert.ok(took < 1000, `answered within Prometheus' timeout (${took} ms)`);
  assert.match(r.body, /^libvirt_up 0$/m);
  await app.close();
});

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
