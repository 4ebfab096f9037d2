// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainStatsDecoder, decodeDomainStats } from '../../../src/inspector/stats.ts';
import type { DomainStats } from '../../../src/inspector/types.ts';
import { decodeGetAllDomainStatsRet } from '../../../src/libvirt/procedures.ts';
import { readGetAllDomainStatsRet } from '../../../src/libvirt/stats-reply.ts';
import { recordedFrame } from '../libvirt/recorded.ts';
import { loadRecording } from '../../helpers/fixture-client.ts';

const rec = loadRecording();
const record = (name: string) => {
  const r = rec.stats.find((s) => s.domain.name === name)!;
  return decodeDomainStats(
    r.domain,
    r.params.map((p) => ({
      field: p.field,
      value: (p.type === 3 || p.type === 4) && typeof p.value === 'string' ? BigInt(p.value) : p.value,
    })),
  );
};

test('a tiny guest with two disks and two vNICs decodes every group in raw units', () => {
  const s = record('instance-00000002');
  assert.equal(s.stateCode, 1);
  assert.ok(s.cpu?.timeNs !== undefined && s.cpu.timeNs > 0 && Number.isInteger(s.cpu.timeNs));
  assert.ok(s.cpu.userNs !== undefined && s.cpu.systemNs !== undefined);
  assert.equal(s.balloon?.currentKiB, 131072);
  for (const k of [
    'availableKiB',
    'usableKiB',
    'unusedKiB',
    'swapInKiB',
    'swapOutKiB',
    'majorFaults',
    'minorFaults',
    'diskCachesKiB',
    'rssKiB',
    'lastUpdateSeconds',
  ] as const) {
    assert.equal(typeof s.balloon[k], 'number', k);
  }
  assert.equal(s.vcpuCurrent, 2);
  assert.deepEqual(
    s.vcpus.map((v) => v.index),
    [0, 1],
  );
  assert.ok(s.vcpus.every((v) => v.timeNs !== undefined && v.state === 1));
  assert.deepEqual(
    s.blocks.map((b) => b.name),
    ['vda', 'vdb'],
  );
  assert.ok(s.blocks.every((b) => b.capacityBytes !== undefined && b.path !== undefined));
  assert.deepEqual(
    s.interfaces.map((i) => i.name),
    ['tap-tiny2', 'tap-tiny2b'],
  );
  assert.ok(s.interfaces.every((i) => i.rxBytes !== undefined && i.txPackets !== undefined));
  // Every parameter is kept raw as well.
  assert.equal(s.raw.size, rec.stats.find((x) => x.domain.name === 'instance-00000002')!.params.length);
});

test('a guest without a balloon driver has no guest memory statistics: absent, not 0', () => {
  const s = record('lab-plain-1');
  assert.equal(s.balloon?.usableKiB, undefined);
  assert.equal(s.balloon?.availableKiB, undefined);
  assert.equal(s.balloon?.swapInKiB, undefined);
  assert.ok(s.balloon?.rssKiB !== undefined);
});

test('a shut-off domain has its state, no vCPU or vNIC stats (libvirt still sizes its disks)', () => {
  const s = record('instance-00000005');
  assert.equal(s.stateCode, 5);
  assert.equal(s.stateReason, 0);
  assert.deepEqual(s.interfaces, []);
  assert.deepEqual(s.vcpus, []);
});

test('unknown and odd fields never break decoding', () => {
  const s = decodeDomainStats({ name: 'x', uuid: 'u', id: 1 }, [
    { field: 'block.count', value: 2 },
    { field: 'block.1.name', value: 'vdb' },
    { field: 'block.1.rd.bytes', value: 10n },
    { field: 'block.x.rd.bytes', value: 5 },
    { field: 'net.0.name', value: '' },
    { field: 'net.0.rx.bytes', value: 7 },
    { field: 'vcpu.0.halted', value: true },
    { field: 'perf.cpu_cycles', value: 99n },
    { field: 'future.thing', value: 'x' },
    { field: 'cpu.time', value: 'not a number' },
  ]);
  assert.deepEqual(s.blocks, [{ index: 1, name: 'vdb', readBytes: 10 }]);
  assert.deepEqual(s.interfaces, [{ index: 0, name: '', rxBytes: 7 }]);
  assert.deepEqual(s.vcpus, [{ index: 0, halted: true }]);
  assert.deepEqual(s.perf, { cpu_cycles: 99 });
  assert.equal(s.cpu, undefined);
  assert.equal(s.raw.get('future.thing'), 'x');
});

test('devices come in index order whatever order and spacing libvirt (or a broken daemon) sends', () => {
  const s = decodeDomainStats({ name: 'x', uuid: 'u', id: 1 }, [
    { field: 'block.3.name', value: 'vdd' },
    { field: 'block.0.name', value: 'vda' },
    { field: 'block.2.name', value: 'vdc' },
    { field: 'net.9999999999.name', value: 'far' },
    { field: 'net.4000000000.name', value: 'beyond' },
    { field: 'net.5.name', value: 'near' },
    { field: 'net.1000000.name', value: 'sparse' },
  ]);
  assert.deepEqual(
    s.blocks.map((b) => [b.index, b.name]),
    [
      [0, 'vda'],
      [2, 'vdc'],
      [3, 'vdd'],
    ],
  );
  assert.deepEqual(
    s.interfaces.map((i) => [i.index, i.name]),
    [
      [5, 'near'],
      [1000000, 'sparse'],
      [4000000000, 'beyond'],
      [9999999999, 'far'],
    ],
  );
});

test('records of one kind share one shape (one raw getter for all, not one per record)', () => {
  const params = [
    { field: 'state.state', value: 1 },
    { field: 'cpu.time', value: 5n },
  ];
  const a = decodeDomainStats({ name: 'a', uuid: 'ua', id: 1 }, params);
  const b = decodeDomainStats({ name: 'b', uuid: 'ub', id: 2 }, params);
  // Same own keys, in the same order, raw included and enumerable; each its own raw map.
  assert.deepEqual(Object.keys(a), Object.keys(b));
  assert.ok(Object.keys(b).includes('raw'));
  const getter = (o: object): unknown =>
    (Object.getOwnPropertyDescriptor(o, 'raw') as { readonly get?: unknown } | undefined)?.get;
  assert.equal(getter(a), getter(b), 'one getter');
  assert.equal(typeof getter(a), 'function');
  assert.equal(b.raw.get('cpu.time'), 5n);
  assert.equal(a.raw.get('state.state'), 1);
  assert.notEqual(a.raw, b.raw);
  assert.equal(b.raw, b.raw, 'built once');
});

test('the one-pass decoder (the inspector’s) gives the records decodeDomainStats gives, raw values exact', () => {
  const payload = recordedFrame('get_all_domain_stats').payload;
  const decoded = readGetAllDomainStatsRet(payload, new DomainStatsDecoder());
  const reference = decodeGetAllDomainStatsRet(payload).map((r) => decodeDomainStats(r.domain, r.params));
  assert.equal(decoded.length, reference.length);
  const plain = (s: DomainStats) => {
    const { raw, ...rest } = s;
    return { rest: JSON.parse(JSON.stringify(rest)) as unknown, keys: Object.keys(s), raw: [...raw] };
  };
  for (const [i, s] of decoded.entries()) assert.deepEqual(plain(s), plain(reference[i]!));
  // 64-bit counters in raw are bigint (exact beyond 2^53), as Ceilometer's exact reader needs.
  assert.ok([...decoded[0]!.raw.values()].some((v) => typeof v === 'bigint'));
});
