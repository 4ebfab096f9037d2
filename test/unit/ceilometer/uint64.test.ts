// SPDX-License-Identifier: Apache-2.0
// Issue 15, item 10: libvirt's uint64 counters reach the Ceilometer output as exact integers. Before the
// fix they went through Number(): 2^64 − 1 was published as 18446744073709551616 (outside uint64, and
// not what real Ceilometer prints), and the cpu meter's sum above 2^53 was rounded.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodeDomainStats, type StatParam } from '../../../src/inspector/stats.ts';
import type { Inspection } from '../../../src/inspector/types.ts';
import { prepareCycle, VnicDeltaTracker } from '../../../src/ceilometer/cycle.ts';
import { discoverInstances } from '../../../src/ceilometer/discovery.ts';
import { sampleMessages } from '../../../src/ceilometer/message.ts';
import { computeMeters } from '../../../src/ceilometer/meters.ts';
import {
  parsePyJson,
  pyJsonDumps,
  pyStr,
  type PyDict,
  type PyValue,
} from '../../../src/ceilometer/python-format.ts';
import { parseRelease } from '../../../src/ceilometer/release.ts';
import { meterSamples } from '../../../src/ceilometer/samples.ts';
import type { ComputeMeter } from '../../../src/ceilometer/types.ts';
import { verifySignature } from '../../../src/ceilometer/signature.ts';
import { inspectionOf, loadLabInstance } from '../publisher/fake-inspector.ts';

const SECRET = 'lab-telemetry-secret';
const UUID1 = '11111111-2222-3333-4444-555555555501';
const U64_MAX = 2n ** 64n - 1n;
const PERF_EVENTS = ['cpu_cycles', 'instructions', 'cache_references', 'cache_misses', 'cmt', 'mbmt', 'mbml'];

/** The lab instance's bulk stats record with every uint64 counter set to `counter`. */
function params(counter: bigint): StatParam[] {
  const p: StatParam[] = [
    { field: 'state.state', value: 1 },
    { field: 'state.reason', value: 1 },
    { field: 'cpu.time', value: counter },
    { field: 'vcpu.current', value: 2 },
    { field: 'vcpu.maximum', value: 2 },
    // 2 × (2^62 + 1): exactly 9223372036854775810, which float64 rounds to ...808.
    { field: 'vcpu.0.time', value: 2n ** 62n },
    { field: 'vcpu.0.wait', value: 1n },
    { field: 'vcpu.1.time', value: 2n ** 62n },
    { field: 'vcpu.1.wait', value: 1n },
    { field: 'block.count', value: 1 },
    { field: 'block.0.name', value: 'vda' },
    { field: 'net.count', value: 1 },
    { field: 'net.0.name', value: 'tap-lab1' },
  ];
  for (const f of [
    'rd.reqs',
    'rd.bytes',
    'rd.times',
    'wr.reqs',
    'wr.bytes',
    'wr.times',
    'fl.reqs',
    'fl.times',
  ]) {
    p.push({ field: `block.0.${f}`, value: counter });
  }
  p.push({ field: 'block.0.allocation', value: counter });
  p.push({ field: 'block.0.capacity', value: counter });
  p.push({ field: 'block.0.physical', value: counter - 1n });
  for (const dir of ['rx', 'tx']) {
    for (const f of ['bytes', 'pkts', 'errs', 'drop']) p.push({ field: `net.0.${dir}.${f}`, value: counter });
  }
  for (const e of PERF_EVENTS) p.push({ field: `perf.${e}`, value: counter });
  return p;
}

function inspection(counter: bigint): Inspection {
  const base = inspectionOf(loadLabInstance());
  const instance = base.instances.find((i) => i.uuid === UUID1);
  assert.ok(instance);
  const stats = decodeDomainStats({ name: instance.name, uuid: UUID1, id: 1 }, params(counter));
  return { ...base, instances: [instance], stats: new Map([[UUID1, stats]]) };
}

