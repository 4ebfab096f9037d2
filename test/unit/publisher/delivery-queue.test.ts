// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DeliveryQueue, type DropReason } from '../../../src/publisher/delivery-queue.ts';
import type { PyDict } from '../../../src/ceilometer/python-format.ts';

const samples = (prefix: string, n: number): PyDict[] =>
  Array.from({ length: n }, (_, i) => ({ message_id: `${prefix}${i}` }));
const ids = (q: DeliveryQueue): string[] => {
  const out: string[] = [];
  for (;;) {
    const b = q.take();
    if (!b) return out;
    out.push(...b.samples.map((s) => s.message_id as string));
    q.done();
  }
};

function queue(max: number): { q: DeliveryQueue; drops: [number, DropReason][] } {
  const drops: [number, DropReason][] = [];
  return { q: new DeliveryQueue({ maxSamples: max, onDrop: (n, r) => drops.push([n, r]) }), drops };
}

test('keeps order and counts samples', () => {
  const { q, drops } = queue(100);
  q.push({ meter: 'cpu', samples: samples('a', 3) });
  q.push({ meter: 'memory.resident', samples: samples('b', 2) });
  q.push({ meter: 'empty', samples: [] });
  assert.equal(q.samples, 5);
  assert.equal(q.length, 2);
  assert.deepEqual(ids(q), ['a0', 'a1', 'a2', 'b0', 'b1']);
  assert.equal(q.samples, 0);
  assert.deepEqual(drops, []);
});

test('drops the oldest samples first when full, trimming a batch if needed', () => {
  const { q, drops } = queue(5);
  q.push({ meter: 'm', samples: samples('a', 3) });
  q.push({ meter: 'm', samples: samples('b', 3) });
  assert.equal(q.samples, 5);
  q.push({ meter: 'm', samples: samples('c', 4) });
  assert.deepEqual(drops, [
    [1, 'queue_full'],
    [4, 'queue_full'],
  ]);
  assert.deepEqual(ids(q), ['b2', 'c0', 'c1', 'c2', 'c3']);
});

test('never trims the batch in flight; a retried batch stays first', () => {
  const { q, drops } = queue(4);
  q.push({ meter: 'm', samples: samples('a', 3) });
  const inFlight = q.take();
  assert.equal(inFlight?.samples.length, 3);
  q.push({ meter: 'm', samples: samples('b', 3) });
  // 6 > 4: two samples must go, but not from the batch in flight.
  assert.deepEqual(drops, [[2, 'queue_full']]);
  assert.equal(inFlight.samples.length, 3);
  q.release();
  assert.deepEqual(ids(q), ['a0', 'a1', 'a2', 'b2']);
});

test('dropAll and dropInFlight count what they drop', () => {
  const { q, drops } = queue(100);
  q.push({ meter: 'm', samples: samples('a', 2) });
  q.push({ meter: 'm', samples: samples('b', 3) });
  q.take();
  q.dropAll('broker_unavailable');
  assert.equal(q.samples, 2);
  q.dropInFlight('shutdown');
  assert.equal(q.samples, 0);
  assert.deepEqual(drops, [
    [3, 'broker_unavailable'],
    [2, 'shutdown'],
  ]);
  assert.equal(q.take(), undefined);
});

test('long runs stay bounded and ordered (compaction)', () => {
  const { q } = queue(1_000_000);
  const got: string[] = [];
  for (let i = 0; i < 5000; i++) {
    q.push({ meter: 'm', samples: samples(`x${i}-`, 1) });
    if (i % 2 === 1) {
      for (let k = 0; k < 2; k++) {
        const b = q.take();
        got.push(...(b?.samples.map((s) => s.message_id as string) ?? []));
        q.done();
      }
    }
  }
  assert.equal(got.length, 5000);
  assert.equal(got[4999], 'x4999-0');
  assert.equal(q.samples, 0);
});
