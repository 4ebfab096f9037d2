// SPDX-License-Identifier: Apache-2.0
// The unit conversions and HELP rules of src/meters/, and the reads of declarations whose value is more
// than one field (fallbacks, conditions), on hand-built inspector records.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainStats, HostInfo, Instance, JobInfo, NovaFlavor } from '../../../src/inspector/types.ts';
import { domainFamilies } from '../../../src/meters/domain.ts';
import { deriveHelp, family, valueOf } from '../../../src/meters/family.ts';
import { hostFamilies } from '../../../src/meters/host.ts';
import { jobFamilies } from '../../../src/meters/job.ts';
import { openstackFamilies } from '../../../src/meters/openstack.ts';
import { meterTable, type MeterRow } from '../../../src/meters/table.ts';
import { conversionPhrase, toBase, unitScale, type RawUnit } from '../../../src/meters/units.ts';

describe('toBase', () => {
  const cases: [RawUnit, number, number][] = [
    ['ns', 1_500_000_000, 1.5],
    ['us', 2_500_000, 2.5],
    ['ms', 1500, 1.5],
    ['seconds', 42, 42],
    ['KiB', 3, 3072],
    ['MiB', 2, 2 * 1024 * 1024],
    ['GiB', 1, 1024 ** 3],
    ['MiB/s', 0.5, 524_288],
    ['MHz', 2400, 2.4e9],
    ['bytes', 7, 7],
    ['count', 7, 7],
    ['code', 2, 2],
  ];
  for (const [unit, raw, base] of cases)
    test(`${raw} ${unit} is ${base} in base units`, () => {
      assert.equal(toBase(unit, raw), base);
    });

  test('is one division or one product, bit for bit, as unitScale gives it to the rows', () => {
    // The single operation each unit means (a product by 2³⁰ is exact, so GiB as `raw * 1024 * MiB`).
    const op: Record<RawUnit, (raw: number) => number> = {
      ns: (r) => r / 1e9,
      us: (r) => r / 1e6,
      ms: (r) => r * 1e-3,
      seconds: (r) => r,
      KiB: (r) => r * 1024,
      MiB: (r) => r * 1048576,
      GiB: (r) => r * 1024 * 1048576,
      'MiB/s': (r) => r * 1048576,
      MHz: (r) => r * 1e6,
      bytes: (r) => r,
      count: (r) => r,
      code: (r) => r,
    };
    // Counters of every size, fractions, and values whose division or product rounds.
    const raws = [
      0,
      1,
      3,
      7,
      999,
      123_456_789,
      2 ** 31 + 5,
      987_654_321_987,
      2 ** 53 - 1,
      0.1,
      1 / 3,
      12.345,
    ];
    for (let i = 0; i < 200; i++) raws.push(Math.floor(Math.random() * 2 ** 53), Math.random() * 1e6);
    for (const unit of Object.keys(op) as RawUnit[]) {
      const { div, mul } = unitScale(unit);
      assert.ok(div === 1 || mul === 1, `${unit}: one operation`);
      for (const raw of raws) {
        assert.equal(toBase(unit, raw), op[unit](raw), `${unit} ${raw}`);
        assert.equal((raw / div) * mul, op[unit](raw), `${unit} ${raw} through unitScale`);
      }
    }
  });

  test('only base units have no conversion phrase', () => {
    assert.equal(conversionPhrase('ns'), 'converted from ns');
    assert.equal(conversionPhrase('us'), 'converted from µs');
    assert.equal(conversionPhrase('MHz'), 'converted to Hz');
    for (const u of ['seconds', 'bytes', 'count', 'code'] as const)
      assert.equal(conversionPhrase(u), undefined);
  });
});

describe('deriveHelp', () => {
  test('cites a libvirt field and its conversion', () => {
    assert.equal(
      deriveHelp('cpu.time', 'ns', { about: 'CPU time' }),
      'CPU time, libvirt cpu.time converted from ns.',
    );
  });
  test('a note or codes follow the source; a comma separates a conversion after a parenthesis', () => {
    assert.equal(
      deriveHelp('balloon.maximum', 'KiB', { about: 'Max', note: 'or <memory>' }),
      'Max, libvirt balloon.maximum (or <memory>), converted from KiB.',
    );
    assert.equal(
      deriveHelp('vcpu.<n>.state', 'code', { about: 'State', codes: ['offline', 'running'] }),
      'State, libvirt vcpu.<n>.state (0 offline, 1 running).',
    );
  });
  test('an API source has no libvirt prefix; a file or XML source is in parentheses', () => {
    assert.equal(deriveHelp('virX y', 'ms', { about: 'T', cite: 'api' }), 'T, virX y converted from ms.');
    assert.equal(deriveHelp('<a>', 'MiB', { about: 'M', cite: 'paren' }), 'M (<a>), converted from MiB.');
  });
  test('a template gets the source and the conversion substituted', () => {
    assert.equal(
      deriveHelp('f', 'us', { template: 'X ({source}), {converted}.' }),
      'X (f), converted from µs.',
    );
  });
});

