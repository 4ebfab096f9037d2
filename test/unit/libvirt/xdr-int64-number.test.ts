// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedParamType } from '../../../src/libvirt/constants.ts';
import { XdrReader, XdrWriter } from '../../../src/libvirt/xdr.ts';

// Values around every place where float64 starts rounding, and the extremes.
const UNSIGNED = [
  0n,
  1n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 53n + 3n,
  2n ** 54n + 2n,
  2n ** 63n + 1025n,
  2n ** 64n - 1025n,
  2n ** 64n - 1n,
  123456789012345678n,
];
const SIGNED = [-(2n ** 63n), -(2n ** 53n) - 1n, -(2n ** 32n) - 1n, -1n, 2n ** 63n - 1n, 2n ** 53n + 1n];

test('64-bit integers read as numbers round exactly as Number(bigint) does', () => {
  for (const v of UNSIGNED) {
    const buf = new XdrWriter().u64(v).finish();
    assert.equal(new XdrReader(buf).u64Number(), Number(v), `u64 ${v}`);
  }
  for (const v of SIGNED) {
    const buf = new XdrWriter().i64(v).finish();
    assert.equal(new XdrReader(buf).i64Number(), Number(v), `i64 ${v}`);
  }
});

test('a typed parameter read with int64AsNumber has the number of its bigint, other types unchanged', () => {
  const w = new XdrWriter()
    .typedParam({ field: 'block.0.rd.bytes', type: TypedParamType.ULLONG, value: 2n ** 53n + 1n })
    .typedParam({ field: 'x.llong', type: TypedParamType.LLONG, value: -5n })
    .typedParam({ field: 'x.uint', type: TypedParamType.UINT, value: 7 })
    .typedParam({ field: 'x.str', type: TypedParamType.STRING, value: 'vda' });
  const r = new XdrReader(w.finish());
  assert.deepEqual(r.typedParam(1024, true), {
    field: 'block.0.rd.bytes',
    type: TypedParamType.ULLONG,
    value: Number(2n ** 53n + 1n),
  });
  assert.deepEqual(r.typedParam(1024, true), { field: 'x.llong', type: TypedParamType.LLONG, value: -5 });
  assert.deepEqual(r.typedParam(1024, true), { field: 'x.uint', type: TypedParamType.UINT, value: 7 });
  assert.deepEqual(r.typedParam(1024, true), { field: 'x.str', type: TypedParamType.STRING, value: 'vda' });
  r.expectEnd();
});

test('truncated 64-bit numbers fail like their bigint readers', () => {
  assert.throws(() => new XdrReader(Buffer.alloc(7)).u64Number(), /truncated u64/);
  assert.throws(() => new XdrReader(Buffer.alloc(4)).i64Number(), /truncated i64/);
});
