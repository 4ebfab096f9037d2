// SPDX-License-Identifier: Apache-2.0
/**
 * The sender under a broker that blocks publishing (issue 15, item 12), with a fake broker that behaves
 * like RabbitMQ and rabbitmq-client (memory-transport.ts: a message written while blocked is held and
 * delivered at the unblock). Fake timers: minutes of blocking pass in no time.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';

import { pino } from 'pino';
import { Registry } from 'prom-client';

import { DeliveryQueue, type DropReason } from '../../../src/publisher/delivery-queue.ts';
import { registerPublisherMetrics } from '../../../src/publisher/metrics.ts';
import type { PyDict } from '../../../src/ceilometer/python-format.ts';
import { Sender } from '../../../src/publisher/sender.ts';
import { memoryTransport, type MemoryTransport } from './memory-transport.ts';

/** Lets promises, immediates and the fake transport's setImmediate run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Advances the fake clock by `ms` in steps, letting the loop run between them. */
async function pass(ms: number, step = 1000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    mock.timers.tick(step);
    await settle();
  }
}

interface Rig {
  sender: Sender;
  queue: DeliveryQueue;
  transport: MemoryTransport;
  drops: Map<DropReason, number>;
  published: { n: number };
}

function rig(policy: 'queue' | 'drop', maxSamples = 100): Rig {
  const { transport } = memoryTransport();
  const drops = new Map<DropReason, number>();
  const queue = new DeliveryQueue({
    maxSamples,
    onDrop: (n, reason) => drops.set(reason, (drops.get(reason) ?? 0) + n),
  });
  const metrics = registerPublisherMetrics(new Registry(), {
    queueSamples: () => queue.samples,
    queueCapacity: () => maxSamples,
    brokerUp: () => transport.connected,
    brokerBlocked: () => transport.blocked,
  });
  const published = { n: 0 };
  const sender = new Sender({
    queue,
    transport,
    metrics,
    logger: pino({ level: 'silent' }),
    policy,
    retryDelayMs: { min: 1000, max: 30_000 },
    onPublished: (n) => (published.n += n),
  });
  return { sender, queue, transport, drops, published };
}

let serial = 0;
/** A batch of `n` samples with unique message ids. */
function batch(n: number): { meter: string; samples: PyDict[] } {
  return {
    meter: 'cpu',
    samples: Array.from({ length: n }, () => ({ message_id: `m${++serial}` })),
  };
}

/** message_ids of every sample the fake broker delivered, in order. */
function deliveredIds(t: MemoryTransport): string[] {
  return t.sent.flatMap((body) => [...body.matchAll(/\\"message_id\\": \\"(m\d+)\\"/g)].map((m) => m[1]!));
}

describe('a broker that blocks publishing (connection.blocked)', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  test('nothing is written to a blocked connection; the queue goes out once, in order, at the unblock', async () => {
    const r = rig('queue');
    r.transport.blocked = true;
    for (let i = 0; i < 3; i++) r.queue.push(batch(10));
    r.sender.kick();
    await pass(10 * 60_000, 5000);
    // A write while blocked would sit in the client's corked socket, outside the queue bound.
    assert.deepEqual(r.transport.held, []);
    assert.equal(r.transport.sent.length, 0);
    assert.equal(r.queue.samples, 30);
    assert.equal(r.sender.held, true);
    r.transport.blocked = false;
    await pass(2000);
    const ids = deliveredIds(r.transport);
    assert.equal(ids.length, 30);
    assert.equal(new Set(ids).size, 30, 'no sample delivered twice');
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))),
    );
    assert.equal(r.published.n, 30);
    assert.equal(r.queue.samples, 0);
    await r.sender.flush(0);
  });

  test('a send in flight when the broker blocks is waited for, never sent again', async () => {
    const r = rig('queue');
    r.queue.push(batch(5));
    r.queue.push(batch(5));
    r.sender.kick();
    // The broker blocks while the first notification is on its way (before its confirm).
    r.transport.blocked = true;
    await pass(10 * 60_000, 5000);
    assert.equal(r.transport.held.length, 1, 'only the notification in flight was written');
    r.queue.push(batch(5));
    await pass(60_000, 5000);
    assert.equal(r.transport.held.length, 1);
    r.transport.blocked = false;
    await pass(2000);
    const ids = deliveredIds(r.transport);
    assert.equal(ids.length, 15);
    assert.equal(new Set(ids).size, 15, 'no sample delivered twice');
    await r.sender.flush(0);
  });

  test('while blocked, the queue holds at most max_queue_length samples (the oldest dropped and counted)', async () => {
    const r = rig('queue', 25);
    r.transport.blocked = true;
    r.sender.kick();
    for (let i = 0; i < 10; i++) {
      r.queue.push(batch(10));
      r.sender.kick();
      await pass(1000);
      assert.ok(r.queue.samples <= 25, `queue ${r.queue.samples}`);
    }
    assert.equal(r.drops.get('queue_full'), 75);
    r.transport.blocked = false;
    await pass(2000);
    assert.equal(deliveredIds(r.transport).length, 25);
    assert.equal(r.published.n + (r.drops.get('queue_full') ?? 0), 100);
    await r.sender.flush(0);
  });

  test('policy drop: nothing is held while the broker blocks', async () => {
    const r = rig('drop');
    r.transport.blocked = true;
    r.queue.push(batch(10));
    r.sender.kick();
    await pass(2000);
    assert.equal(r.drops.get('broker_unavailable'), 10);
    assert.equal(r.queue.samples, 0);
    assert.deepEqual(r.transport.held, []);
    await r.sender.flush(0);
  });

  test('stop while blocked: nothing is flushed into the blocked connection, the rest is left to count', async () => {
    const r = rig('queue');
    r.transport.blocked = true;
    r.queue.push(batch(10));
    r.sender.kick();
    await pass(5000);
    const flushed = r.sender.flush(5000);
    await pass(6000);
    await flushed;
    assert.deepEqual(r.transport.held, []);
    assert.equal(r.queue.samples, 10, 'left for the publisher to count as shutdown');
  });
});
