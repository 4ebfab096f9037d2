// SPDX-License-Identifier: Apache-2.0
// The memory collector alone on the lab recording (test/fixtures/lab/inspection.json): the two tiny
// guests run a balloon driver, the others do not (libvirt then sends balloon.current/maximum/rss only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECORDED_RUNNING, domainsOf, scrapeCollector, shapeOf, valueOf } from '../../helpers/collector.ts';

const WITH_DRIVER = ['instance-00000001', 'instance-00000002'];

test('memory: balloon sizes of every running domain, guest statistics where the balloon driver reports', async () => {
  const { families, success } = await scrapeCollector('memory');
  assert.equal(success, 1);
  const shape = shapeOf(families);
  assert.deepEqual(Object.keys(shape).sort(), [
    'libvirt_domain_memory_stats_available_bytes',
    'libvirt_domain_memory_stats_current_balloon_bytes',
    'libvirt_domain_memory_stats_disk_caches_bytes',
    'libvirt_domain_memory_stats_hugetlb_page_allocation_failures_total',
    'libvirt_domain_memory_stats_hugetlb_page_allocations_total',
    'libvirt_domain_memory_stats_hugetlb_pgalloc_total',
    'libvirt_domain_memory_stats_hugetlb_pgfail_total',
    'libvirt_domain_memory_stats_last_update_timestamp_seconds',
    'libvirt_domain_memory_stats_major_fault_total',
    'libvirt_domain_memory_stats_maximum_bytes',
    'libvirt_domain_memory_stats_minor_fault_total',
    'libvirt_domain_memory_stats_rss_bytes',
    'libvirt_domain_memory_stats_swap_in_bytes',
    'libvirt_domain_memory_stats_swap_in_bytes_total',
    'libvirt_domain_memory_stats_swap_out_bytes',
    'libvirt_domain_memory_stats_swap_out_bytes_total',
    'libvirt_domain_memory_stats_unused_bytes',
    'libvirt_domain_memory_stats_usable_bytes',
    'libvirt_domain_memory_stats_used_bytes',
    'libvirt_domain_memory_stats_used_percent',
    'libvirt_domain_memory_stats_used_ratio',
  ]);
  for (const [name, s] of Object.entries(shape)) assert.match(s, /^(counter|gauge) domain$/, name);
  assert.equal(shape['libvirt_domain_memory_stats_swap_in_bytes_total'], 'counter domain');
  assert.equal(shape['libvirt_domain_memory_stats_swap_in_bytes'], 'gauge domain', 'the inovex alias');
  for (const f of ['current_balloon_bytes', 'maximum_bytes', 'rss_bytes'])
    assert.deepEqual(domainsOf(families, `libvirt_domain_memory_stats_${f}`), RECORDED_RUNNING, f);
  // balloon.current 131072 KiB, balloon.swap_in 1316 KiB, balloon.usable 41744 KiB (instance-00000002).
  const d = { domain: 'instance-00000002' };
  assert.equal(valueOf(families, 'libvirt_domain_memory_stats_current_balloon_bytes', d), 131072 * 1024);
  assert.equal(valueOf(families, 'libvirt_domain_memory_stats_swap_in_bytes_total', d), 1316 * 1024);
  assert.equal(valueOf(families, 'libvirt_domain_memory_stats_usable_bytes', d), 41744 * 1024);
});

test('memory: without a balloon driver the guest statistics are absent, not 0', async () => {
  const { families } = await scrapeCollector('memory');
  for (const f of [
    'swap_in_bytes_total',
    'unused_bytes',
    'usable_bytes',
    'used_bytes',
    'used_ratio',
    'major_fault_total',
  ])
    assert.deepEqual(domainsOf(families, `libvirt_domain_memory_stats_${f}`), WITH_DRIVER, f);
  assert.equal(
    valueOf(families, 'libvirt_domain_memory_stats_usable_bytes', { domain: 'lab-plain-1' }),
    undefined,
  );
});
