// SPDX-License-Identifier: Apache-2.0
// The Ceilometer side-publisher against a real RabbitMQ (a private node started by
// test/lab/rabbitmq.sh): the wire format as a consumer sees it, a passive exchange that appears late,
// a broker stopped and restarted mid-run (nothing lost while the queue has room, the excess dropped
// and counted), and the real lab guests through the real libvirt inspector.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Connection, type AsyncMessage, type Consumer } from 'rabbitmq-client';

import { createLibvirtInspector } from '../../src/inspector/libvirt-inspector.ts';
import type { Inspector } from '../../src/inspector/types.ts';
import { publisherConfigSchema } from '../../src/publisher/config.ts';
import { createPublisher, type Publisher } from '../../src/publisher/publisher.ts';
import { parsePyJson, PyFloat, pyJsonDumps, type PyDict } from '../../src/ceilometer/python-format.ts';
import { verifySignature } from '../../src/ceilometer/signature.ts';
import { lab, virsh, waitFor } from '../helpers/lab.ts';
import { createFakeInspector } from '../unit/publisher/fake-inspector.ts';

const RABBIT = fileURLToPath(new URL('../lab/rabbitmq.sh', import.meta.url));
const PORT = Number(process.env.RABBITMQ_LAB_PORT ?? 5673);
const URL_ = `rabbit://guest:guest@127.0.0.1:${PORT}/`;
const SECRET = 'integration-telemetry-secret';
const RUN = `${process.pid}-${Date.now()}`;

