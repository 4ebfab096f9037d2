// SPDX-License-Identifier: Apache-2.0
// Issue 15, item 9: decoder amplification. The decoders apply libvirt's own limits (remote_protocol.x's
// REMOTE_*_MAX and VIR_TYPED_PARAM_FIELD_LENGTH) and refuse a reply over one of them with
// XdrDecodeError, before reading or allocating its items.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { RemoteLimits, TypedParamType } from '../../../src/libvirt/constants.ts';
import { XdrDecodeError } from '../../../src/libvirt/errors.ts';
import { decodeGetAllDomainStatsRet, writeDomain } from '../../../src/libvirt/procedures.ts';
import { listAllStoragePools } from '../../../src/libvirt/pools-and-jobs.ts';
import { XdrReader, XdrWriter } from '../../../src/libvirt/xdr.ts';

const DOM = { name: 'instance-00000001', uuid: '11111111-2222-3333-4444-555555555501', id: 6 };

/** A bulk stats reply of one record holding one uint parameter named `field`. */
function statsReply(field: string): Buffer {
  const w = new XdrWriter().u32(1);
  writeDomain(w, DOM);
  w.u32(1).typedParam({ field, type: TypedParamType.UINT, value: 1 });
  return w.finish();
}

describe('issue 15 item 9: typed parameter names are at most VIR_TYPED_PARAM_FIELD_LENGTH - 1 bytes', () => {
  test('a 79-byte name decodes, an 80-byte name is refused', () => {
    const ok = 'block.0.' + 'x'.repeat(RemoteLimits.TYPED_PARAM_FIELD_LENGTH - 1 - 8);
    assert.equal(decodeGetAllDomainStatsRet(statsReply(ok))[0]?.params[0]?.field, ok);
    // Before the fix, names of up to REMOTE_STRING_MAX (4 MiB) were accepted.
    assert.throws(
      () => decodeGetAllDomainStatsRet(statsReply(`${ok}y`)),
      (err: unknown) =>
        err instanceof XdrDecodeError &&
        /typed parameter name \(VIR_TYPED_PARAM_FIELD_LENGTH\) length 80 over its maximum 79/.test(
          err.message,
        ),
    );
  });

  test('a 4 MiB name is refused from its length word, before its bytes are read', () => {
    // Only the length word is present: the decoder must not wait for (or copy) the announced bytes.
    const w = new XdrWriter().u32(1);
    writeDomain(w, DOM);
    const head = w.u32(1).u32(RemoteLimits.STRING_MAX).finish();
    const body = Buffer.concat([head, Buffer.alloc(RemoteLimits.STRING_MAX + 8)]);
    assert.throws(() => decodeGetAllDomainStatsRet(body), /VIR_TYPED_PARAM_FIELD_LENGTH/);
  });

  test('the name limit of XdrReader.typedParam can be given, the string value keeps its own', () => {
    const buf = new XdrWriter()
      .typedParam({ field: 'abcdef', type: TypedParamType.STRING, value: 'v'.repeat(200) })
      .finish();
    assert.throws(() => new XdrReader(buf).typedParam(1000, false, 5), XdrDecodeError);
    assert.throws(() => new XdrReader(buf).typedParam(100), XdrDecodeError);
    assert.equal(new XdrReader(buf).typedParam(1000).value, 'v'.repeat(200));
  });
});

describe('issue 15 item 9: list lengths and typed parameter counts of remote_protocol.x', () => {
  test('more records than REMOTE_DOMAIN_LIST_MAX are refused from the count', () => {
    const buf = new XdrWriter().u32(RemoteLimits.DOMAIN_LIST_MAX + 1).finish();
    assert.throws(() => decodeGetAllDomainStatsRet(buf), /array count 16385 over its maximum 16384/);
  });

  test('more parameters in a record than REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX are refused from the count', () => {
    const w = new XdrWriter().u32(1);
    writeDomain(w, DOM);
    const buf = w.u32(RemoteLimits.CONNECT_GET_ALL_DOMAIN_STATS_MAX + 1).finish();
    assert.throws(() => decodeGetAllDomainStatsRet(buf), /over its maximum 262144/);
  });

  test('a count that cannot fit in the bytes left is refused before any item is read', () => {
    const w = new XdrWriter().u32(1);
    writeDomain(w, DOM);
    // 1000 parameters announced, one present: 12 bytes at least per parameter.
    const buf = w.u32(1000).typedParam({ field: 'a', type: TypedParamType.INT, value: 1 }).finish();
    assert.throws(() => decodeGetAllDomainStatsRet(buf), /truncated array: 1000 items cannot fit/);
  });

  test('more storage pools than REMOTE_STORAGE_POOL_LIST_MAX are refused', async () => {
    const payload = new XdrWriter().u32(RemoteLimits.STORAGE_POOL_LIST_MAX + 1).finish();
    const api = { call: () => Promise.resolve(payload) };
    const max = RemoteLimits.STORAGE_POOL_LIST_MAX; // 16384 in libvirt 9.0's remote_protocol.x
    await assert.rejects(
      listAllStoragePools(api),
      new RegExp(`array count ${max + 1} over its maximum ${max} `),
    );
  });
});
