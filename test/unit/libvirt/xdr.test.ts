// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { TypedParamType } from '../../../src/libvirt/constants.ts';
import { XdrDecodeError } from '../../../src/libvirt/errors.ts';
import { uuidToBytes, uuidToString } from '../../../src/libvirt/uuid.ts';
import { XdrReader, XdrWriter, type TypedParam } from '../../../src/libvirt/xdr.ts';

describe('XdrWriter / XdrReader round trips', () => {
  test('integers, hypers, doubles and booleans', () => {
    const w = new XdrWriter(16); // small start size exercises growth
    w.u32(0)
      .u32(0xffffffff)
      .i32(-1)
      .i32(2 ** 31 - 1)
      .i32(-(2 ** 31));
    w.u64(0n)
      .u64(2n ** 64n - 1n)
      .i64(-(2n ** 63n))
      .i64(2n ** 63n - 1n)
      .u64(12345);
    w.f64(Math.PI).f64(-0.5).bool(true).bool(false);
    const buf = w.finish();
    assert.equal(buf.length, 5 * 4 + 5 * 8 + 2 * 8 + 2 * 4);
    const r = new XdrReader(buf);
    assert.equal(r.u32(), 0);
    assert.equal(r.u32(), 0xffffffff);
    assert.equal(r.i32(), -1);
    assert.equal(r.i32(), 2 ** 31 - 1);
    assert.equal(r.i32(), -(2 ** 31));
    assert.equal(r.u64(), 0n);
    assert.equal(r.u64(), 2n ** 64n - 1n);
    assert.equal(r.i64(), -(2n ** 63n));
    assert.equal(r.i64(), 2n ** 63n - 1n);
    assert.equal(r.u64(), 12345n);
    assert.equal(r.f64(), Math.PI);
    assert.equal(r.f64(), -0.5);
    assert.equal(r.bool(), true);
    assert.equal(r.bool(), false);
    r.expectEnd();
  });

  test('u32 writes bit-31 flags given as negative int32 (1 << 31) as unsigned', () => {
    const buf = new XdrWriter()
      .u32(1 << 31)
      .u32(2 ** 31)
      .finish();
    assert.deepEqual([...buf], [0x80, 0, 0, 0, 0x80, 0, 0, 0]);
    const r = new XdrReader(buf);
    assert.equal(r.u32(), 2 ** 31);
    assert.equal(r.u32(), 2 ** 31);
  });

  test('strings and opaque data are length-prefixed and padded to 4 bytes', () => {
    const w = new XdrWriter();
    w.string('')
      .string('a')
      .string('abcd')
      .string('héllo')
      .opaqueVar(Buffer.from([1, 2, 3]))
      .opaqueFixed(Buffer.from([9, 8]), 2);
    const buf = w.finish();
    // '' = 4, 'a' = 4+4, 'abcd' = 4+4, 'héllo' (6 bytes) = 4+8, opaque 3 = 4+4, fixed 2 = 4
    assert.equal(buf.length, 4 + 8 + 8 + 12 + 8 + 4);
    const r = new XdrReader(buf);
    assert.equal(r.string(100), '');
    assert.equal(r.string(100), 'a');
    assert.equal(r.string(100), 'abcd');
    assert.equal(r.string(100), 'héllo');
    assert.deepEqual([...r.opaqueVar(10)], [1, 2, 3]);
    assert.deepEqual([...r.opaqueFixed(2)], [9, 8]);
    r.expectEnd();
    // padding bytes are zero
    assert.deepEqual([...buf.subarray(8, 12)], [0x61, 0, 0, 0]);
  });

  test('optional values and arrays', () => {
    const w = new XdrWriter();
    w.optional(null, (x, v: string) => x.string(v));
    w.optional('x', (x, v) => x.string(v));
    w.array([1, 2, 3], 10, (x, v) => x.i32(v));
    w.array([], 10, (x, v: number) => x.i32(v));
    const r = new XdrReader(w.finish());
    assert.equal(
      r.optional((x) => x.string(10)),
      null,
    );
    assert.equal(
      r.optional((x) => x.string(10)),
      'x',
    );
    assert.deepEqual(
      r.array(10, (x) => x.i32()),
      [1, 2, 3],
    );
    assert.deepEqual(
      r.array(10, (x) => x.i32()),
      [],
    );
    r.expectEnd();
  });

  test('typed parameters of every type', () => {
    const params: TypedParam[] = [
      { field: 'state.state', type: TypedParamType.INT, value: -5 },
      { field: 'cpu.cache.monitor.count', type: TypedParamType.UINT, value: 4000000000 },
      { field: 'x.llong', type: TypedParamType.LLONG, value: -(2n ** 40n) },
      { field: 'cpu.time', type: TypedParamType.ULLONG, value: 2n ** 63n + 7n },
      { field: 'dirtyrate.rate', type: TypedParamType.DOUBLE, value: 1.25 },
      { field: 'vcpu.0.halted', type: TypedParamType.BOOLEAN, value: true },
      { field: 'block.0.path', type: TypedParamType.STRING, value: '/var/lib/libvirt/images/d1.qcow2' },
    ];
    const w = new XdrWriter();
    for (const p of params) w.typedParam(p);
    const r = new XdrReader(w.finish());
    const back = params.map(() => r.typedParam(1024));
    r.expectEnd();
    assert.deepEqual(back, params);
  });

  test('typed parameter with an unknown type is a decode error', () => {
    const buf = new XdrWriter().string('f').i32(99).i32(0).finish();
    assert.throws(() => new XdrReader(buf).typedParam(100), XdrDecodeError);
  });

  test('writer rejects out-of-range values and mismatched typed params', () => {
    const w = new XdrWriter();
    assert.throws(() => w.u32(2 ** 32), RangeError);
    assert.throws(() => w.u32(-(2 ** 31) - 1), RangeError);
    assert.throws(() => w.u32(1.5), RangeError);
    assert.throws(() => w.i32(2 ** 31), RangeError);
    assert.throws(() => w.u64(-1n), RangeError);
    assert.throws(() => w.i64(2n ** 63n), RangeError);
    assert.throws(() => w.string('abc', 2), RangeError);
    assert.throws(() => w.array([1, 2], 1, (x, v) => x.i32(v)), RangeError);
    assert.throws(() => w.opaqueFixed(Buffer.alloc(3), 4), RangeError);
    assert.throws(() => w.typedParam({ field: 'f', type: TypedParamType.STRING, value: 1 }), TypeError);
    assert.throws(() => w.typedParam({ field: 'f', type: TypedParamType.INT, value: 'x' }), TypeError);
    assert.throws(() => w.typedParam({ field: 'f', type: 42, value: 1 }), RangeError);
  });
});

