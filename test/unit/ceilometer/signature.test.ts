// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { parsePyJson, PyFloat, pyStr, type PyDict } from '../../../src/ceilometer/python-format.ts';
import { computeSignature, recursiveKeypairs, verifySignature } from '../../../src/ceilometer/signature.ts';

const SECRET = 'lab-telemetry-secret';
const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/ceilometer/${name}`, import.meta.url), 'utf8');
// parsePyJson keeps 45.0 a float, as the real example's input was.
const worked = parsePyJson(fixture('signature-worked-example.json')) as PyDict;

describe('worked example (Ceilometer 19.0.0 compute_signature output)', () => {
  const input = worked.input as PyDict;

  test('hashes the pairs in the recorded order and text', () => {
    const pairs = recursiveKeypairs(input).map(([k, v]) => [k, pyStr(v)]);
    assert.deepEqual(pairs, worked.hmac_input_pairs_in_order);
    assert.equal(pairs.map(([k, v]) => `${k}${v}`).join(''), worked.hmac_input_concatenated);
  });

  test('gives the recorded signature', () => {
    assert.equal(computeSignature(input, SECRET), worked.signature);
    assert.equal(
      computeSignature(input, SECRET),
      '23c39e3d7d8259d62aac664de0f42aa135035825865ee96a8ba47c3979daa1d2',
    );
  });

  test('verifies when signed, fails when tampered, and always passes with an empty secret', () => {
    const signed = { ...input, message_signature: computeSignature(input, SECRET) };
    assert.equal(verifySignature(signed, SECRET), true);
    assert.equal(verifySignature({ ...signed, counter_volume: new PyFloat(46) }, SECRET), false);
    assert.equal(verifySignature({ ...signed, message_signature: 'x' }, SECRET), false);
    assert.equal(verifySignature({ ...input, message_signature: 'anything' }, ''), true);
    assert.equal(computeSignature(input, ''), '');
  });

  test('edge cases: an int volume and a list value', () => {
    const intCase = worked.edge_int_volume_45 as PyDict;
    assert.equal(computeSignature({ ...input, counter_volume: 45 }, SECRET), intCase.signature);
    const listCase = worked.edge_list_value as PyDict;
    const md = { ...(input.resource_metadata as PyDict), tags: ['a', 1, null] };
    const withList = { ...input, resource_metadata: md };
    assert.deepEqual(
      recursiveKeypairs(withList)
        .map(([k, v]) => [k, pyStr(v)])
        .find(([k]) => k === 'resource_metadata:tags'),
      listCase.pair,
    );
    assert.equal(computeSignature(withList, SECRET), listCase.signature);
  });

  test('meter_message_from_counter example verifies (monotonic_time 1247.8 is a float)', () => {
    const example = worked.meter_message_from_counter_example as PyDict;
    assert.ok(example.monotonic_time instanceof PyFloat);
    assert.equal(computeSignature(example, SECRET), example.message_signature);
    assert.deepEqual(Object.keys(example), worked.meter_message_from_counter_keys);
  });
});

test('every captured sample signature is reproduced', () => {
  let samples = 0;
  for (const name of ['cpu', 'memory.resident', 'disk.device.read.bytes', 'network.incoming.bytes']) {
    const capture = JSON.parse(fixture(`telemetry.polling--${name}.json`)) as { raw_body: string };
    const envelope = parsePyJson(capture.raw_body) as PyDict;
    const inner = parsePyJson(envelope['oslo.message'] as string) as PyDict;
    for (const sample of (inner.payload as PyDict).samples as PyDict[]) {
      assert.equal(computeSignature(sample, SECRET), sample.message_signature, name);
      assert.equal(verifySignature(sample, SECRET), true);
      assert.equal(verifySignature(sample, 'another-secret'), false);
      samples++;
    }
  }
  assert.equal(samples, 4);
});

test('nested dicts are sorted per level, not as flattened names', () => {
  // As flat strings 'a-b' < 'a:x' ('-' < ':'), but Python sorts each level first: 'a' < 'a-b'.
  const pairs = recursiveKeypairs({ 'a-b': 1, a: { x: 2, a: { z: null } }, e: {} }).map(([k]) => k);
  assert.deepEqual(pairs, ['a:a:z', 'a:x', 'a-b']);
});
