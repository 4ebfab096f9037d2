// SPDX-License-Identifier: Apache-2.0
// The openstack collector alone on the lab recording (test/fixtures/lab/inspection.json): five guests
// carry Nova metadata (nova/1.1), lab-plain-1 none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertServes, domainsOf, scrapeCollector, valueOf } from '../../helpers/collector.ts';

const NOVA = [
  'instance-00000001',
  'instance-00000002',
  'instance-00000003',
  'instance-00000004',
  'instance-00000005',
];

test('openstack: identity, flavor and root disk from the Nova metadata, sizes in bytes', async () => {
  const families = await assertServes('openstack', {
    libvirt_domain_openstack_info:
      'gauge domain,flavor_name,instance_id,instance_name,project_id,project_name,user_id,user_name',
    libvirt_domain_openstack_flavor_info: 'gauge domain,flavor_id,flavor_name',
    libvirt_domain_openstack_root_info: 'gauge domain,root_id,root_type',
    libvirt_domain_openstack_flavor_vcpus: 'gauge domain',
    libvirt_domain_openstack_flavor_memory_bytes: 'gauge domain',
    libvirt_domain_openstack_flavor_disk_bytes: 'gauge domain',
    libvirt_domain_openstack_flavor_ephemeral_bytes: 'gauge domain',
    libvirt_domain_openstack_flavor_swap_bytes: 'gauge domain',
    libvirt_domain_openstack_creation_timestamp_seconds: 'gauge domain',
  });
  // instance-00000001 is web-1, flavor m1.tiny (128 MiB, 1 GiB disk), created 2025-03-14 09:26:53 UTC.
  const d = { domain: 'instance-00000001' };
  const identity = {
    ...d,
    instance_name: 'web-1',
    flavor_name: 'm1.tiny',
    project_id: '6b1f0e8c3a5d4e2f9c7b1a0d2e4f6a8b',
  };
  assert.equal(valueOf(families, 'libvirt_domain_openstack_info', identity), 1);
  assert.equal(valueOf(families, 'libvirt_domain_openstack_flavor_memory_bytes', d), 128 * 1024 * 1024);
  assert.equal(valueOf(families, 'libvirt_domain_openstack_flavor_disk_bytes', d), 1024 * 1024 * 1024);
  assert.equal(valueOf(families, 'libvirt_domain_openstack_root_info', { ...d, root_type: 'image' }), 1);
  assert.equal(
    valueOf(families, 'libvirt_domain_openstack_creation_timestamp_seconds', d),
    Date.UTC(2025, 2, 14, 9, 26, 53) / 1000,
  );
});

test('openstack: a domain without Nova metadata has no openstack series at all (not empty labels)', async () => {
  const { families } = await scrapeCollector('openstack');
  for (const f of families.keys()) assert.deepEqual(domainsOf(families, f), NOVA, f);
});
