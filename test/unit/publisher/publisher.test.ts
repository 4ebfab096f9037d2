// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';

import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';

import { type PublisherConfig, publisherConfigSchema } from '../../../src/publisher/config.ts';
import { createPublisher, type Publisher, PublisherConfigError } from '../../../src/publisher/publisher.ts';
import { parsePyJson, type PyDict } from '../../../src/ceilometer/python-format.ts';
import { verifySignature } from '../../../src/ceilometer/signature.ts';
import { createFakeInspector, type FakeInspector } from './fake-inspector.ts';
import { memoryTransport, type MemoryTransport } from './memory-transport.ts';

const SECRET = 'S3CR3T-telemetry-value';
const PASSWORD = 'PASSW0RD-amqp-value';

function logCapture(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), text: () => chunks.join('') };
}

function config(extra: Record<string, unknown> = {}): PublisherConfig {
  return publisherConfigSchema.parse({
    enabled: true,
    transport_url: `rabbit://openstack:${PASSWORD}@127.0.0.1:5672/`,
    telemetry_secret: SECRET,
    polling: {
      sources: [
        { name: 'lab', interval: 3600, meters: ['cpu', 'memory.resident', 'disk.device.*', 'network.*'] },
      ],
    },
    flavor_ids: { 'm1.tiny': '1' },
    stop_timeout_seconds: 1,
    ...extra,
  });
}

interface Harness {
  publisher: Publisher;
  inspector: FakeInspector;
  transport: MemoryTransport;
  registry: Registry;
  logs: () => string;
}

function harness(cfg: PublisherConfig, up = true): Harness {
  const inspector = createFakeInspector();
  const { transport, factory } = memoryTransport();
  transport.up = up;
  const registry = new Registry();
  const { logger, text } = logCapture();
  const publisher = createPublisher(cfg, {
    inspector,
    logger,
    registry,
    createTransport: factory,
    retryDelayMs: { min: 10, max: 50 },
  });
  return { publisher, inspector, transport, registry, logs: text };
}

