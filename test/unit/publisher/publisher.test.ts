// SPDX-License-Identifier: Apache-2.0
/**
 * The publisher end to end, on a fake inspector and an in-memory broker. Time is a ManualClock that only
 * the tests move (poll cycles, retry delays, the stop bound): nothing here waits for real time, so the
 * outcome does not depend on how busy the machine is (a version with real one-second cycles and sleeps
 * was the kind of test that fails one CI run in three on a loaded machine, issue 15 item 16).
 */
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
import { ManualClock } from '../../helpers/manual-clock.ts';
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
  clock: ManualClock;
}

function harness(cfg: PublisherConfig, up = true): Harness {
  const inspector = createFakeInspector();
  const { transport, factory } = memoryTransport();
  transport.up = up;
  const registry = new Registry();
  const { logger, text } = logCapture();
  const clock = new ManualClock();
  const publisher = createPublisher(cfg, {
    inspector,
    logger,
    registry,
    createTransport: factory,
    retryDelayMs: { min: 10, max: 50 },
    clock,
  });
  return { publisher, inspector, transport, registry, logs: text, clock };
}

/**
 * Lets the publisher's promises run until `fn` holds, the clock standing still. Bounded by event-loop
 * turns, not by time: what it waits for needs no time to pass, only the pending callbacks to run.
 */
async function until(fn: () => boolean, what: string, turns = 10_000): Promise<void> {
  for (let i = 0; !fn(); i++) {
    if (i === turns) throw new Error(`${what}: not reached after ${turns} event-loop turns`);
    await new Promise((r) => setImmediate(r));
  }
}

/** Lets every pending callback run (the clock standing still), so that a test can check nothing happened. */
async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
}

