// SPDX-License-Identifier: Apache-2.0
// The exposition writer: values written as bytes exactly as formatValue (String) formats them, sample
// lines as the joined text would encode, UTF-8 label texts, a buffer that grows and is handed over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ExpositionWriter,
  formatValue,
  samplesBound,
  writeValue,
} from '../../../src/scrape/exposition-writer.ts';

/** What writeValue writes for `v`. */
function written(v: number): string {
  const buf = Buffer.alloc(64, 0x7e);
  const end = writeValue(buf, 3, v);
  assert.equal(buf[2], 0x7e, `wrote before its position for ${v}`);
  assert.equal(buf[end], 0x7e, `wrote past the end it returned for ${v}`);
  return buf.toString('latin1', 3, end);
}

/** Integers around every power of ten and around multiples of 10⁹ up to 2⁵³, both signs. */
function integerEdges(): number[] {
  const out: number[] = [];
  for (let p = 1; p <= 1e21; p *= 10) out.push(p - 1, p, p + 1);
  for (const k of [1, 2, 7, 999, 4096, 999_999, 9_007_198, 9_007_199])
    for (const d of [-2, -1, 0, 1, 2]) out.push(k * 1e9 + d);
  const safe = Number.MAX_SAFE_INTEGER;
  out.push(2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 52 + 1, safe - 1, safe, safe + 1, safe + 2, 2 ** 60, 2 ** 64);
  return [...out, ...out.map((v) => -v)];
}

test('writeValue writes exactly what formatValue formats, at the edges', () => {
  const special = [0, -0, Number.NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE];
  const fractions = [0.1, -0.5, 1.5, 1e-7, 1.2345678901234567e-6, -1.2345678901234567e-6, 1e21, 1.5e300];
  const tiny = [Number.MIN_VALUE, -Number.MIN_VALUE, Number.EPSILON, 2 ** -1074 * 3, 1e-300];
  for (const v of [...special, ...fractions, ...tiny, ...integerEdges()])
    assert.equal(written(v), formatValue(v), String(v));
  assert.equal(written(-0), '0');
  assert.equal(written(Number.NaN), 'NaN');
  assert.equal(written(-Infinity), '-Inf');
  assert.equal(written(Infinity), '+Inf');
  assert.equal(written(Number.MAX_SAFE_INTEGER), '9007199254740991');
  assert.equal(written(2 ** 60), '1152921504606847000');
  assert.equal(written(1e21), '1e+21');
});

test('writeValue matches formatValue on pseudo-random integers and doubles of every magnitude', () => {
  // A fixed linear congruential sequence: the same values every run.
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 20_000; i++) {
    const magnitude = 10 ** Math.floor(next() * 22);
    const v = next() * magnitude * (next() < 0.2 ? -1 : 1);
    for (const x of [v, Math.floor(v), Math.round(v / 1e9) * 1e9 - 1])
      assert.equal(written(x), formatValue(x));
  }
});

test('writeValue writes short decimals (durations converted from ns, ms, µs) exactly as formatValue', () => {
  let seed = 987654;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const edges = [1e-6, 1.5e-6, 9.99e-7, 0.000123, 0.1 + 0.2, 1 / 3, 2 / 3, 0.5, 123.456, 999999999.999999];
  edges.push(999_999_999_999_999.9, 99_999_999_999_999.9, 1e15 - 0.5, 1e15 + 0.5, 4503599627370495.5);
  const values = [...edges, ...edges.map((v) => -v)];
  for (let i = 0; i < 20_000; i++) {
    // Integers of every size (counters) under the conversions, and decimals of 1 to 12 places.
    const raw = Math.floor(next() * 10 ** Math.floor(next() * 17));
    values.push(raw / 1e9, raw / 1e6, raw * 1e-3, -raw / 1e9);
    const places = 1 + Math.floor(next() * 12);
    values.push(Math.floor(next() * 10 ** Math.floor(next() * 16)) / 10 ** places);
  }
  for (const v of values) assert.equal(written(v), formatValue(v), String(v));
  assert.equal(written(1.5), '1.5');
  assert.equal(written(-0.000123), '-0.000123');
  assert.equal(written(1234.000001), '1234.000001');
});

test('samples: lines as the joined text, UTF-8 label texts, from a tiny capacity that grows', () => {
  const labels = ['{a="1"}', '', '{a="ä😀",b="\\"x\\""}', '{a="µ…"}', '{a="' + 'z'.repeat(300) + '"}'];
  const values = [1, 2.5, -0, 4e9 + 7, Number.NaN];
  const out = new ExpositionWriter(1);
  out.text('# HELP m_total µ help …\n');
  out.samples('m_total', labels, values);
  out.samples('empty', [], []);
  out.samples('n', ['{b="2"}'], [7]);
  const want =
    '# HELP m_total µ help …\n' +
    labels.map((l, i) => `m_total${l} ${formatValue(values[i] ?? 0)}\n`).join('') +
    'n{b="2"} 7\n';
  assert.deepEqual(out.finish(), Buffer.from(want, 'utf8'));
});

test('finish hands over the body: a view when the capacity was about right, else an exact copy', () => {
  // Above half of Buffer.poolSize a buffer is an allocation of its own (the pool serves the smaller ones).
  const size = Buffer.poolSize * 2;
  const near = new ExpositionWriter(size);
  const line = `x{a="${'y'.repeat(size - 100)}"} 1\n`;
  near.text(line);
  const body = near.finish();
  assert.equal(body.toString(), line);
  assert.equal(body.buffer.byteLength, size, 'a view of the buffer written');
  const far = new ExpositionWriter(size);
  far.text('x 1\n');
  const exact = far.finish();
  assert.equal(exact.toString(), 'x 1\n');
  assert.ok(exact.buffer.byteLength < size, 'the spare bytes are not kept');
});

test('samplesBound is exact for ASCII labels and integers, and an upper bound for fractions', () => {
  const labels = ['{a="1"}', '{a="22"}', ''];
  const ints = [0, -12, Number.MAX_SAFE_INTEGER];
  const lines = (vs: number[]): number =>
    Buffer.byteLength(labels.map((l, i) => `m${l} ${formatValue(vs[i] ?? 0)}\n`).join(''));
  assert.equal(samplesBound('m', labels, ints), lines(ints));
  const fractions = [0.1, -1.2345678901234567e-6, Number.MAX_VALUE];
  assert.ok(samplesBound('m', labels, fractions) >= lines(fractions));
});
