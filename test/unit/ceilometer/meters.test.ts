// SPDX-License-Identifier: Apache-2.0
// The meters of a release (src/ceilometer/meters.ts, companions.ts, release.ts): what each meter declares
// for its readers (perf event, exact reader) and the stats groups a cycle asks libvirt for.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AGENT_STATS_GROUPS, computeMeters, statsGroupsFor } from '../../../src/ceilometer/meters.ts';
import {
  defaultUnitProfile,
  meterExists,
  parseRelease,
  profileUnit,
} from '../../../src/ceilometer/release.ts';
import type { ComputeMeter } from '../../../src/ceilometer/types.ts';

const byName = (release: string): Map<string, ComputeMeter> =>
  new Map(computeMeters(parseRelease(release), 'MB').map((m) => [m.name, m]));

describe('releases and unit profiles', () => {
  test('parseRelease fills missing parts with 0; MiB is the default from 26.0.0', () => {
    assert.deepEqual(parseRelease('19'), { major: 19, minor: 0, patch: 0 });
    assert.deepEqual(parseRelease('17.0.2'), { major: 17, minor: 0, patch: 2 });
    assert.equal(defaultUnitProfile(parseRelease('25.1.0')), 'MB');
    assert.equal(defaultUnitProfile(parseRelease('26.0.0')), 'MiB');
  });

  test('profileUnit renames MB and GB only', () => {
    assert.deepEqual(
      ['MB', 'GB', 'B', 'ns', ''].map((u) => profileUnit(u, 'MiB')),
      ['MiB', 'GiB', 'B', 'ns', ''],
    );
    assert.equal(profileUnit('MB', 'MB'), 'MB');
  });

  test('meterExists bounds the meters that came or went', () => {
    assert.equal(meterExists('cpu', parseRelease('1.0.0')), true);
    assert.equal(meterExists('power.state', parseRelease('23.0.0')), false);
    assert.equal(meterExists('power.state', parseRelease('24.0.0')), true);
    assert.equal(meterExists('cpu_l3_cache', parseRelease('23.9.0')), true);
    assert.equal(meterExists('cpu_l3_cache', parseRelease('24.0.0')), false);
  });
});

describe('what meters declare for their readers', () => {
  test('exactly the perf meters name a perf event, the one their volume reads', () => {
    const perf = [...byName('19.0.0').values()].filter((m) => m.perfEvent !== undefined);
    assert.deepEqual(
      perf.map((m) => [m.name, m.perfEvent]),
      [
        ['perf.cpu.cycles', 'cpu_cycles'],
        ['perf.instructions', 'instructions'],
        ['perf.cache.references', 'cache_references'],
        ['perf.cache.misses', 'cache_misses'],
        ['cpu_l3_cache', 'cmt'],
        ['memory.bandwidth.total', 'mbmt'],
        ['memory.bandwidth.local', 'mbml'],
      ],
    );
    // 24.0.0 dropped the Intel CMT meters: four perf meters remain.
    assert.equal([...byName('24.0.0').values()].filter((m) => m.perfEvent !== undefined).length, 4);
  });

  test('the stats groups of a cycle: every agent group with a perf meter, else the inspector default', () => {
    const m = byName('19.0.0');
    assert.equal(statsGroupsFor([m.get('cpu')!, m.get('disk.device.read.bytes')!]), undefined);
    assert.equal(statsGroupsFor([]), undefined);
    assert.equal(statsGroupsFor([m.get('cpu')!, m.get('perf.cache.misses')!]), AGENT_STATS_GROUPS);
    assert.deepEqual([...AGENT_STATS_GROUPS].sort(), [
      'balloon',
      'block',
      'cpu',
      'interface',
      'perf',
      'state',
      'vcpu',
    ]);
  });

  test('float meters have no exact reader; integer meters reading uint64 counters have one', () => {
    const m = byName('26.0.0');
    for (const meter of m.values()) if (meter.float) assert.equal('exact' in meter, false, meter.name);
    for (const name of [
      'cpu',
      'disk.device.read.bytes',
      'disk.device.capacity',
      'network.incoming.bytes',
      'perf.cpu.cycles',
    ])
      assert.equal(m.get(name) !== undefined && 'exact' in m.get(name)!, true, name);
    // Companions computed from state, deltas or Nova metadata have no libvirt field to read exactly.
    for (const name of ['power.state', 'network.incoming.bytes.delta', 'disk.root.size'])
      assert.equal('exact' in m.get(name)!, false, name);
  });

  test('names are unique and grouped by scope in a stable order', () => {
    const all = computeMeters(parseRelease('26.0.0'), 'MiB');
    assert.equal(new Set(all.map((m) => m.name)).size, all.length);
    const scopes = all.map((m) => m.scope);
    assert.deepEqual(
      [...new Set(scopes)],
      ['domain', 'disk', 'vnic', 'instance'],
      'scopes come in blocks, domain first',
    );
    assert.deepEqual(
      all.map((m) => m.name),
      computeMeters(parseRelease('26.0.0'), 'MiB').map((m) => m.name),
    );
  });
});
