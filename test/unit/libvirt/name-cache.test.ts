// SPDX-License-Identifier: Apache-2.0
// Issue 16 (footprint, CPU): typed-parameter names are interned by NameCache. It must never hand out the
// string of other bytes, and a daemon sending ever new names must not grow it without limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RemoteLimits, TypedParamType } from '../../../src/libvirt/constants.ts';
import { XdrDecodeError } from '../../../src/libvirt/errors.ts';
import { NAME_CACHE_MAX_ENTRIES, NameCache } from '../../../src/libvirt/name-cache.ts';
import { XdrReader, XdrWriter } from '../../../src/libvirt/xdr.ts';

/** The cache's hash (FNV-1a, 32 bits) over a string's bytes, to build colliding names. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'latin1')) h = Math.imul(h ^ b, 0x01000193);
  return h;
}

/** `s` at `offset` of a larger buffer, as it sits inside a reply. */
function inside(s: string, offset = 5): Buffer {
  return Buffer.concat([Buffer.alloc(offset, 0x41), Buffer.from(s, 'utf8'), Buffer.alloc(3, 0x42)]);
}

test('the same bytes give the same string object, wherever they sit in the buffer', () => {
  const cache = new NameCache();
  const a = cache.get(inside('block.0.rd.bytes', 5), 5, 16);
  const b = cache.get(inside('block.0.rd.bytes', 11), 11, 16);
  assert.equal(a, 'block.0.rd.bytes');
  assert.ok(Object.is(a, b));
  assert.equal(cache.size, 1);
});

test('names of the same length and the same hash are told apart by their bytes', () => {
  const [x, y] = ['block.122789.rd', 'block.339192.rd'];
  assert.equal(x.length, y.length);
  assert.equal(fnv1a(x), fnv1a(y)); // the precondition: a real collision of the cache's hash
  const cache = new NameCache(4);
  for (let round = 0; round < 3; round++) {
    assert.equal(cache.get(Buffer.from(x), 0, x.length), x);
    assert.equal(cache.get(Buffer.from(y), 0, y.length), y);
  }
  assert.equal(cache.size, 2);
});

test('names that differ in one byte, or are a prefix of another, are different strings', () => {
  const cache = new NameCache(8);
  const names = ['vcpu.0.time', 'vcpu.1.time', 'vcpu.0.timf', 'vcpu.0.tim', 'vcpu.0.time.x', ''];
  for (let round = 0; round < 2; round++)
    for (const n of names) assert.equal(cache.get(inside(n), 5, Buffer.byteLength(n)), n);
  assert.equal(cache.size, names.length);
});

test('a name with bytes over 0x7f is decoded as UTF-8 and not kept', () => {
  const cache = new NameCache();
  const n = 'perf.événement';
  assert.equal(cache.get(inside(n), 5, Buffer.byteLength(n)), n);
  const bad = Buffer.from([0x61, 0xff, 0x62]);
  assert.equal(cache.get(bad, 0, 3), 'a\ufffdb'); // as buf.toString('utf8') decodes it
  assert.equal(cache.size, 0);
});

test('bounded: ever new names never make it hold more than its maximum, and every answer is right', () => {
  const cache = new NameCache(8);
  for (let i = 0; i < 1000; i++) {
    const n = `hostile.${i}`;
    assert.equal(cache.get(Buffer.from(n), 0, n.length), n);
    assert.ok(cache.size <= 8, `size ${cache.size} after ${i + 1} names`);
  }
  assert.ok(cache.resets >= 1000 / 9 - 1, `${cache.resets} resets`);
  // After a reset the usual names are cached again.
  const a = cache.get(Buffer.from('cpu.time'), 0, 8);
  assert.ok(Object.is(a, cache.get(Buffer.from('cpu.time'), 0, 8)));
  assert.equal(NAME_CACHE_MAX_ENTRIES, 2048);
  assert.throws(() => new NameCache(0), RangeError);
});

test('typedParam through a cache reads what it reads without one, and keeps the name limit', () => {
  const w = new XdrWriter()
    .typedParam({ field: 'block.0.rd.bytes', type: TypedParamType.ULLONG, value: 42n })
    .typedParam({ field: 'block.0.rd.bytes', type: TypedParamType.ULLONG, value: 43n });
  const max = RemoteLimits.TYPED_PARAM_FIELD_LENGTH - 1;
  const cache = new NameCache();
  const r = new XdrReader(w.finish());
  const first = r.typedParam(1024, true, max, cache);
  const second = r.typedParam(1024, true, max, cache);
  assert.deepEqual(first, { field: 'block.0.rd.bytes', type: TypedParamType.ULLONG, value: 42 });
  assert.deepEqual(second, { field: 'block.0.rd.bytes', type: TypedParamType.ULLONG, value: 43 });
  r.expectEnd();
  const long = new XdrWriter().typedParam({ field: 'x'.repeat(max + 1), type: 1, value: 1 }).finish();
  assert.throws(
    () => new XdrReader(long).typedParam(1024, true, max, cache),
    (err: unknown) =>
      err instanceof XdrDecodeError && /VIR_TYPED_PARAM_FIELD_LENGTH\) length 80/.test(err.message),
  );
  // Truncated name bytes are refused before the cache reads them.
  const cut = new XdrWriter().typedParam({ field: 'cpu.time', type: 1, value: 1 }).finish().subarray(0, 9);
  assert.throws(() => new XdrReader(cut).typedParam(1024, true, max, cache), XdrDecodeError);
  assert.equal(cache.size, 1);
});

test('the name that followed the previous one is a guess: returned only when its bytes match', () => {
  const cache = new NameCache(8);
  const get = (n: string): string => cache.get(inside(n), 5, n.length);
  // Learn the order vcpu.0.time -> vcpu.0.wait, then break it with a name of the same length.
  for (let round = 0; round < 3; round++) {
    assert.equal(get('vcpu.0.time'), 'vcpu.0.time');
    assert.equal(get('vcpu.0.wait'), 'vcpu.0.wait');
  }
  assert.equal(get('vcpu.0.time'), 'vcpu.0.time');
  assert.equal(get('vcpu.0.wahh'), 'vcpu.0.wahh');
  assert.equal(get('vcpu.0.time'), 'vcpu.0.time');
  assert.equal(get('vcpu.0.wai'), 'vcpu.0.wai');
  // A name over 0x7f after a known one is decoded, not guessed.
  assert.equal(get('vcpu.0.time'), 'vcpu.0.time');
  assert.equal(cache.get(inside('vcpu.0.wäit'), 5, Buffer.byteLength('vcpu.0.wäit')), 'vcpu.0.wäit');
  // Through resets (a cache of 2 names) the guesses never outlive the names they point to.
  const small = new NameCache(2);
  const names = ['a.1', 'a.2', 'a.3', 'a.4', 'a.5'];
  for (let round = 0; round < 5; round++)
    for (const n of names) assert.equal(small.get(Buffer.from(n), 0, n.length), n);
  assert.ok(small.size <= 2 && small.resets > 0);
});