/** Starts the publisher and fires its start-up cycles (armed at delay 0 on the clock). */
async function start(h: Harness): Promise<void> {
  await h.publisher.start();
  h.clock.advance(0);
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
    await start(h);
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
      await start(h);
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

  test('sources with one interval share a cycle; each interval has its own timer, exactly one interval apart', async () => {
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
    const sentNames = (): unknown[] => h.transport.sent.map((b) => decode(b).samples[0]!.counter_name);
    const count = (name: string): number => sentNames().filter((n) => n === name).length;
    await h.publisher.start();
    await settle();
    assert.equal(h.inspector.calls, 0, 'the start-up cycles are armed on the clock, at delay 0');
    h.clock.advance(0);
    await until(() => count('cpu') === 1 && count('disk.device.read.bytes') === 1, 'the start-up cycles');
    assert.equal(h.inspector.calls, 2, 'one inspection per interval, not per source');
    // The next 1 s cycle comes exactly one interval after the previous one started, not before.
    for (let cycle = 2; cycle <= 3; cycle++) {
      h.clock.advance(999);
      await settle();
      assert.equal(count('cpu'), cycle - 1, `cycle ${cycle} not before 1000 ms`);
      h.clock.advance(1);
      await until(
        () => count('cpu') === cycle && count('memory.resident') === cycle,
        `cycle ${cycle} at 1000 ms`,
      );
    }
    // cpu once per 1 s cycle (not once per source), disk once (3600 s), both sources counted per cycle.
    assert.equal(count('memory.resident'), 3);
    assert.equal(count('disk.device.read.bytes'), 1);
    assert.equal(await metric(h.registry, 'libvirt_publisher_polls_total', { source: 'a' }), 3);
    assert.equal(await metric(h.registry, 'libvirt_publisher_polls_total', { source: 'b' }), 3);
    assert.equal(await metric(h.registry, 'libvirt_publisher_polls_total', { source: 'slow' }), 1);
    assert.equal(h.inspector.calls, 4);
    await h.publisher.stop();
    assert.equal(h.clock.pending, 0, 'stop leaves no timer armed');
    h.clock.advance(3_600_000);
    await settle();
    assert.equal(h.inspector.calls, 4, 'no poll after stop');
  });

  test('a hung inspection is cut exactly at the interval, counted, and the next cycle follows at once', async () => {
    const h = harness(config({ polling: { sources: [{ name: 'x', interval: 60, meters: ['cpu'] }] } }));
    h.inspector.hang = true;
    await start(h);
    await until(() => h.inspector.calls === 1, 'the hung cycle');
    h.clock.advance(59_999);
    await settle();
    assert.equal(h.publisher.status().polls[0]?.lastError, undefined, 'still waiting at 59.999 s');
    h.inspector.hang = false;
    h.clock.advance(1);
    await until(() => h.publisher.status().polls[0]?.lastError !== undefined, 'the deadline at 60 s');
    assert.match(h.publisher.status().polls[0]?.lastError ?? '', /timed out after 60000 ms/);
    assert.equal(h.publisher.status().polls[0]?.lastDurationSeconds, 60);
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_polls_total', { source: 'x', result: 'error' }),
      1,
    );
    // The cycle took its whole interval: the next one starts without waiting a second interval.
    h.clock.advance(0);
    await until(() => h.transport.sent.length === 1, 'the next cycle, at once');
    assert.equal(h.inspector.calls, 2);
    await h.publisher.stop();
  });

  test('perf counters are asked for only when a perf meter is polled', async () => {
    for (const [meters, perf] of [
      [['cpu', 'disk.*'], false],
      [['*'], true],
      [['perf.*'], true],
    ] as const) {
      const h = harness(config({ polling: { sources: [{ name: 'p', interval: 3600, meters }] } }));
      await start(h);
      await until(() => h.inspector.calls === 1, 'a cycle');
      assert.equal(h.inspector.lastOptions?.groups?.includes('perf') ?? false, perf, meters.join());
      assert.ok(h.inspector.lastOptions?.signal, 'the cycle passes a deadline');
      await h.publisher.stop();
    }
  });

  test('an inspection failure is counted and the next cycle runs', async () => {
    const h = harness(config({ polling: { sources: [{ name: 'x', interval: 1, meters: ['cpu'] }] } }));
    h.inspector.fail = new Error('libvirt down');
    await start(h);
    await until(() => h.inspector.calls >= 1, 'the failing cycle');
    await until(() => h.publisher.status().polls[0]?.lastError !== undefined, 'the error status');
    h.inspector.fail = undefined;
    h.clock.advance(999);
    await settle();
    assert.equal(h.inspector.calls, 1, 'no retry before the interval');
    h.clock.advance(1);
    await until(() => h.transport.sent.length === 1, 'the next cycle, one interval later');
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
    await start(h);
    await until(() => h.publisher.status().samplesPolled === METERS_PER_CYCLE, 'the first cycle');
    const failures = (): Promise<number> => metric(h.registry, 'libvirt_publisher_send_failures_total');
    await until(() => h.transport.options !== undefined, 'the transport');
    await settle();
    assert.equal(await failures(), 1);
    // Retries of the head of the queue, exactly after the backoff (retryDelayMs 10 doubling up to 50).
    for (const [i, backoff] of [10, 20, 40, 50, 50].entries()) {
      h.clock.advance(backoff - 1);
      await settle();
      assert.equal(await failures(), i + 1, `no retry before ${backoff} ms`);
      h.clock.advance(1);
      await settle();
      assert.equal(await failures(), i + 2, `a retry after ${backoff} ms`);
    }
    assert.equal(h.transport.sent.length, 0);
    assert.equal(await metric(h.registry, 'libvirt_publisher_queue_samples'), METERS_PER_CYCLE);
    assert.equal(await metric(h.registry, 'libvirt_publisher_broker_up'), 0);
    // The broker's return wakes the sender at once, without waiting for the rest of its backoff.
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
    await start(h);
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
    await start(h);
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
    await start(h);
    const failures = (): Promise<number> => metric(h.registry, 'libvirt_publisher_send_failures_total');
    await until(() => h.publisher.status().samplesPolled === 2, 'the cycle');
    await settle();
    // Five tries, the backoff between them (10, 20, 40, 50 ms), then the notification is given up.
    for (const [i, backoff] of [10, 20, 40, 50].entries()) {
      assert.equal(await failures(), i + 1);
      h.clock.advance(backoff - 1);
      await settle();
      assert.equal(await failures(), i + 1, `no try before ${backoff} ms`);
      assert.equal(h.publisher.status().samplesDropped, 0);
      h.clock.advance(1);
      await settle();
    }
    assert.equal(h.publisher.status().samplesDropped, 1, 'dropped after the fifth refusal');
    // The next notification is tried at once (and refused too: a sixth failure), then waits its backoff.
    assert.equal(await failures(), 6);
    h.transport.refuse = undefined;
    h.clock.advance(49);
    await settle();
    assert.equal(h.transport.sent.length, 0);
    h.clock.advance(1);
    await until(() => h.transport.sent.length === 1, 'the next one, after the backoff');
    assert.equal(decode(h.transport.sent[0]!).samples[0]!.counter_name, 'memory.resident');
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_samples_dropped_total', { reason: 'rejected' }),
      1,
    );
    await h.publisher.stop();
  });

  test('stop with the broker away: the rest is dropped and counted at once, without waiting', async () => {
    const h = harness(config({ stop_timeout_seconds: 0.2 }), false);
    await start(h);
    await until(() => h.publisher.status().samplesPolled === METERS_PER_CYCLE, 'the first cycle');
    let stopped = false;
    void h.publisher.stop().then(() => (stopped = true));
    // Nothing can be flushed to a broker that is away: stop does not wait for its bound.
    await until(() => stopped, 'stop, the clock standing still');
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_samples_dropped_total', { reason: 'shutdown' }),
      METERS_PER_CYCLE,
    );
    assert.equal(h.transport.closed, true);
  });

  test('stop waits for a send in flight exactly stop_timeout_seconds, then drops and counts the rest', async () => {
    const h = harness(config({ stop_timeout_seconds: 0.2 }));
    // The broker blocks publishing while the first notification is on its way: its confirm never comes.
    const send = h.transport.send.bind(h.transport);
    h.transport.send = (body, options) => {
      h.transport.blocked = true;
      return send(body, options);
    };
    await start(h);
    await until(() => h.transport.held.length === 1, 'the send in flight');
    let stopped = false;
    void h.publisher.stop().then(() => (stopped = true));
    await settle();
    h.clock.advance(199);
    await settle();
    assert.equal(stopped, false, 'still flushing at 199 ms');
    h.clock.advance(1);
    await until(() => stopped, 'stop at 200 ms');
    assert.equal(h.transport.sent.length, 0);
    assert.equal(
      await metric(h.registry, 'libvirt_publisher_samples_dropped_total', { reason: 'shutdown' }),
      METERS_PER_CYCLE,
    );
    assert.equal(h.transport.closed, true);
  });
});

test('a second publisher on the same registry (a reload) replaces the metrics of the first', async () => {
  const first = harness(config());
  await start(first);
  await until(() => first.publisher.status().samplesPublished === METERS_PER_CYCLE, 'the first cycle');
  await first.publisher.stop();
  const names = (await first.registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.includes('libvirt_publisher_samples_published_total'));
  assert.ok(!names.includes('libvirt_publisher_broker_up'), 'a stopped publisher has no live gauges');
  const { transport, factory } = memoryTransport();
  const clock = new ManualClock();
  const second = createPublisher(config(), {
    inspector: createFakeInspector(),
    logger: pino({ level: 'silent' }),
    registry: first.registry,
    createTransport: factory,
    clock,
  });
  await second.start();
  clock.advance(0);
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
    await start(h);
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
