// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { createLibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import type { Inspection } from '../../../src/inspector/types.ts';
import { type CycleInput, prepareCycle, VnicDeltaTracker } from '../../../src/ceilometer/cycle.ts';
import { discoverInstances, novaHostId } from '../../../src/ceilometer/discovery.ts';
import { type SampleContext, sampleMessages } from '../../../src/ceilometer/message.ts';
import { computeMeters } from '../../../src/ceilometer/meters.ts';
import { parsePyJson, PyFloat, pyJsonDumps, type PyDict } from '../../../src/ceilometer/python-format.ts';
import { defaultUnitProfile, parseRelease } from '../../../src/ceilometer/release.ts';
import { meterSamples } from '../../../src/ceilometer/samples.ts';
import type { ComputeMeter, Sample } from '../../../src/ceilometer/types.ts';
import { verifySignature } from '../../../src/ceilometer/signature.ts';
import { fixtureClient } from '../../helpers/fixture-client.ts';
import { inspectionOf, loadLabInstance } from '../publisher/fake-inspector.ts';

const SECRET = 'lab-telemetry-secret';
const UUID1 = '11111111-2222-3333-4444-555555555501';
const CAPTURES = ['cpu', 'memory.resident', 'disk.device.read.bytes', 'network.incoming.bytes'] as const;

function capturedSample(name: string): PyDict {
  const c = JSON.parse(
    readFileSync(
      new URL(`../../fixtures/ceilometer/telemetry.polling--${name}.json`, import.meta.url),
      'utf8',
    ),
  ) as { raw_body: string };
  const inner = parsePyJson((parsePyJson(c.raw_body) as PyDict)['oslo.message'] as string) as PyDict;
  const samples = (inner.payload as PyDict).samples as PyDict[];
  assert.equal(samples.length, 1);
  return samples[0]!;
}

function meters(release = '19.0.0', profile?: 'MB' | 'MiB'): Map<string, ComputeMeter> {
  const r = parseRelease(release);
  return new Map(computeMeters(r, profile ?? defaultUnitProfile(r)).map((m) => [m.name, m]));
}

/** The sample dicts of a meter as the publisher sends them (one timestamp per meter, as the real agent). */
function buildMeterSamples(
  ctx: SampleContext,
  meter: ComputeMeter,
  cycle: CycleInput,
  timestamp?: string,
): PyDict[] {
  return sampleMessages(ctx, meterSamples(meter, cycle), timestamp);
}

function context(ids: string[] = []): SampleContext {
  let n = 0;
  return {
    source: 'openstack',
    secret: SECRET,
    messageId: () => ids.shift() ?? `00000000-0000-1000-8000-${String(n++).padStart(12, '0')}`,
  };
}

function build(
  inspection: Inspection,
  meter: ComputeMeter,
  opts: { ctx?: SampleContext; timestamp?: string; monotonic?: number; deltas?: VnicDeltaTracker } = {},
): PyDict[] {
  const { discovered } = discoverInstances(inspection, {
    host: 'compute-lab-1',
    flavorIds: { 'm1.tiny': '1' },
  });
  const cycle = prepareCycle(inspection, discovered, opts.deltas, opts.monotonic ?? 1000.5);
  return buildMeterSamples(
    opts.ctx ?? context(),
    meter,
    cycle,
    opts.timestamp ?? '2026-11-25T16:46:28.000001',
  );
}

describe('the captured messages are rebuilt exactly', () => {
  for (const name of CAPTURES) {
    test(name, () => {
      const expected = capturedSample(name);
      const meter = meters().get(name)!;
      const samples = build(inspectionOf(loadLabInstance()), meter, {
        ctx: context([expected.message_id as string]),
        timestamp: expected.timestamp as string,
        monotonic: (expected.monotonic_time as PyFloat).value,
      }).filter((s) => (s.resource_metadata as PyDict).instance_id === UUID1);
      assert.equal(samples.length, 1);
      const got = samples[0]!;
      // Same keys, same order, same types, same values, same signature: the same JSON text.
      assert.equal(pyJsonDumps(got), pyJsonDumps(expected));
      assert.equal(got.message_signature, expected.message_signature);
    });
  }
});

