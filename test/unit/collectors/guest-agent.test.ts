// SPDX-License-Identifier: Apache-2.0
// The guest_agent collector alone on the lab recording (test/fixtures/lab/inspection.json) and the
// recorded virDomainGetGuestInfo answers (test/fixtures/libvirt/insight-frames.json): the tiny guest
// instance-00000002 has an agent and an ext2 filesystem on vdb, the other running guests no agent channel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertServes, domainsOf, scrapeCollector, valueOf } from '../../helpers/collector.ts';

const FS = 'gauge device,domain,fstype,mountpoint';

test('guest_agent: filesystems and OS of the guest with an agent, the others counted by reason', async () => {
  const families = await assertServes('guest_agent', {
    libvirt_domain_filesystem_size_bytes: FS,
    libvirt_domain_filesystem_used_bytes: FS,
    libvirt_domain_guest_os_info:
      'gauge domain,hostname,kernel_release,machine,os_id,os_name,os_pretty_name,os_version_id',
    libvirt_guest_agent_skipped_domains: 'gauge reason',
  });
  const data = { domain: 'instance-00000002', mountpoint: '/data', fstype: 'ext2', device: '/dev/vdb' };
  assert.equal(valueOf(families, 'libvirt_domain_filesystem_size_bytes', data), 15405056);
  const used = valueOf(families, 'libvirt_domain_filesystem_used_bytes', data);
  assert.ok(used !== undefined && used > 0 && used < 15405056);
  assert.equal(
    valueOf(families, 'libvirt_domain_guest_os_info', { domain: 'instance-00000002', hostname: 'db-1' }),
    1,
  );
  assert.equal(valueOf(families, 'libvirt_guest_agent_skipped_domains', { reason: 'not_configured' }), 3);
  assert.equal(valueOf(families, 'libvirt_guest_agent_skipped_domains', { reason: 'timeout' }), 0);
});

test('guest_agent: a guest without an agent has no filesystem or OS series (absent, not empty)', async () => {
  const { families } = await scrapeCollector('guest_agent');
  for (const f of ['libvirt_domain_filesystem_size_bytes', 'libvirt_domain_guest_os_info'])
    assert.deepEqual(domainsOf(families, f), ['instance-00000002'], f);
});