async function until(fn: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const values = (m?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((a, v) => a + v.value, 0);
}

function decode(body: string): { inner: PyDict; samples: PyDict[] } {
  const inner = parsePyJson((parsePyJson(body) as PyDict)['oslo.message'] as string) as PyDict;
  return { inner, samples: (inner.payload as PyDict).samples as PyDict[] };
}

const METERS_PER_CYCLE = 1 + 1 + 9 + 10; // cpu, memory.resident, 9 disk.device.*, 8 network counters + 2 deltas

describe('a poll cycle', () => {
  test('polls at start-up, one inspection for every meter, one notification per meter, all signed', async () => {
    const h = harness(config());
    await h.publisher.start();
    await until(() => h.transport.sent.length >= METERS_PER_CYCLE, 'the first cycle');
    assert.equal(h.inspector.calls, 1);
    const meters = h.transport.sent.map((b) => decode(b).samples.map((s) => s.counter_name));
    assert.ok(meters.every((m) => m.length === 1 && new Set(m).size === 1));
    assert.deepEqual(meters.flat().slice(0, 2), ['cpu', 'memory.resident']);
    assert.ok(meters.flat().includes('network.outgoing.packets.delta'));
    for (const body of h.transport.sent) {
      const { inner, samples } = decode(body);
      assert.equal(inner.event_type, 'telemetry.polling');
      assert.equal(inner.publisher_id, 'ceilometer.polling');
      for (const s of samples) {
        assert.equal(verifySignature(s, SECRET), true);
        assert.equal((s.resource_metadata as PyDict).instance_host, 'compute-lab-1');
      }
    }
    const o = h.transport.options;
    assert.ok(o);
    assert.equal(o.exchange, 'ceilometer');
    assert.equal(o.routingKey, 'notifications.sample');
    assert.equal(o.exchangeDeclare, 'passive');
    assert.equal(o.tls, undefined);
    assert.equal(await metric(h.registry, 'libvirt_publisher_samples_published_total'), METERS_PER_CYCLE);
    assert.equal(await metric(h.registry, 'libvirt_publisher_samples_polled_total', { meter: 'cpu' }), 1);
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_polls_total', { source: 'lab', result: 'success' }),
      1,
    );
    assert.equal(await metric(h.registry, 'libvirt_publisher_broker_up'), 1);
    const status = h.publisher.status();
    assert.equal(status.running, true);
    assert.equal(status.samplesPublished, METERS_PER_CYCLE);
    assert.equal(status.polls[0]?.lastSamples, METERS_PER_CYCLE);
    await h.publisher.stop();
    assert.equal(h.transport.closed, true);
    assert.equal(h.publisher.status().running, false);
  });

  test('batches: at most batch_size samples per notification; 0 = one per notification', async () => {
    const f = createFakeInspector().fixture;
    // Ten copies of the guest, so that one meter has ten samples.
    const inst = f.instances[0]!;
    const st = f.stats[0]!;
    for (let i = 2; i <= 10; i++) {
      const uuid = `11111111-2222-3333-4444-5555555555${String(i).padStart(2, '0')}`;
      f.instances.push({ ...inst, uuid, name: `instance-0000010${i}` });
      f.stats.push({ ...st, uuid, name: `instance-0000010${i}` });
    }
    for (const [batch, expected] of [
      [4, [4, 4, 2]],
      [0, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
      [50, [10]],
    ] as const) {
      const h = harness(
        config({
          batch_size: batch,
          polling: { sources: [{ name: 'cpu', interval: 3600, meters: ['cpu'] }] },
        }),
      );
      h.inspector.fixture = f;
      await h.publisher.start();
      await until(
        () => h.transport.sent.reduce((a, b) => a + decode(b).samples.length, 0) >= 10,
        'ten samples',
      );
      assert.deepEqual(
        h.transport.sent.map((b) => decode(b).samples.length),
        expected,
      );
      await h.publisher.stop();
    }
  });

  test('sources with one interval share a cycle; other intervals get their own timer', async () => {
    const h = harness(
      config({
        polling: {
          sources: [
            { name: 'a', interval: 1, meters: ['cpu'] },
            { name: 'b', interval: 1, meters: ['cpu', 'memory.resident'] },
            { name: 'slow', interval: 3600, meters: ['disk.device.read.bytes'] },
          ],
        },
      }),
    );
    await h.publisher.start();
    const sentNames = (): unknown[] => h.transport.sent.map((b) => decode(b).samples[0]!.counter_name);
    await until(() => sentNames().filter((n) => n === 'cpu').length >= 2, 'a second 1-second cycle', 4000);
    await h.publisher.stop();
    const names = sentNames();
    // cpu once per 1 s cycle (not once per source), disk once (3600 s), both sources counted per cycle.
    assert.equal(names.filter((n) => n === 'disk.device.read.bytes').length, 1);
    const cycles = await metric(h.registry, 'libvirt_publisher_polls_total', { source: 'a' });
    assert.equal(await metric(h.registry, 'libvirt_publisher_polls_total', { source: 'b' }), cycles);
    assert.equal(await metric(h.registry, 'libvirt_publisher_polls_total', { source: 'slow' }), 1);
    assert.equal(names.filter((n) => n === 'cpu').length, cycles);
    assert.equal(h.inspector.calls, cycles + 1);
    const calls = h.inspector.calls;
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(h.inspector.calls, calls, 'no poll after stop');
  });

  test('perf counters are asked for only when a perf meter is polled', async () => {
    for (const [meters, perf] of [
      [['cpu', 'disk.*'], false],
      [['*'], true],
      [['perf.*'], true],
    ] as const) {
      const h = harness(config({ polling: { sources: [{ name: 'p', interval: 3600, meters }] } }));
      await h.publisher.start();
      await until(() => h.inspector.calls === 1, 'a cycle');
      assert.equal(h.inspector.lastOptions?.groups?.includes('perf') ?? false, perf, meters.join());
      assert.ok(h.inspector.lastOptions?.signal, 'the cycle passes a deadline');
      await h.publisher.stop();
    }
  });

  test('an inspection failure is counted and the next cycle runs', async () => {
    const h = harness(config({ polling: { sources: [{ name: 'x', interval: 1, meters: ['cpu'] }] } }));
    h.inspector.fail = new Error('libvirt down');
    await h.publisher.start();
    await until(() => h.inspector.calls >= 1, 'the failing cycle');
    await until(() => h.publisher.status().polls[0]?.lastError !== undefined, 'the error status');
    h.inspector.fail = undefined;
    await until(() => h.transport.sent.length >= 1, 'a good cycle', 3000);
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_polls_total', { source: 'x', result: 'error' }),
      1,
    );
    assert.equal(h.publisher.status().polls[0]?.lastError, undefined);
    await h.publisher.stop();
  });
});