function rabbit(cmd: 'start' | 'stop' | 'kill' | 'status'): void {
  execFileSync('bash', [RABBIT, cmd], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
}

interface Received {
  readonly msg: AsyncMessage;
  readonly raw: string;
  readonly inner: PyDict;
  readonly samples: PyDict[];
}

/** A consumer like the notification agent's: it declares the exchange and a queue bound to notifications.sample. */
function consume(
  conn: Connection,
  exchange: string,
  opts: { durable: boolean; queue: string },
): { received: Received[]; consumer: Consumer; ready: Promise<void> } {
  const received: Received[] = [];
  const consumer = conn.createConsumer(
    {
      queue: opts.queue,
      queueOptions: { durable: opts.durable, exclusive: !opts.durable, autoDelete: false },
      exchanges: [{ exchange, type: 'topic', durable: opts.durable }],
      queueBindings: [{ exchange, routingKey: 'notifications.sample', queue: opts.queue }],
    },
    (msg) => {
      // content_encoding is set, so rabbitmq-client hands over the raw bytes.
      assert.ok(Buffer.isBuffer(msg.body));
      const raw = msg.body.toString('utf8');
      const inner = parsePyJson((parsePyJson(raw) as PyDict)['oslo.message'] as string) as PyDict;
      received.push({ msg, raw, inner, samples: (inner.payload as PyDict).samples as PyDict[] });
    },
  );
  const ready = new Promise<void>((resolve) => {
    consumer.once('ready', () => {
      resolve();
    });
  });
  consumer.on('error', () => undefined);
  return { received, consumer, ready };
}

function makePublisher(inspector: Inspector, registry: Registry, extra: Record<string, unknown>): Publisher {
  const config = publisherConfigSchema.parse({
    enabled: true,
    transport_url: URL_,
    telemetry_secret: SECRET,
    flavor_ids: { 'm1.tiny': '1' },
    send_timeout_seconds: 60,
    stop_timeout_seconds: 30,
    ...extra,
  });
  return createPublisher(config, {
    inspector,
    registry,
    logger: pino({ level: process.env.PUBLISHER_TEST_LOG ?? 'silent' }),
    // Retry quickly after the outage so that the test does not wait for the 30 s backoff ceiling.
    retryDelayMs: { min: 200, max: 2000 },
  });
}

async function counter(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return ((m?.values ?? []) as { value: number; labels: Record<string, string | number> }[])
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((a, v) => a + v.value, 0);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('publisher on a real RabbitMQ', () => {
  let conn: Connection;
  before(() => {
    rabbit('start');
    conn = new Connection({ url: `amqp://guest:guest@127.0.0.1:${PORT}`, retryLow: 200, retryHigh: 1000 });
    conn.on('error', () => undefined);
  });
  after(async () => {
    await conn.close();
    rabbit('stop');
  });

  test('wire format: exchange, routing key, properties, envelope, signatures, batches', async () => {
    const exchange = `ceilometer-wire-${RUN}`;
    const c = consume(conn, exchange, { durable: false, queue: `wire-${RUN}` });
    await c.ready;
    const inspector = createFakeInspector();
    const registry = new Registry();
    const publisher = makePublisher(inspector, registry, {
      exchange,
      // The consumer created the exchange (as the notification agent does): check it passively.
      exchange_declare: 'passive',
      batch_size: 2,
      polling: { sources: [{ name: 'all', interval: 3600, meters: ['*'] }] },
    });
    await publisher.start();
    await waitFor(
      () =>
        publisher.status().samplesPolled > 0 &&
        publisher.status().samplesPublished === publisher.status().samplesPolled,
      20_000,
      'the first cycle published',
    );
    await waitFor(
      () => c.received.reduce((a, r) => a + r.samples.length, 0) === publisher.status().samplesPublished,
      10_000,
      'every sample consumed',
    );
    await publisher.stop();
    await c.consumer.close();

    assert.ok(c.received.length >= 20);
    const capture = JSON.parse(
      readFileSync(new URL('../fixtures/ceilometer/telemetry.polling--cpu.json', import.meta.url), 'utf8'),
    ) as { raw_body: string };
    const captured = parsePyJson(capture.raw_body) as PyDict;
    const capturedInner = parsePyJson(captured['oslo.message'] as string) as PyDict;
    const capturedSample = ((capturedInner.payload as PyDict).samples as PyDict[])[0]!;
    for (const r of c.received) {
      assert.equal(r.msg.exchange, exchange);
      assert.equal(r.msg.routingKey, 'notifications.sample');
      assert.equal(r.msg.contentType, 'application/json');
      assert.equal(r.msg.contentEncoding, 'utf-8');
      // rabbitmq-client spreads every basic property onto the message; its type only names `durable`.
      assert.equal((r.msg as AsyncMessage & { deliveryMode?: number }).deliveryMode, 2);
      assert.equal(r.msg.durable, true);
      assert.equal(r.msg.priority, 0);
      assert.deepEqual(r.msg.headers, {});
      for (const unset of [
        'timestamp',
        'messageId',
        'correlationId',
        'replyTo',
        'expiration',
        'type',
        'userId',
        'appId',
      ] as const) {
        assert.equal(r.msg[unset], undefined, `property ${unset} must be unset`);
      }
      // The body is exactly what Python's json.dumps would write for this content, in the envelope.
      assert.equal(pyJsonDumps({ 'oslo.version': '2.0', 'oslo.message': pyJsonDumps(r.inner) }), r.raw);
      assert.deepEqual(Object.keys(r.inner), Object.keys(capturedInner));
      assert.equal(r.inner.publisher_id, 'ceilometer.polling');
      assert.equal(r.inner.event_type, 'telemetry.polling');
      assert.equal(r.inner.priority, 'SAMPLE');
      assert.ok(r.samples.length >= 1 && r.samples.length <= 2, 'batch_size 2');
      assert.equal(new Set(r.samples.map((s) => s.counter_name)).size, 1, 'one meter per notification');
      for (const s of r.samples) {
        assert.deepEqual(Object.keys(s), Object.keys(capturedSample));
        assert.equal(verifySignature(s, SECRET), true);
        assert.equal(s.source, 'openstack');
        assert.ok(s.monotonic_time instanceof PyFloat);
      }
    }
    const cpu = c.received.flatMap((r) => r.samples).find((s) => s.counter_name === 'cpu')!;
    assert.equal(cpu.counter_volume, 5070000000);
    assert.equal((cpu.resource_metadata as PyDict).host, (capturedSample.resource_metadata as PyDict).host);
    assert.equal(await counter(registry, 'libvirt_publisher_broker_up'), 0, 'closed after stop');
  });

  test('passive declare of an exchange that appears late: retried, nothing lost', async () => {
    const exchange = `ceilometer-late-${RUN}`;
    const registry = new Registry();
    const publisher = makePublisher(createFakeInspector(), registry, {
      exchange,
      polling: { sources: [{ name: 'p', interval: 3600, meters: ['cpu', 'memory.resident'] }] },
    });
    await publisher.start();
    await waitFor(
      async () => (await counter(registry, 'libvirt_publisher_send_failures_total')) >= 1,
      10_000,
      'a NOT_FOUND failure',
    );
    assert.equal(publisher.status().samplesPublished, 0);
    const c = consume(conn, exchange, { durable: false, queue: `late-${RUN}` });
    await c.ready;
    await waitFor(() => c.received.length === 2, 20_000, 'both notifications once the exchange exists');
    await publisher.stop();
    await c.consumer.close();
    assert.deepEqual(
      c.received.map((r) => r.samples[0]!.counter_name),
      ['cpu', 'memory.resident'],
    );
  });

  test('broker stopped and restarted mid-run: no sample lost while the queue has room', async () => {
    const exchange = `ceilometer-fault-${RUN}`;
    const c = consume(conn, exchange, { durable: true, queue: `fault-${RUN}` });
    await c.ready;
    const registry = new Registry();
    const publisher = makePublisher(createFakeInspector(), registry, {
      exchange,
      exchange_declare: 'durable',
      max_queue_length: 10000,
      polling: {
        sources: [
          {
            name: 'fast',
            interval: 1,
            meters: ['cpu', 'memory.resident', 'disk.device.read.bytes', 'network.incoming.bytes'],
          },
        ],
      },
    });
    await publisher.start();
    await sleep(2500);
    const beforeOutage = publisher.status().samplesPublished;
    assert.ok(beforeOutage >= 8, `published ${beforeOutage} before the outage`);
    rabbit('stop');
    const down = Date.now();
    await sleep(8000);
    const queued = publisher.status().queuedSamples;
    assert.ok(queued >= 16, `queued ${queued} while the broker was down`);
    assert.equal(await counter(registry, 'libvirt_publisher_broker_up'), 0);
    rabbit('start');
    const outage = (Date.now() - down) / 1000;
    await waitFor(
      () =>
        publisher.status().queuedSamples < 8 && publisher.status().samplesPublished > beforeOutage + queued,
      60_000,
      'the backlog sent',
    );
    await sleep(1500);
    await publisher.stop();
    const s = publisher.status();
    await waitFor(
      () => new Set(c.received.flatMap((r) => r.samples.map((x) => x.message_id))).size >= s.samplesPublished,
      30_000,
      'every published sample consumed',
    );
    await c.consumer.close();

    const ids = c.received.flatMap((r) => r.samples.map((x) => x.message_id as string));
    const unique = new Set(ids);
    assert.equal(s.samplesDropped, 0);
    assert.equal(s.samplesPublished, s.samplesPolled, 'everything polled was confirmed');
    assert.equal(
      unique.size,
      s.samplesPolled,
      `consumed ${unique.size} distinct samples of ${s.samplesPolled} (${ids.length - unique.size} redelivered)`,
    );
    // In order: per meter, sample timestamps never go back.
    for (const meter of ['cpu', 'network.incoming.bytes']) {
      const ts = c.received
        .flatMap((r) => r.samples)
        .filter((x) => x.counter_name === meter)
        .map((x) => x.timestamp as string);
      assert.deepEqual(ts, [...ts].sort(), `${meter} in order`);
    }
    assert.equal(await counter(registry, 'libvirt_publisher_samples_dropped_total'), 0);
    console.log(
      `# outage ${outage.toFixed(1)} s, ${queued} samples queued, ${s.samplesPolled} polled = published = consumed`,
    );
  });

  test('broker away longer than the queue holds: the excess dropped (oldest first) and counted', async () => {
    const exchange = `ceilometer-drop-${RUN}`;
    const c = consume(conn, exchange, { durable: true, queue: `drop-${RUN}` });
    await c.ready;
    const registry = new Registry();
    const publisher = makePublisher(createFakeInspector(), registry, {
      exchange,
      exchange_declare: 'durable',
      max_queue_length: 6,
      polling: {
        sources: [
          {
            name: 'fast',
            interval: 1,
            meters: ['cpu', 'memory.resident', 'disk.device.read.bytes', 'network.incoming.bytes'],
          },
        ],
      },
    });
    await publisher.start();
    await sleep(1500);
    rabbit('kill');
    await sleep(6000);
    assert.ok(publisher.status().queuedSamples <= 6);
    rabbit('start');
    await waitFor(() => publisher.status().queuedSamples < 4, 60_000, 'the queue drained');
    await publisher.stop();
    const s = publisher.status();
    await waitFor(
      () => new Set(c.received.flatMap((r) => r.samples.map((x) => x.message_id))).size >= s.samplesPublished,
      30_000,
      'every published sample consumed',
    );
    await c.consumer.close();
    const unique = new Set(c.received.flatMap((r) => r.samples.map((x) => x.message_id as string)));
    const dropped = await counter(registry, 'libvirt_publisher_samples_dropped_total', {
      reason: 'queue_full',
    });
    assert.ok(dropped >= 8, `dropped ${dropped}`);
    assert.equal(s.samplesDropped, dropped);
    assert.equal(s.samplesPublished + s.samplesDropped, s.samplesPolled);
    // A kill -9 may lose a message the broker had not yet written to disk, but never one it confirmed.
    assert.equal(unique.size, s.samplesPublished, `consumed ${unique.size}, confirmed ${s.samplesPublished}`);
    console.log(`# polled ${s.samplesPolled}, published ${s.samplesPublished}, dropped ${dropped}`);
  });

  test('the real lab guests through the real libvirt inspector', async () => {
    lab('up');
    // What virsh says, read before the publisher polls (other suites may restart libvirtd later).
    const guests = [
      'instance-00000001',
      'instance-00000002',
      'instance-00000003',
      'instance-00000004',
      'instance-00000005',
      'lab-plain-1',
    ];
    const uuids = new Map(guests.map((n) => [n, virsh('domuuid', n).trim()]));
    const tapsOf = new Map(
      guests.map((n) => [
        n,
        virsh('domiflist', n)
          .split('\n')
          .map((l) => l.trim().split(/\s+/)[0])
          .filter((x): x is string => x !== undefined && x !== '' && x !== '-'),
      ]),
    );
    const hostname = virsh('hostname').trim();
    const exchange = `ceilometer-lab-${RUN}`;
    const c = consume(conn, exchange, { durable: false, queue: `lab-${RUN}` });
    await c.ready;
    const inspector = createLibvirtInspector({ shardTimeoutMs: 1500 });
    const registry = new Registry();
    const publisher = makePublisher(inspector, registry, {
      exchange,
      polling: { sources: [{ name: 'all', interval: 3600, meters: ['*'] }] },
    });
    try {
      await publisher.start();
      await waitFor(() => publisher.status().polls[0]?.lastPoll !== undefined, 30_000, 'the first cycle');
      await waitFor(
        () => publisher.status().samplesPublished === publisher.status().samplesPolled,
        20_000,
        'the cycle published',
      );
      await waitFor(
        () => c.received.reduce((a, r) => a + r.samples.length, 0) === publisher.status().samplesPublished,
        10_000,
        'every sample consumed',
      );
    } finally {
      await publisher.stop();
      await c.consumer.close();
      await inspector.close();
    }
    assert.equal(publisher.status().polls[0]?.lastError, undefined);
    const samples = c.received.flatMap((r) => r.samples);
    const uuid = (name: string): string => uuids.get(name) ?? '';
    const of = (meter: string, name: string): PyDict[] =>
      samples.filter(
        (s) => s.counter_name === meter && (s.resource_metadata as PyDict).instance_id === uuid(name),
      );
    for (const name of ['instance-00000001', 'instance-00000002', 'instance-00000003', 'instance-00000004']) {
      const id = uuid(name);
      const [cpu] = of('cpu', name);
      assert.ok(cpu, `${name}: cpu`);
      assert.equal(cpu.resource_id, id);
      assert.equal((cpu.resource_metadata as PyDict).name, name);
      assert.equal((cpu.resource_metadata as PyDict).instance_host, hostname);
      assert.ok(
        of('memory.resident', name)[0]?.counter_volume instanceof PyFloat,
        `${name}: memory.resident`,
      );
      const disks = of('disk.device.read.bytes', name).map((s) => s.resource_id as string);
      assert.ok(disks.includes(`${id}-vda`), `${name}: disk ${disks.join()}`);
      const taps = tapsOf.get(name) ?? [];
      const nics = of('network.incoming.bytes', name).map((s) => s.resource_id as string);
      assert.deepEqual(nics.sort(), taps.map((t) => `${name}-${id}-${t}`).sort(), `${name}: vNICs`);
      for (const s of [...of('cpu', name), ...of('network.incoming.bytes', name)])
        assert.equal(verifySignature(s, SECRET), true);
    }
    const status = (n: string): unknown => (of('cpu', n)[0]?.resource_metadata as PyDict | undefined)?.status;
    assert.equal(status('instance-00000001'), 'active');
    assert.equal(status('instance-00000004'), 'paused');
    // The shut-off guest and the guest without Nova metadata produce nothing.
    for (const name of ['instance-00000005', 'lab-plain-1']) {
      const id = uuid(name);
      assert.deepEqual(
        samples.filter(
          (s) => (s.resource_metadata as PyDict).instance_id === id || (s.resource_id as string).includes(id),
        ),
        [],
        `${name} must produce no sample`,
      );
    }
    // The tiny guests report guest memory statistics: memory.usage exists for them.
    assert.ok(of('memory.usage', 'instance-00000001').length === 1);
  });
});
