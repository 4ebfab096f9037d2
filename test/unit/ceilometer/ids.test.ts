// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  createUuid1,
  monotonicSeconds,
  nowMicros,
  pyIsoformat,
  pyStrDatetime,
  uuid1Micros,
  uuid4,
  uuid4Hex,
} from '../../../src/ceilometer/ids.ts';

describe('uuid1', () => {
  test('decodes the captured message_id to its capture time', () => {
    // c27aad26-e8ef-11f1-85e6-02fc00000001 was generated at 2026-11-25T16:46:28 UTC.
    const micros = uuid1Micros('c27aad26-e8ef-11f1-85e6-02fc00000001');
    assert.equal(new Date(Number(micros / 1000n)).toISOString().slice(0, 19), '2026-11-25T16:46:28');
  });

  test('has the layout of Python uuid.uuid1(): version 1, RFC variant, node, fixed clock sequence', () => {
    const gen = createUuid1({ node: '02fc00000001', clockSeq: 0x05e6, now: () => 1795797988284109n });
    const id = gen();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-02fc00000001$/);
    assert.equal(id.split('-')[3], '85e6');
    assert.equal(uuid1Micros(id), 1795797988284109n);
  });

  test('is unique and increasing within one clock tick and when the clock steps back', () => {
    let t = 1_800_000_000_000_000n;
    const gen = createUuid1({ node: 'aabbccddeeff', now: () => t });
    const seen = new Set<string>();
    let last = 0n;
    for (let i = 0; i < 20000; i++) {
      if (i === 10000) t -= 5_000_000n; // clock steps back 5 s
      const id = gen();
      assert.ok(!seen.has(id));
      seen.add(id);
      const stamp = BigInt(`0x${id.slice(15, 18)}${id.slice(9, 13)}${id.slice(0, 8)}`);
      assert.ok(stamp > last);
      last = stamp;
    }
  });

  test('defaults: host MAC or a random multicast node, and the current time', () => {
    const id = createUuid1()();
    const node = id.slice(24);
    assert.match(node, /^[0-9a-f]{12}$/);
    const skew = Number(uuid1Micros(id) - nowMicros());
    assert.ok(Math.abs(skew) < 1_000_000, `clock skew ${skew} µs`);
    assert.throws(() => createUuid1({ node: 'xyz' }), /12 hex digits/);
  });
});

describe('timestamps as Python writes them', () => {
  test('isoformat: naive UTC with microseconds, dropped when zero', () => {
    const t = BigInt(Date.UTC(2026, 10, 25, 16, 46, 28)) * 1000n;
    assert.equal(pyIsoformat(t + 284109n), '2026-11-25T16:46:28.284109');
    assert.equal(pyIsoformat(t + 5n), '2026-11-25T16:46:28.000005');
    assert.equal(pyIsoformat(t), '2026-11-25T16:46:28');
    assert.equal(pyStrDatetime(t + 284485n), '2026-11-25 16:46:28.284485');
    assert.equal(pyStrDatetime(t), '2026-11-25 16:46:28');
  });

  test('monotonic clock and ids', () => {
    const a = monotonicSeconds();
    const b = monotonicSeconds();
    assert.ok(a > 0 && b >= a);
    assert.match(uuid4(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(uuid4Hex(), /^[0-9a-f]{32}$/);
  });
});