describe('broker outages', () => {
  test('policy queue: samples wait and go out in order, nothing lost', async () => {
    const h = harness(config(), false);
    await h.publisher.start();
    await until(() => h.publisher.status().samplesPolled === METERS_PER_CYCLE, 'the first cycle');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.transport.sent.length, 0);
    assert.equal(await metric(h.registry, 'libvirt_publisher_queue_samples'), METERS_PER_CYCLE);
    assert.equal(await metric(h.registry, 'libvirt_publisher_broker_up'), 0);
    assert.ok((await metric(h.registry, 'libvirt_publisher_send_failures_total')) >= 1);
    h.transport.up = true;
    await until(() => h.transport.sent.length === METERS_PER_CYCLE, 'delivery after the outage');
    const names = h.transport.sent.map((b) => decode(b).samples[0]!.counter_name);
    assert.deepEqual(names.slice(0, 2), ['cpu', 'memory.resident']);
    assert.equal(await metric(h.registry, 'libvirt_publisher_samples_dropped_total'), 0);
    assert.equal(await metric(h.registry, 'libvirt_publisher_queue_samples'), 0);
    await h.publisher.stop();
  });

  test('policy queue with a small bound: the oldest are dropped and counted', async () => {
    const h = harness(config({ max_queue_length: 5 }), false);
    await h.publisher.start();
    await until(() => h.publisher.status().samplesPolled === METERS_PER_CYCLE, 'the first cycle');
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_samples_dropped_total', { reason: 'queue_full' }),
      METERS_PER_CYCLE - 5,
    );
    h.transport.up = true;
    await until(() => h.transport.sent.length === 5, 'the five kept');
    // The newest five of the cycle survive, in order.
    const names = h.transport.sent.map((b) => decode(b).samples[0]!.counter_name);
    assert.deepEqual(names, [
      'network.outgoing.packets',
      'network.outgoing.packets.error',
      'network.outgoing.packets.drop',
      'network.incoming.bytes.delta',
      'network.outgoing.packets.delta',
    ]);
    await h.publisher.stop();
    const s = h.publisher.status();
    assert.equal(s.samplesPolled, s.samplesPublished + s.samplesDropped);
  });

  test('policy drop: nothing is held while the broker is away', async () => {
    const h = harness(config({ policy: 'drop' }), false);
    await h.publisher.start();
    await until(() => h.publisher.status().samplesDropped === METERS_PER_CYCLE, 'the drops');
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_samples_dropped_total', { reason: 'broker_unavailable' }),
      METERS_PER_CYCLE,
    );
    assert.equal(await metric(h.registry, 'libvirt_publisher_queue_samples'), 0);
    await h.publisher.stop();
  });

  test('a notification the broker keeps refusing is dropped as rejected, the rest goes on', async () => {
    const h = harness(
      config({ polling: { sources: [{ name: 'x', interval: 3600, meters: ['cpu', 'memory.resident'] }] } }),
    );
    h.transport.refuse = 'NACK';
    await h.publisher.start();
    await until(() => h.publisher.status().samplesDropped === 1, 'the rejection');
    h.transport.refuse = undefined;
    await until(() => h.transport.sent.length === 1, 'the next one');
    assert.equal(decode(h.transport.sent[0]!).samples[0]!.counter_name, 'memory.resident');
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_samples_dropped_total', { reason: 'rejected' }),
      1,
    );
    await h.publisher.stop();
  });

  test('stop flushes what it can, then drops and counts the rest', async () => {
    const h = harness(config({ stop_timeout_seconds: 0.2 }), false);
    await h.publisher.start();
    await until(() => h.publisher.status().samplesPolled === METERS_PER_CYCLE, 'the first cycle');
    const t0 = Date.now();
    await h.publisher.stop();
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_samples_dropped_total', { reason: 'shutdown' }),
      METERS_PER_CYCLE,
    );
    assert.equal(h.transport.closed, true);
  });
});

test('a second publisher on the same registry (a reload) replaces the metrics of the first', async () => {
  const first = harness(config());
  await first.publisher.start();
  await until(() => first.publisher.status().samplesPublished === METERS_PER_CYCLE, 'the first cycle');
  await first.publisher.stop();
  const names = (await first.registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.includes('libvirt_publisher_samples_published_total'));
  assert.ok(!names.includes('libvirt_publisher_broker_up'), 'a stopped publisher has no live gauges');
  const { transport, factory } = memoryTransport();
  const second = createPublisher(config(), {
    inspector: createFakeInspector(),
    logger: pino({ level: 'silent' }),
    registry: first.registry,
    createTransport: factory,
  });
  await second.start();
  await until(() => transport.sent.length === METERS_PER_CYCLE, 'the second publisher');
  assert.equal(await metric(first.registry, 'libvirt_publisher_samples_published_total'), METERS_PER_CYCLE);
  assert.equal(await metric(first.registry, 'libvirt_publisher_broker_up'), 1);
  await second.stop();
});

