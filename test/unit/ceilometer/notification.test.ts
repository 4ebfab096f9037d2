// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  AMQP_PROPERTIES,
  batchSamples,
  buildNotificationBody,
  buildOsloMessage,
} from '../../../src/ceilometer/notification.ts';
import { parsePyJson, type PyDict } from '../../../src/ceilometer/python-format.ts';

const capture = (
  name: string,
): { raw_body: string; amqp_properties: Record<string, unknown>; amqp_method: Record<string, unknown> } =>
  JSON.parse(
    readFileSync(
      new URL(`../../fixtures/ceilometer/telemetry.polling--${name}.json`, import.meta.url),
      'utf8',
    ),
  ) as never;

describe('oslo envelope', () => {
  for (const name of ['cpu', 'memory.resident', 'disk.device.read.bytes', 'network.incoming.bytes']) {
    test(`rebuilds the captured ${name} body byte for byte from its samples and ids`, () => {
      const c = capture(name);
      const inner = parsePyJson((parsePyJson(c.raw_body) as PyDict)['oslo.message'] as string) as PyDict;
      const [date, time] = (inner.timestamp as string).split(' ');
      const micros =
        BigInt(Date.parse(`${date}T${time?.slice(0, 8)}Z`)) * 1000n + BigInt(time?.slice(9) ?? '0');
      const body = buildNotificationBody((inner.payload as PyDict).samples as PyDict[], {
        messageId: inner.message_id as string,
        uniqueId: inner._unique_id as string,
        nowMicros: micros,
      });
      assert.equal(body, c.raw_body);
    });
  }

  test('message fields and order', () => {
    const m = buildOsloMessage([]);
    assert.deepEqual(Object.keys(m), [
      'message_id',
      'publisher_id',
      'event_type',
      'priority',
      'payload',
      'timestamp',
      '_unique_id',
    ]);
    assert.equal(m.publisher_id, 'ceilometer.polling');
    assert.equal(m.event_type, 'telemetry.polling');
    assert.equal(m.priority, 'SAMPLE');
    assert.match(m.timestamp as string, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
    assert.match(m._unique_id as string, /^[0-9a-f]{32}$/);
  });

  test('AMQP properties are the captured ones', () => {
    const p = capture('cpu').amqp_properties;
    assert.deepEqual(
      {
        contentType: p.content_type,
        contentEncoding: p.content_encoding,
        deliveryMode: p.delivery_mode,
        priority: p.priority,
        headers: p.headers,
      },
      AMQP_PROPERTIES,
    );
  });
});

describe('batchSamples', () => {
  const items = Array.from({ length: 120 }, (_, i) => i);
  test('chunks of at most batch_size', () => {
    assert.deepEqual(
      batchSamples(items, 50).map((b) => b.length),
      [50, 50, 20],
    );
    assert.deepEqual(batchSamples(items, 50).flat(), items);
    assert.deepEqual(
      batchSamples(items, 200).map((b) => b.length),
      [120],
    );
  });
  test('batch_size 0 sends one sample per notification', () => {
    assert.equal(batchSamples(items, 0).length, 120);
    assert.deepEqual(batchSamples([], 50), []);
  });
});