describe('typed samples (what the collector serves and the publisher formats)', () => {
  const cycleOf = (inspection: Inspection): CycleInput => {
    const { discovered } = discoverInstances(inspection, { host: 'compute-lab-1', flavorIds: {} });
    return prepareCycle(inspection, discovered, new VnicDeltaTracker(), 1000.5);
  };
  const cycle = cycleOf(inspectionOf(loadLabInstance()));
  const typed = (name: string): Sample[] => meterSamples(meters('25.0.0').get(name)!, cycle);

  test('cpu: name, type, unit, volume (vCPU time + wait), resource id, metadata with cpu_number', () => {
    const [s, ...rest] = typed('cpu');
    assert.equal(rest.length, 0, 'one running Nova guest');
    assert.deepEqual(
      { ...s!, metadata: undefined },
      {
        name: 'cpu',
        type: 'cumulative',
        unit: 'ns',
        volume: 5_070_000_000,
        float: false,
        userId: 'u-123',
        projectId: 'p-456',
        resourceId: UUID1,
        metadata: undefined,
        monotonicTime: 1000.5,
      },
    );
    assert.equal(s!.metadata.display_name, 'web-1');
    assert.equal(s!.metadata.cpu_number, 1);
    assert.equal(s!.exactVolume, undefined, 'small integers need no exact copy');
  });

  test('disk and vNIC samples: per-device resource ids and metadata keys', () => {
    const disk = typed('disk.device.read.bytes')[0]!;
    assert.equal(disk.resourceId, `${UUID1}-vda`);
    assert.equal(disk.volume, 512);
    assert.equal(disk.metadata.disk_name, 'vda');
    const nic = typed('network.incoming.bytes')[0]!;
    assert.equal(nic.resourceId, `instance-00000001-${UUID1}-tap-lab1`);
    assert.equal(nic.volume, 90);
    assert.equal(nic.metadata.name, 'tap-lab1');
    assert.equal(nic.unit, 'B');
  });

  test('float meters: a float volume in MB; no volume, no sample', () => {
    const rss = typed('memory.resident')[0]!;
    assert.equal(rss.float, true);
    assert.equal(rss.volume, 46164 / 1024);
    assert.equal(rss.unit, 'MB');
    // The no-OS lab guest reports no balloon.available: memory.usage has no volume.
    assert.deepEqual(typed('memory.usage'), []);
  });

  test('the sample dict is the typed sample, formatted', () => {
    for (const name of ['cpu', 'memory.resident', 'disk.device.read.bytes', 'network.incoming.bytes']) {
      const samples = typed(name);
      const dicts = buildMeterSamples(context(), meters('25.0.0').get(name)!, cycle, 't');
      assert.equal(dicts.length, samples.length, name);
      for (const [i, s] of samples.entries()) {
        const d = dicts[i]!;
        assert.equal(d.counter_name, s.name);
        assert.equal(d.counter_type, s.type);
        assert.equal(d.counter_unit, s.unit);
        assert.equal(d.resource_id, s.resourceId);
        assert.deepEqual(d.resource_metadata, s.metadata);
        assert.deepEqual(d.counter_volume, s.float ? new PyFloat(s.volume) : s.volume);
      }
    }
  });
});