describe('configuration at start', () => {
  test('secrets from files (trailing newline removed); never in the logs or the status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'publisher-'));
    writeFileSync(join(dir, 'url'), `rabbit://openstack:${PASSWORD}@127.0.0.1:5672/\n`);
    writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
    writeFileSync(
      join(dir, 'polling.yaml'),
      'sources:\n  - name: p\n    interval: 3600\n    meters: ["cpu", "hardware.cpu.util"]\n    resources: ["x"]\n',
    );
    const cfg = config({
      transport_url: undefined,
      telemetry_secret: undefined,
      polling: undefined,
      transport_url_file: join(dir, 'url'),
      telemetry_secret_file: join(dir, 'secret'),
      polling_file: join(dir, 'polling.yaml'),
    });
    const h = harness(cfg, false);
    await h.publisher.start();
    await until(() => h.publisher.status().samplesPolled === 1, 'a cycle');
    h.transport.up = true;
    await until(() => h.transport.sent.length === 1, 'delivery');
    assert.equal(verifySignature(decode(h.transport.sent[0]!).samples[0]!, SECRET), true);
    assert.equal(h.transport.options?.url.password, PASSWORD);
    await h.publisher.stop();
    const status = JSON.stringify(h.publisher.status());
    const logs = h.logs();
    assert.match(logs, /publisher started/);
    assert.match(logs, /meters not produced by this publisher/);
    assert.match(logs, /resources\/discovery are ignored/);
    for (const text of [logs, status]) {
      assert.ok(!text.includes(PASSWORD), 'password leaked');
      assert.ok(!text.includes(SECRET), 'secret leaked');
    }
    assert.match(status, /openstack:\*\*\*@127.0.0.1:5672/);
  });

  const failures: [string, Record<string, unknown>, RegExp][] = [
    [
      'unreadable URL file',
      { transport_url: undefined, transport_url_file: '/nonexistent/url' },
      /transport_url_file: cannot read \/nonexistent\/url: ENOENT/,
    ],
    [
      'unreadable secret file',
      { telemetry_secret: undefined, telemetry_secret_file: '/nonexistent/secret' },
      /telemetry_secret_file: cannot read \/nonexistent\/secret/,
    ],
    [
      'unreadable polling file',
      { polling: undefined, polling_file: '/nonexistent/polling.yaml' },
      /\/nonexistent\/polling.yaml/,
    ],
    [
      'bad polling source',
      { polling: { sources: [{ name: 'mix', interval: 60, meters: ['cpu', '!disk.*'] }] } },
      /source 'mix': Both included and excluded/,
    ],
    [
      'unreadable CA',
      { transport_url: 'rabbit://u:p@h/?ssl=1', tls: { ca_file: '/nonexistent/ca.pem' } },
      /tls.ca_file: cannot read \/nonexistent\/ca.pem/,
    ],
  ];
  for (const [what, extra, re] of failures) {
    test(`a clear error: ${what}`, async () => {
      const h = harness(config(extra));
      await assert.rejects(
        h.publisher.start(),
        (err: Error) => err instanceof PublisherConfigError && re.test(err.message),
      );
    });
  }

  test('a bad transport_url (from a file, past the schema) names the problem and hides the password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'publisher-'));
    writeFileSync(join(dir, 'url'), `rabbit://openstack:${PASSWORD}@broker:56720000/`);
    const h = harness(config({ transport_url: undefined, transport_url_file: join(dir, 'url') }));
    await assert.rejects(
      h.publisher.start(),
      (err: Error) =>
        err instanceof PublisherConfigError &&
        /invalid port \(/.test(err.message) &&
        !err.message.includes('56720000') &&
        !err.message.includes(PASSWORD),
    );
  });

  test('a config that skipped the schema is still validated', async () => {
    const h = harness({ ...config(), batch_size: -3 });
    await assert.rejects(h.publisher.start(), /batch_size/);
  });

  test('disabled: start does nothing, registers nothing', async () => {
    const h = harness(publisherConfigSchema.parse({}));
    await h.publisher.start();
    assert.equal(h.inspector.calls, 0);
    assert.equal((await h.registry.getMetricsAsJSON()).length, 0);
    assert.equal(h.publisher.status().enabled, false);
    await h.publisher.stop();
  });

  test('TLS from ?ssl=1 with the configured files; exchange and topic options reach the transport', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'publisher-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    const h = harness(
      config({
        transport_url: 'rabbit://u:p@h:5671/?ssl=1',
        tls: { ca_file: join(dir, 'ca.pem'), server_name: 'rabbit.example' },
        exchange_declare: 'durable',
        topic: 'notifications_compute',
      }),
    );
    await h.publisher.start();
    const o = h.transport.options;
    assert.ok(o?.tls);
    assert.equal(String(o.tls.ca), 'CA');
    assert.equal(o.tls.servername, 'rabbit.example');
    assert.equal(o.tls.rejectUnauthorized, true);
    assert.equal(o.exchangeDeclare, 'durable');
    assert.equal(o.routingKey, 'notifications_compute.sample');
    await h.publisher.stop();
  });
});
