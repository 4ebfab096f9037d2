// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  compareCodePoints,
  parsePyJson,
  PyFloat,
  pyFloatRepr,
  pyJsonDumps,
  pyStr,
  type PyDict,
  type PyValue,
} from '../../../src/ceilometer/python-format.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/ceilometer/${name}`, import.meta.url), 'utf8');

describe('pyFloatRepr', () => {
  test('matches CPython repr() on every recorded double', () => {
    const { cases } = JSON.parse(fixture('python-float-repr.json')) as { cases: [string, string][] };
    assert.ok(cases.length > 6000);
    let checked = 0;
    for (const [hex, expected] of cases) {
      const value = Buffer.from(hex, 'hex').readDoubleBE(0);
      assert.equal(pyFloatRepr(value), expected, `repr of ${hex}`);
      checked++;
    }
    assert.equal(checked, cases.length);
  });

  test('layout rules: .0, exponent thresholds, two-digit exponents, specials', () => {
    assert.equal(pyFloatRepr(45), '45.0');
    assert.equal(pyFloatRepr(45.08203125), '45.08203125');
    assert.equal(pyFloatRepr(1e-4), '0.0001');
    assert.equal(pyFloatRepr(1e-5), '1e-05');
    assert.equal(pyFloatRepr(1e-7), '1e-07');
    assert.equal(pyFloatRepr(1.5e-7), '1.5e-07');
    assert.equal(pyFloatRepr(1e15), '1000000000000000.0');
    assert.equal(pyFloatRepr(1e16), '1e+16');
    assert.equal(pyFloatRepr(1.7976931348623157e308), '1.7976931348623157e+308');
    assert.equal(pyFloatRepr(5e-324), '5e-324');
    assert.equal(pyFloatRepr(-0), '-0.0');
    assert.equal(pyFloatRepr(NaN), 'nan');
    assert.equal(pyFloatRepr(-Infinity), '-inf');
  });
});

describe('pyStr (the signature text of a value)', () => {
  test('scalars as Python str()', () => {
    assert.equal(pyStr(null), 'None');
    assert.equal(pyStr(true), 'True');
    assert.equal(pyStr(false), 'False');
    assert.equal(pyStr(45), '45');
    assert.equal(pyStr(new PyFloat(45)), '45.0');
    assert.equal(pyStr(2 ** 64), '18446744073709551616');
    assert.equal(pyStr(18446744073709551615n), '18446744073709551615');
    assert.equal(pyStr('web-1'), 'web-1');
  });

  test('lists after decode_unicode, as recorded from CPython', () => {
    const doc = parsePyJson(fixture('python-json.json')) as PyDict;
    const lists = doc.lists as [PyValue, string][];
    assert.ok(lists.length >= 10);
    for (const [value, expected] of lists) assert.equal(pyStr(value), expected, JSON.stringify(expected));
  });
});

describe('pyJsonDumps', () => {
  test('strings escaped as json.dumps(ensure_ascii=True)', () => {
    const doc = parsePyJson(fixture('python-json.json')) as PyDict;
    for (const [s, expected] of doc.strings as [string, string][]) assert.equal(pyJsonDumps(s), expected);
  });

  test('a nested dict with floats, ints beyond 2^53, empty dict, unicode', () => {
    const doc = parsePyJson(fixture('python-json.json')) as PyDict;
    const [value, expected] = doc.nested as [PyValue, string];
    assert.equal(pyJsonDumps(value), expected);
  });

  test('re-serialises every captured AMQP body byte for byte (both envelope levels)', () => {
    for (const name of ['cpu', 'memory.resident', 'disk.device.read.bytes', 'network.incoming.bytes']) {
      const capture = JSON.parse(fixture(`telemetry.polling--${name}.json`)) as { raw_body: string };
      const envelope = parsePyJson(capture.raw_body) as PyDict;
      const inner = parsePyJson(envelope['oslo.message'] as string);
      assert.equal(pyJsonDumps(inner), envelope['oslo.message'], name);
      assert.equal(pyJsonDumps(envelope), capture.raw_body, name);
    }
  });
});

describe('parsePyJson', () => {
  test('keeps the int/float distinction of the text', () => {
    const v = parsePyJson(
      '{"a": 45.0, "b": 45, "c": 1e-07, "d": 18446744073709551615, "e": [NaN, -Infinity]}',
    ) as PyDict;
    assert.ok(v.a instanceof PyFloat && v.a.value === 45);
    assert.equal(v.b, 45);
    assert.ok(v.c instanceof PyFloat && v.c.value === 1e-7);
    assert.equal(v.d, 18446744073709551615n);
    assert.equal(
      pyJsonDumps(v),
      '{"a": 45.0, "b": 45, "c": 1e-07, "d": 18446744073709551615, "e": [NaN, -Infinity]}',
    );
  });

  test('rejects malformed input', () => {
    assert.throws(() => parsePyJson('{"a": }'), /offset/);
    assert.throws(() => parsePyJson('[1, 2'), /offset/);
    assert.throws(() => parsePyJson('{} x'), /trailing/);
  });
});

test('compareCodePoints sorts like Python sorted() (astral after BMP private use)', () => {
  const keys = ['\u{1F600}', '\uFF5E', 'b', 'a:b', 'a_b', 'A'];
  assert.deepEqual([...keys].sort(compareCodePoints), ['A', 'a:b', 'a_b', 'b', '\uFF5E', '\u{1F600}']);
});