test('valueOf converts what the declaration reads, and keeps unknown values absent', () => {
  const f = family<{ v?: number }>({
    key: 'k',
    collector: 'cpu',
    source: 's',
    rawUnit: 'ns',
    name: 'n_seconds_total',
    type: 'counter',
    help: { about: 'a' },
    read: (x) => x.v,
  });
  assert.equal(valueOf(f, { v: 2e9 }), 2);
  assert.equal(valueOf(f, {}), undefined);
});

const stats = (over: Partial<DomainStats>): DomainStats => ({
  uuid: 'u',
  name: 'd',
  id: 1,
  vcpus: [],
  interfaces: [],
  blocks: [],
  perf: {},
  raw: new Map(),
  ...over,
});
const instance = { uuid: 'u', name: 'd', maxMemoryKiB: 2048, currentMemoryKiB: 1024, vcpus: 2 } as Instance;
function domainRow(key: string): MeterRow<'domain'> {
  const row = meterTable.domain.find((r) => r.key === key);
  assert.ok(row, key);
  return row;
}
const rowValue = (key: string, s: DomainStats): number | undefined => {
  const row = domainRow(key);
  const raw = row.read({ instance, stats: s });
  return raw === undefined ? undefined : toBase(row.rawUnit, raw);
};

describe('table rows', () => {
  test('the dirty rate is served only for a finished calculation, in bytes per second', () => {
    const measuring = stats({ dirtyRate: { calcStatus: 1, megabytesPerSecond: 3 } });
    const measured = stats({ dirtyRate: { calcStatus: 2, megabytesPerSecond: 3 } });
    assert.equal(rowValue('dirtyrate', measuring), undefined);
    assert.equal(rowValue('dirtyrate_status', measuring), 1);
    assert.equal(rowValue('dirtyrate', measured), 3 * 1024 * 1024);
  });
  test('memory in use falls back to unused; its ratio and the percent alias', () => {
    assert.equal(
      rowValue('memory_used', stats({ balloon: { availableKiB: 1000, usableKiB: 400 } })),
      600 * 1024,
    );
    assert.equal(
      rowValue('memory_used', stats({ balloon: { availableKiB: 1000, unusedKiB: 100 } })),
      900 * 1024,
    );
    assert.equal(
      rowValue('memory_used_ratio', stats({ balloon: { availableKiB: 1000, usableKiB: 250 } })),
      0.75,
    );
    assert.equal(domainRow('memory_used_ratio').inovexScale, 100);
  });
  test('a last update of 0 (never) is absent, not the epoch', () => {
    assert.equal(rowValue('balloon_last_update', stats({ balloon: { lastUpdateSeconds: 0 } })), undefined);
    assert.equal(rowValue('balloon_last_update', stats({ balloon: { lastUpdateSeconds: 5 } })), 5);
  });
});

describe('families beside the table', () => {
  test('domain sizes come from the stats, else from the XML, in bytes', () => {
    const f = domainFamilies;
    assert.equal(valueOf(f.maxMemory, { instance, stats: undefined }), 2048 * 1024);
    assert.equal(valueOf(f.maxMemory, { instance, stats: stats({ balloon: { maximumKiB: 4 } }) }), 4096);
    assert.equal(valueOf(f.memoryUsage, { instance, stats: undefined }), 1024 * 1024);
    assert.equal(valueOf(f.vcpus, { instance, stats: stats({ vcpuCurrent: 1 }) }), 1);
  });
  test('host frequency in hertz and memory in bytes', () => {
    const h = { mhz: 2000, memoryKiB: 8 } as HostInfo;
    const byName = new Map(hostFamilies.values.map((f) => [f.prometheus.name, f]));
    assert.equal(valueOf(byName.get('libvirt_host_cpu_frequency_hertz')!, h), 2e9);
    assert.equal(valueOf(byName.get('libvirt_host_memory_bytes')!, h), 8192);
  });
  test('job times in seconds', () => {
    const elapsed = jobFamilies.find((f) => f.prometheus.name.endsWith('time_elapsed_seconds'))!;
    assert.equal(valueOf(elapsed, { timeElapsedMs: 2500 } as JobInfo), 2.5);
  });
  test('flavor sizes in bytes, absent when Nova did not write them', () => {
    const fl = { memoryMiB: 512, diskGiB: 1, extraSpecs: {} } as NovaFlavor;
    assert.equal(valueOf(openstackFamilies.memory, fl), 512 * 1024 * 1024);
    assert.equal(valueOf(openstackFamilies.disk, fl), 1024 ** 3);
    assert.equal(valueOf(openstackFamilies.swap, fl), undefined);
  });
});