describe('sample shape for every meter of every release', () => {
  const baseKeys = Object.keys(capturedSample('memory.resident').resource_metadata as PyDict);
  const sampleKeys = Object.keys(capturedSample('cpu'));
  for (const release of ['19.0.0', '24.0.0', '25.0.0', '26.0.0']) {
    test(`release ${release}`, () => {
      const fixture = loadLabInstance();
      // Give the guest the stats the no-OS lab guest lacks, so that every meter has a value.
      const stats = fixture.stats[0]!;
      Object.assign(stats, {
        balloon: {
          ...stats.balloon,
          swapInKiB: 16,
          swapOutKiB: 512,
          availableKiB: 100000,
          usableKiB: 60000,
          unusedKiB: 50000,
        },
        perf: {
          cpu_cycles: 1,
          instructions: 2,
          cache_references: 3,
          cache_misses: 4,
          cmt: 5,
          mbmt: 6,
          mbml: 7,
        },
      });
      const inspection = inspectionOf(fixture);
      const all = [...meters(release).values()];
      let count = 0;
      for (const meter of all) {
        const samples = build(inspection, meter, { deltas: new VnicDeltaTracker() });
        assert.ok(samples.length > 0, `${meter.name} produced no sample`);
        for (const s of samples) {
          count++;
          assert.deepEqual(Object.keys(s), sampleKeys, meter.name);
          const md = s.resource_metadata as PyDict;
          assert.deepEqual(Object.keys(md).slice(0, baseKeys.length), baseKeys, meter.name);
          assert.equal(s.counter_name, meter.name);
          assert.equal(s.counter_unit, meter.unit);
          assert.equal(s.counter_volume instanceof PyFloat, meter.float, `${meter.name} volume type`);
          assert.ok(s.monotonic_time instanceof PyFloat);
          assert.match(s.message_id as string, /^[0-9a-f-]{36}$/);
          assert.equal(verifySignature(s, SECRET), true);
        }
      }
      assert.ok(count >= all.length);
    });
  }
});

describe('which instances produce samples', () => {
  const inspection = inspectionOf(loadLabInstance());
  test('a shut-off guest and a guest without Nova metadata produce no stats samples', () => {
    for (const meter of meters().values()) {
      for (const s of build(inspection, meter, { deltas: new VnicDeltaTracker() })) {
        assert.equal((s.resource_metadata as PyDict).instance_id, UUID1, meter.name);
      }
    }
  });

  test('metadata-only meters (24.0.0+) cover every discovered instance, shut off or not', () => {
    const m24 = meters('24.0.0');
    const root = build(inspection, m24.get('disk.root.size')!);
    assert.deepEqual(
      root.map((s) => [
        (s.resource_metadata as PyDict).name,
        s.counter_volume,
        s.counter_unit,
        (s.resource_metadata as PyDict).status,
      ]),
      [
        ['instance-00000001', 1, 'GB', 'active'],
        ['instance-00000005', 3, 'GB', 'stopped'],
      ],
    );
    const eph = build(inspection, meters('26.0.0').get('disk.ephemeral.size')!);
    assert.deepEqual(
      eph.map((s) => [s.counter_volume, s.counter_unit]),
      [
        [0, 'GiB'],
        [2, 'GiB'],
      ],
    );
  });

  test('incomplete Nova metadata is reported, not published', () => {
    const f = loadLabInstance();
    delete (f.instances[0]!.nova as { displayName?: string }).displayName;
    const { discovered, undiscovered } = discoverInstances(inspectionOf(f), { host: 'h', flavorIds: {} });
    assert.deepEqual(
      discovered.map((d) => d.instance.name),
      ['instance-00000005'],
    );
    assert.deepEqual(
      undiscovered.map((u) => [u.name, u.reason]),
      [
        ['instance-00000001', 'incomplete-nova-metadata'],
        ['lab-plain-1', 'no-nova-metadata'],
      ],
    );
  });
});