describe('XdrReader on bad input', () => {
  test('truncated scalars throw XdrDecodeError with the offset', () => {
    const r = new XdrReader(Buffer.from([0, 0, 0, 1, 0, 0]));
    assert.equal(r.u32(), 1);
    assert.throws(
      () => r.u32(),
      (err: unknown) =>
        err instanceof XdrDecodeError && err.offset === 4 && /truncated u32/.test(err.message),
    );
    assert.throws(() => new XdrReader(Buffer.alloc(7)).u64(), XdrDecodeError);
    assert.throws(() => new XdrReader(Buffer.alloc(7)).f64(), XdrDecodeError);
  });

  test('length over its maximum, or over the bytes left, fails before allocating', () => {
    const huge = new XdrWriter().u32(0xfffffff0).finish();
    assert.throws(() => new XdrReader(huge).string(1 << 20), /over its maximum/);
    assert.throws(() => new XdrReader(huge).opaqueVar(2 ** 32), /truncated opaque/);
    assert.throws(() => new XdrReader(huge).array(2 ** 32, (x) => x.u32()), /cannot fit/);
    const big = new XdrWriter().u32(5).finish();
    assert.throws(() => new XdrReader(big).array(4, (x) => x.u32()), /over its maximum/);
  });

  test('optional discriminant other than 0/1 is rejected', () => {
    const buf = new XdrWriter().u32(2).finish();
    assert.throws(() => new XdrReader(buf).optional((x) => x.u32()), /neither 0 nor 1/);
  });

  test('expectEnd rejects trailing bytes', () => {
    const r = new XdrReader(Buffer.alloc(8));
    r.u32();
    assert.throws(() => {
      r.expectEnd();
    }, /trailing/);
  });

  test('the reader honours its byte range', () => {
    const buf = new XdrWriter().u32(1).u32(2).u32(3).finish();
    const r = new XdrReader(buf, 4, 8);
    assert.equal(r.u32(), 2);
    assert.equal(r.remaining, 0);
    assert.throws(() => r.u32(), XdrDecodeError);
  });
});

describe('UUIDs', () => {
  test('bytes to canonical string and back', () => {
    const bytes = Buffer.from('11111111222233334444555555555501', 'hex');
    assert.equal(uuidToString(bytes), '11111111-2222-3333-4444-555555555501');
    assert.deepEqual(uuidToBytes('11111111-2222-3333-4444-555555555501'), bytes);
    assert.deepEqual(uuidToBytes('11111111222233334444555555555501'), bytes);
    assert.equal(
      uuidToString(uuidToBytes('AABBCCDD-EEFF-0011-2233-445566778899')),
      'aabbccdd-eeff-0011-2233-445566778899',
    );
  });

  test('malformed UUIDs are rejected', () => {
    assert.throws(() => uuidToBytes('not-a-uuid'), RangeError);
    assert.throws(() => uuidToBytes('11111111-2222-3333-4444-5555555555'), RangeError);
  });
});
