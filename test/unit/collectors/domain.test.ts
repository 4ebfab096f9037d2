// SPDX-License-Identifier: Apache-2.0
// The domain collector alone on the lab recording (test/fixtures/lab/inspection.json): five running or
// paused guests and instance-00000005, shut off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RECORDED_DOMAINS,
  RECORDED_RUNNING,
  assertServes,
  domainsOf,
  scrapeCollector,
  valueOf,
} from '../../helpers/collector.ts';

test('domain: every domain, running or not, with its identity, state, reason and sizes', async () => {
  const families = await assertServes('domain', {
    libvirt_domains: 'gauge',
    libvirt_domain_info: 'gauge domain,os_type,os_type_arch,os_type_machine',
    libvirt_domain_uuid_info: 'gauge domain,hypervisor_type,uuid',
    libvirt_domain_info_state: 'gauge domain,state_desc',
    libvirt_domain_state_reason: 'gauge domain,reason_desc,state_desc',
    libvirt_domain_info_maximum_memory_bytes: 'gauge domain',
    libvirt_domain_info_memory_usage_bytes: 'gauge domain',
    libvirt_domain_info_virtual_cpus: 'gauge domain',
    libvirt_domain_timed_out: 'gauge domain',
  });
  assert.equal(valueOf(families, 'libvirt_domains', {}), 6);
  assert.deepEqual(domainsOf(families, 'libvirt_domain_info_state'), RECORDED_DOMAINS);
  // state.state 3, state.reason 1: paused by the user; state 5 reason 0: shut off, unknown reason.
  assert.equal(
    valueOf(families, 'libvirt_domain_state_reason', {
      domain: 'instance-00000004',
      state_desc: 'paused',
      reason_desc: 'user',
    }),
    1,
  );
  assert.equal(
    valueOf(families, 'libvirt_domain_info_state', { domain: 'instance-00000005', state_desc: 'shutoff' }),
    5,
  );
  assert.equal(
    valueOf(families, 'libvirt_domain_info_memory_usage_bytes', { domain: 'instance-00000005' }),
    131072 * 1024,
  );
  assert.equal(valueOf(families, 'libvirt_domain_info_virtual_cpus', { domain: 'instance-00000002' }), 2);
});

test('domain: timed_out only for running domains (absent for the shut-off one), 0 when stats came', async () => {
  const { families } = await scrapeCollector('domain');
  assert.deepEqual(domainsOf(families, 'libvirt_domain_timed_out'), RECORDED_RUNNING);
  assert.equal(valueOf(families, 'libvirt_domain_timed_out', { domain: 'instance-00000005' }), undefined);
  assert.equal(valueOf(families, 'libvirt_domain_timed_out', { domain: 'lab-plain-1' }), 0);
});
