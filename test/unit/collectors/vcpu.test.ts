// SPDX-License-Identifier: Apache-2.0
// The vcpu collector alone on the lab recording (test/fixtures/lab/inspection.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RECORDED_RUNNING,
  assertServes,
  domainsOf,
  scrapeWithout,
  valueOf,
} from '../../helpers/collector.ts';

test('vcpu: counts per domain, state and times per vCPU in seconds', async () => {
  const families = await assertServes('vcpu', {
    libvirt_domain_vcpu_current: 'gauge domain',
    libvirt_domain_vcpu_maximum: 'gauge domain',
    libvirt_domain_vcpu_state: 'gauge domain,vcpu',
    libvirt_domain_vcpu_time_seconds_total: 'counter domain,vcpu',
    libvirt_domain_vcpu_wait_seconds_total: 'counter domain,vcpu',
    libvirt_domain_vcpu_delay_seconds_total: 'counter domain,vcpu',
  });
  assert.deepEqual(domainsOf(families, 'libvirt_domain_vcpu_state'), RECORDED_RUNNING);
  // instance-00000002 has two vCPUs: vcpu.current 2, vcpu.1.time 10440000000 ns, vcpu.1.delay 13011109670 ns.
  const two = { domain: 'instance-00000002' };
  assert.equal(valueOf(families, 'libvirt_domain_vcpu_current', two), 2);
  assert.equal(valueOf(families, 'libvirt_domain_vcpu_time_seconds_total', { ...two, vcpu: '1' }), 10.44);
  assert.equal(
    valueOf(families, 'libvirt_domain_vcpu_delay_seconds_total', { ...two, vcpu: '1' }),
    13.01110967,
  );
  assert.equal(
    families.get('libvirt_domain_vcpu_state')?.samples.length,
    6,
    'one per vCPU: 4 guests of 1, one of 2',
  );
});

test('vcpu: a vCPU field libvirt leaves out is absent for that vCPU only', async () => {
  const families = await scrapeWithout('vcpu', 'instance-00000001', /^vcpu\.0\.(wait|delay)$/);
  const v = { domain: 'instance-00000001', vcpu: '0' };
  assert.equal(valueOf(families, 'libvirt_domain_vcpu_wait_seconds_total', v), undefined);
  assert.equal(valueOf(families, 'libvirt_domain_vcpu_delay_seconds_total', v), undefined);
  assert.equal(valueOf(families, 'libvirt_domain_vcpu_time_seconds_total', v), 16.71);
});