describe('metadata', () => {
  test('host is Nova hostId, flavor id from metadata, mapping, else the name; boot from volume has no image', () => {
    assert.equal(
      novaHostId('p-456', 'compute-lab-1'),
      '0a2ac7ae1eeea4ec9b1b6eeb62c5230dd2f81b707477b99f750cef3d',
    );
    const f = loadLabInstance();
    const inspection = inspectionOf(f);
    const [web, stopped] = discoverInstances(inspection, { host: 'other-host', flavorIds: {} }).discovered;
    assert.equal((web!.metadata.flavor as PyDict).id, 'm1.tiny');
    assert.equal(web!.metadata.instance_host, 'other-host');
    assert.equal(web!.metadata.host, novaHostId('p-456', 'other-host'));
    assert.equal((stopped!.metadata.flavor as PyDict).id, '2');
    assert.equal(stopped!.metadata.image, null);
    assert.equal(stopped!.metadata.image_ref, null);
    assert.equal(stopped!.metadata.root_gb, 3);
    assert.equal(stopped!.metadata.state, 'shutdown');
  });

  test('MiB unit profile', () => {
    const [s] = build(inspectionOf(loadLabInstance()), meters('19.0.0', 'MiB').get('memory.resident')!);
    assert.equal(s!.counter_unit, 'MiB');
    assert.equal(meters('26.0.0', 'MiB').get('memory')?.unit, 'MiB');
    assert.equal(meters('19.0.0', 'MB').get('cpu')?.unit, 'ns');
  });

  test('a vNIC with a filterref: resource id, parameters (lower-cased, then interfaceid and bridge), vnic_name', () => {
    const f = loadLabInstance();
    Object.assign(f.instances[0]!.vnics[0]!, {
      filterRef: {
        filter: 'nova-instance-instance-00000001-52540050bca2',
        parameters: { IP: '10.0.0.5', DHCPSERVER: '10.0.0.1' },
      },
      interfaceId: 'port-1',
      sourceBridge: 'br-int',
    });
    const [s] = build(inspectionOf(f), meters().get('network.outgoing.bytes')!);
    const md = s!.resource_metadata as PyDict;
    assert.equal(s!.resource_id, 'nova-instance-instance-00000001-52540050bca2');
    assert.equal(md.name, 'tap-lab1');
    assert.equal(md.fref, 'nova-instance-instance-00000001-52540050bca2');
    assert.equal(md.vnic_name, md.fref);
    assert.equal(
      pyJsonDumps(md.parameters!),
      '{"ip": "10.0.0.5", "dhcpserver": "10.0.0.1", "interfaceid": "port-1", "bridge": "br-int"}',
    );
  });

  test('cpu carries cpu_number, disks disk_name', () => {
    const inspection = inspectionOf(loadLabInstance());
    assert.equal((build(inspection, meters().get('cpu')!)[0]!.resource_metadata as PyDict).cpu_number, 1);
    const [d] = build(inspection, meters().get('disk.device.capacity')!);
    assert.equal(d!.resource_id, `${UUID1}-vda`);
    assert.equal(d!.counter_volume, 67108864);
    assert.equal((d!.resource_metadata as PyDict).disk_name, 'vda');
  });

  test('memory.swap.* need both swap_in and swap_out, as the real inspector', () => {
    const f = loadLabInstance();
    Object.assign(f.stats[0]!, { balloon: { ...f.stats[0]!.balloon, swapInKiB: 1024 } });
    assert.equal(build(inspectionOf(f), meters().get('memory.swap.in')!).length, 0);
    Object.assign(f.stats[0]!, { balloon: { ...f.stats[0]!.balloon, swapOutKiB: 0 } });
    const [s] = build(inspectionOf(f), meters().get('memory.swap.in')!);
    assert.deepEqual(s!.counter_volume, new PyFloat(1));
  });
});