function samples(insp: Inspection, meter: ComputeMeter): PyDict[] {
  const { discovered } = discoverInstances(insp, { host: 'compute-lab-1', flavorIds: {} });
  const cycle = prepareCycle(insp, discovered, new VnicDeltaTracker(), 1000.5);
  let n = 0;
  const ctx = { source: 'openstack', secret: SECRET, messageId: () => `00000000-0000-1000-8000-${n++}` };
  return sampleMessages(ctx, meterSamples(meter, cycle), '2026-11-25T16:46:28.000001');
}

function meter(name: string, release = '26.0.0'): ComputeMeter {
  const m = computeMeters(parseRelease(release), 'MiB').find((x) => x.name === name);
  assert.ok(m, name);
  return m;
}

/** Integer meters that read no 64-bit libvirt counter (flavor sizes, counts, state, per-poll deltas). */
const NOT_UINT64 = new Set([
  'vcpus',
  'power.state',
  'disk.root.size',
  'disk.ephemeral.size',
  'network.incoming.bytes.delta',
  'network.outgoing.bytes.delta',
  'network.outgoing.packets.delta', // the outgoing bytes delta's name in some releases
]);

describe('issue 15 item 10: uint64 counters stay exact integers in the Ceilometer output', () => {
  test('2^64 − 1 bytes read is published as 18446744073709551615, signed over that text', () => {
    const [s] = samples(inspection(U64_MAX), meter('disk.device.read.bytes'));
    assert.ok(s);
    assert.equal(s.counter_volume, U64_MAX);
    assert.match(pyJsonDumps(s), /"counter_volume": 18446744073709551615, /);
    assert.equal(pyStr(s.counter_volume as PyValue), '18446744073709551615');
    assert.equal(verifySignature(s, SECRET), true);
    // A consumer reading the body gets the same integer back.
    assert.equal((parsePyJson(pyJsonDumps(s)) as PyDict).counter_volume, U64_MAX);
  });

  test('the cpu meter sums vCPU time and wait exactly beyond 2^53', () => {
    const [s] = samples(inspection(U64_MAX), meter('cpu'));
    assert.ok(s);
    assert.equal(s.counter_volume, 2n * (2n ** 62n + 1n));
    assert.match(pyJsonDumps(s), /"counter_volume": 9223372036854775810, /);
  });

  test('disk.device.capacity takes the larger of capacity and physical exactly', () => {
    const [s] = samples(inspection(2n ** 60n + 1n), meter('disk.device.capacity'));
    assert.equal(s?.counter_volume, 2n ** 60n + 1n);
  });

  for (const release of ['19.0.0', '26.0.0']) {
    test(`every integer meter of release ${release} that reads a uint64 counter prints it exactly`, () => {
      const insp = inspection(U64_MAX);
      let checked = 0;
      for (const m of computeMeters(parseRelease(release), 'MiB')) {
        if (m.float || NOT_UINT64.has(m.name) || m.name === 'cpu') continue;
        // disk.device.usage reads block.<n>.physical, one less than the other counters here.
        const expected = m.name === 'disk.device.usage' ? U64_MAX - 1n : U64_MAX;
        const out = samples(insp, m);
        assert.ok(out.length > 0, `${m.name}: no sample`);
        for (const s of out) {
          assert.equal(pyStr(s.counter_volume as PyValue), expected.toString(), m.name);
          assert.equal(verifySignature(s, SECRET), true, m.name);
        }
        checked++;
      }
      assert.ok(checked >= 16, `only ${checked} meters checked`);
    });
  }

  test('small counters are unchanged plain numbers (the byte-for-byte fixtures keep their form)', () => {
    const [s] = samples(inspection(512n), meter('disk.device.read.bytes'));
    assert.equal(s?.counter_volume, 512);
  });

  test('the Prometheus side keeps float64 numbers', () => {
    const stats = inspection(U64_MAX).stats.get(UUID1);
    assert.equal(stats?.blocks[0]?.readBytes, 2 ** 64);
  });
});
