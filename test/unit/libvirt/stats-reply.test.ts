// SPDX-License-Identifier: Apache-2.0
// Issue 16 (footprint, CPU): readGetAllDomainStatsRet decodes the bulk stats reply into a sink, with
// every check decodeGetAllDomainStatsRet makes, and the exact parameters on demand.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TypedParamType } from '../../../src/libvirt/constants.ts';
import { XdrDecodeError } from '../../../src/libvirt/errors.ts';
import { decodeGetAllDomainStatsRet, writeDomain } from '../../../src/libvirt/procedures.ts';
import { readGetAllDomainStatsRet, type DomainStatsSink } from '../../../src/libvirt/stats-reply.ts';
import type { Domain } from '../../../src/libvirt/types.ts';
import { XdrWriter, type TypedParam } from '../../../src/libvirt/xdr.ts';
import { recordedFrame } from './recorded.ts';

interface Seen {
  readonly domain: Domain;
  readonly params: { field: string; value: number | string | boolean }[];
  readonly exact: () => TypedParam[];
}

/** A sink that keeps what it is handed. */
function keeping(): DomainStatsSink<Seen> {
  let current: Seen | undefined;
  return {
    begin: (domain) => {
      current = { domain, params: [], exact: () => [] };
    },
    param: (field, value) => {
      current?.params.push({ field, value });
    },
    end: (exact) => ({ ...current!, exact }),
  };
}

test('the recorded reply: the sink sees what decodeGetAllDomainStatsRet decodes, exact() its bigints', () => {
  for (const name of ['get_all_domain_stats', 'domain_list_get_stats']) {
    const payload = recordedFrame(name).payload;
    const seen = readGetAllDomainStatsRet(payload, keeping());
    const asNumber = decodeGetAllDomainStatsRet(payload, true);
    const exact = decodeGetAllDomainStatsRet(payload);
    assert.ok(seen.length > 0, name);
    assert.deepEqual(
      seen.map((s) => ({ domain: s.domain, params: s.params })),
      asNumber.map((r) => ({
        domain: r.domain,
        params: r.params.map((p) => ({ field: p.field, value: p.value })),
      })),
    );
    assert.deepEqual(
      seen.map((s) => s.exact()),
      exact.map((r) => r.params),
    );
  }
});

/** A reply of one record with `params`, then `extra` bytes. */
function reply(params: readonly TypedParam[], extra = 0): Buffer {
  const w = new XdrWriter().u32(1);
  writeDomain(w, { name: 'd', uuid: '11111111-2222-3333-4444-555555555501', id: 1 });
  w.array(params, 1 << 20, (x, p) => x.typedParam(p));
  for (let i = 0; i < extra; i++) w.u32(0);
  return w.finish();
}

test('the same checks: name limit, unknown type, trailing bytes, truncation', () => {
  const ok: TypedParam = { field: 'cpu.time', type: TypedParamType.ULLONG, value: 2n ** 64n - 1n };
  const [one] = readGetAllDomainStatsRet(reply([ok]), keeping());
  assert.ok(one !== undefined);
  assert.deepEqual(one.params, [{ field: 'cpu.time', value: 2 ** 64 }]);
  assert.deepEqual(one.exact(), [ok]);
  const long = { field: 'x'.repeat(80), type: TypedParamType.INT, value: 1 };
  assert.throws(
    () => readGetAllDomainStatsRet(reply([long]), keeping()),
    /VIR_TYPED_PARAM_FIELD_LENGTH\) length 80/,
  );
  const unknown = Buffer.from(reply([{ field: 'cpu.time', type: TypedParamType.INT, value: 1 }]));
  unknown.writeInt32BE(99, unknown.length - 8); // the type word of the last parameter
  assert.throws(() => readGetAllDomainStatsRet(unknown, keeping()), /"cpu.time" has unknown type 99/);
  assert.throws(() => readGetAllDomainStatsRet(reply([ok], 1), keeping()), /4 unexpected trailing bytes/);
  const full = reply([ok, ok]);
  for (let cut = 0; cut < full.length; cut += 3)
    assert.throws(() => readGetAllDomainStatsRet(full.subarray(0, cut), keeping()), XdrDecodeError);
});
