// SPDX-License-Identifier: Apache-2.0
/**
 * Issue 15 item 3 (what the app tells anyone who asks: no broker hosts or user on the landing page,
 * no libvirt error text in /-/ready's 503, no error message in a 500, no request text in a 400; the
 * details go to the log) and item 6 (collect[] cannot start a collector the operator disabled).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { buildApp } from '../../../src/app.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import type { Inspector } from '../../../src/inspector/types.ts';
import { fixtureClient } from '../../helpers/fixture-client.ts';

/** A logger that keeps its lines. */
function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'debug' }, { write: (l: string) => lines.push(l) }), lines };
}

/** An inspector whose libvirt never answers: every call fails with a revealing message. */
function failing(message: string): Inspector {
  const fail = (): Promise<never> => Promise.reject(new Error(message));
  return {
    connected: false,
    listInstances: fail,
    inspectAll: fail,
    hostInfo: fail,
    storagePools: fail,
    jobInfo: fail,
    close: () => Promise.resolve(),
  };
}

test('issue 15 item 3: the landing page shows neither broker hosts nor the AMQP user', async () => {
  const app = await buildApp({
    config: loadConfig(undefined),
    inspector: new LibvirtInspector({ client: fixtureClient() }),
    logger: pino({ level: 'silent' }),
    publisherStatus: () => ({
      enabled: true,
      running: true,
      broker: 'rabbit://svc-ceilo:***@rabbit-internal-7.example:5672,10.20.30.40:5672/nova',
      brokerConnected: false,
      exchange: 'ceilometer',
    }),
  });
  const page = (await app.inject({ url: '/' })).body;
  assert.match(page, /Ceilometer publisher/);
  assert.match(page, /ceilometer/);
  for (const part of ['svc-ceilo', 'rabbit-internal-7', '10.20.30.40', '/nova'])
    assert.ok(!page.includes(part), `the landing page shows ${part}`);
  await app.close();
});

test('issue 15 item 3: /-/ready answers 503 without the libvirt error text, which goes to the log', async () => {
  const { logger, lines } = capture();
  const secretish = 'cannot connect to /run/private/libvirt-sock on compute-internal-9: TLS handshake';
  const app = await buildApp({ config: loadConfig(undefined), inspector: failing(secretish), logger });
  const r = await app.inject({ url: '/-/ready' });
  assert.equal(r.statusCode, 503);
  assert.equal(r.body, 'libvirt has not answered yet\n');
  assert.ok(
    lines.some((l) => l.includes('compute-internal-9')),
    'the reason is in the log',
  );
  await app.close();
});

test('issue 15 item 3: a 500 carries no error message; the log has it', async () => {
  const { logger, lines } = capture();
  const app = await buildApp({
    config: loadConfig(undefined),
    inspector: new LibvirtInspector({ client: fixtureClient() }),
    logger,
  });
  app.get('/boom', () => Promise.reject(new Error('open /etc/libvirt-exporter/secret-7 failed')));
  const r = await app.inject({ url: '/boom' });
  assert.equal(r.statusCode, 500);
  assert.ok(!r.body.includes('secret-7'), r.body);
  assert.ok(
    lines.some((l) => l.includes('secret-7')),
    'the message is in the log',
  );
  await app.close();
});

test('issue 15 item 3: a 400 does not reflect the collect[] names', async () => {
  const { logger, lines } = capture();
  const app = await buildApp({
    config: loadConfig(undefined),
    inspector: new LibvirtInspector({ client: fixtureClient() }),
    logger,
  });
  const r = await app.inject({ url: '/metrics?collect[]=%3Cscript%3Ealert(1)%3C%2Fscript%3E' });
  assert.equal(r.statusCode, 400);
  assert.ok(!r.body.includes('script'), r.body);
  assert.ok(
    lines.some((l) => l.includes('script')),
    'the names are in the log',
  );
  await app.close();
});

test('issue 15 item 6: collect[] naming a collector the configuration disables is a 400 "disabled collector"', async () => {
  const calls = new Map<string, number>();
  const app = await buildApp({
    config: loadConfig(undefined),
    inspector: new LibvirtInspector({ client: fixtureClient(undefined, { calls }) }),
    logger: pino({ level: 'silent' }),
  });
  for (const name of ['job', 'perf', 'dirtyrate', 'ceilometer']) {
    const r = await app.inject({ url: `/metrics?collect[]=cpu&collect[]=${name}` });
    assert.equal(r.statusCode, 400, name);
    assert.equal(r.body, `disabled collector: ${name}\n`);
  }
  assert.equal(calls.get('domainGetJobInfo') ?? 0, 0, 'no job call was made');
  const ok = await app.inject({ url: '/metrics?collect[]=cpu' });
  assert.equal(ok.statusCode, 200);
  await app.close();
});
