// SPDX-License-Identifier: Apache-2.0
// A typed Sample as the publisher sends it (src/ceilometer/message.ts): the dict of
// meter_message_from_counter in its key order, the Python int/float of the volume, the signature.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { sampleMessage, sampleMessages } from '../../../src/ceilometer/message.ts';
import { PyFloat, pyJsonDumps } from '../../../src/ceilometer/python-format.ts';
import { verifySignature } from '../../../src/ceilometer/signature.ts';
import type { Sample } from '../../../src/ceilometer/types.ts';

const SAMPLE: Sample = {
  name: 'memory.usage',
  type: 'gauge',
  unit: 'MB',
  volume: 45,
  float: true,
  userId: 'u1',
  projectId: 'p1',
  resourceId: 'r1',
  metadata: { display_name: 'web-1', name: 'instance-00000001' },
  monotonicTime: 1000.5,
};

function context(): { source: string; secret: string; messageId: () => string } {
  let n = 0;
  return { source: 'openstack', secret: 's3cret', messageId: () => `id-${n++}` };
}

describe('sampleMessage', () => {
  test('the keys of meter_message_from_counter, in order, from the typed fields', () => {
    const m = sampleMessage(context(), SAMPLE, '2026-11-25T16:46:28.000001');
    assert.deepEqual(Object.keys(m), [
      'source',
      'counter_name',
      'counter_type',
      'counter_unit',
      'counter_volume',
      'user_id',
      'project_id',
      'resource_id',
      'timestamp',
      'resource_metadata',
      'message_id',
      'monotonic_time',
      'message_signature',
    ]);
    const { counter_name, counter_type, counter_unit, user_id, project_id, resource_id, message_id } = m;
    assert.deepEqual(
      [counter_name, counter_type, counter_unit, user_id, project_id, resource_id, message_id],
      ['memory.usage', 'gauge', 'MB', 'u1', 'p1', 'r1', 'id-0'],
    );
    assert.deepEqual(m.resource_metadata, SAMPLE.metadata);
    assert.equal(verifySignature(m, 's3cret'), true);
    assert.equal(verifySignature(m, 'other'), false);
  });

  test('float volumes print as Python floats, int volumes as ints, exact integers in full', () => {
    const float = sampleMessage(context(), SAMPLE, 't');
    assert.deepEqual(float.counter_volume, new PyFloat(45));
    assert.match(pyJsonDumps(float), /"counter_volume": 45\.0, /);
    const int = sampleMessage(context(), { ...SAMPLE, float: false }, 't');
    assert.equal(int.counter_volume, 45);
    const big = 2n ** 64n - 1n;
    const exact = sampleMessage(
      context(),
      { ...SAMPLE, float: false, volume: 2 ** 64, exactVolume: big },
      't',
    );
    assert.equal(exact.counter_volume, big);
    assert.match(pyJsonDumps(exact), /"counter_volume": 18446744073709551615, /);
  });

  test('an empty secret leaves the signature empty', () => {
    const m = sampleMessage({ ...context(), secret: '' }, SAMPLE, 't');
    assert.equal(m.message_signature, '');
  });
});

test('sampleMessages: one timestamp for the meter, one message id per sample in order', () => {
  const out = sampleMessages(context(), [SAMPLE, { ...SAMPLE, resourceId: 'r2' }], '2026-01-01T00:00:00');
  assert.deepEqual(
    out.map((m) => [m.resource_id, m.message_id, m.timestamp]),
    [
      ['r1', 'id-0', '2026-01-01T00:00:00'],
      ['r2', 'id-1', '2026-01-01T00:00:00'],
    ],
  );
});
