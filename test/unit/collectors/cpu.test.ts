// SPDX-License-Identifier: Apache-2.0
// The cpu collector alone on the lab recording (test/fixtures/lab/inspection.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RECORDED_RUNNING,
  assertServes,
  domainsOf,
  scrapeWithout,
  valueOf,
} from '../../helpers/collector.ts';

test('cpu: total, user and system time of each running domain, in seconds', async () => {
  const families = await assertServes('cpu', {
    libvirt_domain_info_cpu_time_seconds_total: 'counter domain',
    libvirt_domain_cpu_user_seconds_total: 'counter domain',
    libvirt_domain_cpu_system_seconds_total: 'counter domain',
  });
  for (const f of families.keys()) assert.deepEqual(domainsOf(families, f), RECORDED_RUNNING, f);
  // cpu.time 300000000 ns, cpu.user 100000000, cpu.system 200000000 (the paused instance-00000004).
  const d = { domain: 'instance-00000004' };
  assert.equal(valueOf(families, 'libvirt_domain_info_cpu_time_seconds_total', d), 0.3);
  assert.equal(valueOf(families, 'libvirt_domain_cpu_user_seconds_total', d), 0.1);
  assert.equal(valueOf(families, 'libvirt_domain_cpu_system_seconds_total', d), 0.2);
});

test('cpu: a field libvirt leaves out is absent for that domain, not 0', async () => {
  const families = await scrapeWithout('cpu', 'instance-00000003', /^cpu\.(user|system)$/);
  assert.equal(
    valueOf(families, 'libvirt_domain_cpu_user_seconds_total', { domain: 'instance-00000003' }),
    undefined,
  );
  assert.equal(
    valueOf(families, 'libvirt_domain_cpu_system_seconds_total', { domain: 'instance-00000003' }),
    undefined,
  );
  assert.equal(
    valueOf(families, 'libvirt_domain_info_cpu_time_seconds_total', { domain: 'instance-00000003' }),
    2.09,
  );
});
