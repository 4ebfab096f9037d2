// SPDX-License-Identifier: Apache-2.0
// The block collector alone on the lab recording (test/fixtures/lab/inspection.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertServes, scrapeCollector, scrapeWithout, valueOf } from '../../helpers/collector.ts';

const DISK = 'domain,target_device';

test('block: counters, sizes and info per disk, times in seconds', async () => {
  const families = await assertServes('block', {
    libvirt_domain_block_stats_read_requests_total: `counter ${DISK}`,
    libvirt_domain_block_stats_read_bytes_total: `counter ${DISK}`,
    libvirt_domain_block_stats_read_time_seconds_total: `counter ${DISK}`,
    libvirt_domain_block_stats_write_requests_total: `counter ${DISK}`,
    libvirt_domain_block_stats_write_bytes_total: `counter ${DISK}`,
    libvirt_domain_block_stats_write_time_seconds_total: `counter ${DISK}`,
    libvirt_domain_block_stats_flush_requests_total: `counter ${DISK}`,
    libvirt_domain_block_stats_flush_time_seconds_total: `counter ${DISK}`,
    // libvirt sends block.N.errs for Xen only: declared, no sample.
    libvirt_domain_block_stats_errors_total: 'counter',
    libvirt_domain_block_stats_capacity_bytes: `gauge ${DISK}`,
    libvirt_domain_block_stats_allocation_bytes: `gauge ${DISK}`,
    libvirt_domain_block_stats_physical_bytes: `gauge ${DISK}`,
    libvirt_domain_block_stats_info:
      'gauge disk_type,domain,driver_cache,driver_discard,driver_name,driver_type,serial,source_file,source_protocol,target_bus,target_device',
  });
  // instance-00000002 vda: rd.reqs 1207, rd.bytes 11641344, rd.times 54677329 ns, capacity 67108864.
  const vda = { domain: 'instance-00000002', target_device: 'vda' };
  assert.equal(valueOf(families, 'libvirt_domain_block_stats_read_requests_total', vda), 1207);
  assert.equal(valueOf(families, 'libvirt_domain_block_stats_read_bytes_total', vda), 11641344);
  assert.equal(valueOf(families, 'libvirt_domain_block_stats_read_time_seconds_total', vda), 0.054677329);
  assert.equal(valueOf(families, 'libvirt_domain_block_stats_capacity_bytes', vda), 67108864);
  assert.equal(families.get('libvirt_domain_block_stats_read_requests_total')?.samples.length, 7);
});

test('block: the empty CD-ROM drive has counters but no sizes (absent, not 0)', async () => {
  const { families } = await scrapeCollector('block');
  const hdc = { domain: 'lab-plain-1', target_device: 'hdc' };
  assert.equal(valueOf(families, 'libvirt_domain_block_stats_read_requests_total', hdc), 0);
  for (const f of ['capacity', 'allocation', 'physical'])
    assert.equal(valueOf(families, `libvirt_domain_block_stats_${f}_bytes`, hdc), undefined, f);
});

test('block: counters of a held job are absent for that domain, the other domains unchanged', async () => {
  const families = await scrapeWithout('block', 'instance-00000001', /^block\.\d+\.(rd|wr|fl)\./);
  const vda = { domain: 'instance-00000001', target_device: 'vda' };
  assert.equal(valueOf(families, 'libvirt_domain_block_stats_read_bytes_total', vda), undefined);
  assert.equal(valueOf(families, 'libvirt_domain_block_stats_capacity_bytes', vda), 67108864);
  assert.equal(
    valueOf(families, 'libvirt_domain_block_stats_read_requests_total', { domain: 'instance-00000003' }),
    1,
  );
});