describe('delta meters', () => {
  test('0 on the first poll, the difference next, the counter itself after a reset', () => {
    const f = loadLabInstance();
    const deltas = new VnicDeltaTracker();
    const m = meters();
    const rx = m.get('network.incoming.bytes.delta')!;
    const volumes: unknown[] = [];
    for (const rxBytes of [90, 190, 40]) {
      Object.assign(f.stats[0]!, { interfaces: [{ ...f.stats[0]!.interfaces[0]!, rxBytes }] });
      const inspection = inspectionOf(f);
      const { discovered } = discoverInstances(inspection, { host: 'h', flavorIds: {} });
      const cycle = prepareCycle(inspection, discovered, deltas);
      volumes.push(buildMeterSamples(context(), rx, cycle)[0]!.counter_volume);
    }
    assert.deepEqual(volumes, [0, 100, 40]);
  });

  test("the outgoing delta's name follows the release", () => {
    assert.ok(meters('19.0.0').has('network.outgoing.packets.delta'));
    assert.ok(!meters('19.0.0').has('network.outgoing.bytes.delta'));
    assert.equal(meters('19.0.0').get('network.outgoing.packets.delta')?.unit, 'B');
    for (const r of ['19.1.0', '18.1.0', '17.0.2', '20.0.0', '26.0.0'])
      assert.ok(meters(r).has('network.outgoing.bytes.delta'), r);
    for (const r of ['16.0.0', '17.0.1', '18.0.0'])
      assert.ok(meters(r).has('network.outgoing.packets.delta'), r);
    assert.ok(!meters('15.0.0').has('network.incoming.bytes.delta'));
  });

  test('meters by release', () => {
    const names = (r: string): string[] => [...meters(r).keys()];
    assert.ok(
      !names('19.0.0').includes('vcpus') &&
        !names('24.0.0').includes('memory') &&
        names('25.0.0').includes('memory.available'),
    );
    assert.ok(names('19.0.0').includes('cpu_l3_cache') && !names('24.0.0').includes('cpu_l3_cache'));
    assert.ok(!names('19.0.0').includes('power.state') && names('24.0.0').includes('power.state'));
  });
});

test('the lab recording through the real inspector: every running Nova guest, right resource ids', async () => {
  const inspector = createLibvirtInspector({ client: fixtureClient() });
  const inspection = await inspector.inspectAll();
  const { discovered } = discoverInstances(inspection, { host: 'compute-lab-1', flavorIds: {} });
  assert.deepEqual(discovered.map((d) => d.instance.name).sort(), [
    'instance-00000001',
    'instance-00000002',
    'instance-00000003',
    'instance-00000004',
    'instance-00000005',
  ]);
  const cycle = prepareCycle(inspection, discovered, new VnicDeltaTracker());
  const m = meters();
  const by = (meter: string): PyDict[] => buildMeterSamples(context(), m.get(meter)!, cycle);
  const names = (samples: PyDict[]): string[] =>
    samples.map((s) => (s.resource_metadata as PyDict).name as string).sort();
  // Running and paused guests with Nova metadata; not the shut-off one, not lab-plain-1.
  const live = ['instance-00000001', 'instance-00000002', 'instance-00000003', 'instance-00000004'];
  assert.deepEqual(names(by('cpu')), live);
  assert.deepEqual(names(by('memory.resident')), live);
  const disks = by('disk.device.read.bytes').map((s) => s.resource_id as string);
  const uuidOf = (name: string): string => inspection.instances.find((i) => i.name === name)!.uuid;
  assert.ok(disks.includes(`${uuidOf('instance-00000002')}-vdb`));
  assert.equal(disks.length, 5);
  const nics = by('network.incoming.bytes').map((s) => s.resource_id as string);
  assert.ok(nics.includes(`instance-00000002-${uuidOf('instance-00000002')}-tap-tiny2b`));
  assert.equal(nics.length, 5);
  // The tiny guests have balloon statistics: memory.usage exists for them only.
  assert.deepEqual(names(by('memory.usage')), ['instance-00000001', 'instance-00000002']);
  // Nova 2025.2 metadata carries the flavor id.
  const db = by('cpu').find((s) => (s.resource_metadata as PyDict).name === 'instance-00000002')!;
  assert.equal(
    ((db.resource_metadata as PyDict).flavor as PyDict).id,
    'b7e3c1d2-4f5a-4b6c-9d8e-0f1a2b3c4d5e',
  );
  assert.equal((db.resource_metadata as PyDict).cpu_number, 2);
  await inspector.close();
});
