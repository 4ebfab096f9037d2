// SPDX-License-Identifier: Apache-2.0
// The pressure collector alone on the lab recording (test/fixtures/lab/inspection.json) and the cgroup v2
// tree copied from the lab machine (test/fixtures/cgroup, see its README): instance-00000002 without
// systemd (no CPU quota), instance-00000001 in a systemd scope with a quota, the others without a directory.
import { test } from 'node:test';
import { pressureFamilies } from '../../../src/meters/side.ts';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { assertServes, domainsOf, scrapeCollector, valueOf } from '../../helpers/collector.ts';

const CGROUP = fileURLToPath(new URL('../../fixtures/cgroup', import.meta.url));
// No QEMU pid files: the guests are found by their cgroup directory names only.
const inspectorOptions = { cgroupPaths: { pidDir: '/nonexistent/libvirt-exporter-test' } };
const PSI = ['cpu', 'memory', 'io'].flatMap((r) => [`${r}_waiting`, `${r}_stalled`]);

test('pressure: PSI totals and CPU throttling per guest found in the tree, in seconds', async () => {
  const families = await assertServes(
    'pressure',
    {
      ...Object.fromEntries(PSI.map((p) => [`libvirt_domain_pressure_${p}_seconds_total`, 'counter domain'])),
      libvirt_domain_cpu_throttled_seconds_total: 'counter domain',
      libvirt_domain_cpu_throttled_periods_total: 'counter domain',
    },
    {
      overrides: { 'collectors.pressure.cgroup_root': CGROUP },
      inspectorOptions,
    },
  );
  for (const p of PSI)
    assert.deepEqual(
      domainsOf(families, `libvirt_domain_pressure_${p}_seconds_total`),
      ['instance-00000001', 'instance-00000002'],
      p,
    );
  // cpu.pressure `some total=74451613` (µs) of instance-00000002.
  const db = { domain: 'instance-00000002' };
  assert.equal(valueOf(families, 'libvirt_domain_pressure_cpu_waiting_seconds_total', db), 74.451613);
});

test('pressure: no quota, no throttling series; no directory, no series at all (absent, not 0)', async () => {
  const { families } = await scrapeCollector('pressure', {
    overrides: { 'collectors.pressure.cgroup_root': CGROUP },
    inspectorOptions,
  });
  assert.deepEqual(domainsOf(families, 'libvirt_domain_cpu_throttled_seconds_total'), ['instance-00000001']);
  assert.equal(
    valueOf(families, 'libvirt_domain_cpu_throttled_periods_total', { domain: 'instance-00000001' }),
    321,
  );
  for (const [name, f] of families)
    assert.ok(!f.samples.some((s) => s.labels['domain'] === 'instance-00000003'), name);
});

test('pressure: an unreadable hierarchy serves the families empty and is not a failure', async () => {
  const { families, success } = await scrapeCollector('pressure', {
    overrides: { 'collectors.pressure.cgroup_root': '/nonexistent/cgroup' },
    inspectorOptions,
  });
  assert.equal(success, 1);
  assert.equal(families.size, 8);
  for (const [name, f] of families) assert.deepEqual(f.samples, [], name);
});

test('every pressure family has the domain labels alone (the collector writes the cached domain text)', () => {
  for (const f of pressureFamilies) {
    assert.equal(f.domainLabels, 'identity', f.prometheus.name);
    assert.deepEqual(f.extraLabels, [], f.prometheus.name);
  }
});
