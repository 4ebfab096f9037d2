// SPDX-License-Identifier: Apache-2.0
// The storage_pool collector alone on the lab recording (test/fixtures/lab/inspection.json: the lab's
// directory pool `lab-pool`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRecording } from '../../helpers/fixture-client.ts';
import { assertServes, scrapeCollector, valueOf } from '../../helpers/collector.ts';

test('storage_pool: state and sizes of every pool, in bytes', async () => {
  const families = await assertServes('storage_pool', {
    libvirt_storage_pool_state: 'gauge storage_pool',
    libvirt_storage_pool_capacity_bytes: 'gauge storage_pool',
    libvirt_storage_pool_allocation_bytes: 'gauge storage_pool',
    libvirt_storage_pool_available_bytes: 'gauge storage_pool',
    libvirt_storage_pool_timed_out: 'gauge storage_pool',
  });
  const pool = { storage_pool: 'lab-pool' };
  assert.equal(valueOf(families, 'libvirt_storage_pool_state', pool), 2, 'running');
  assert.equal(valueOf(families, 'libvirt_storage_pool_capacity_bytes', pool), 270553174016);
  assert.equal(valueOf(families, 'libvirt_storage_pool_available_bytes', pool), 245388627968);
  assert.equal(valueOf(families, 'libvirt_storage_pool_timed_out', pool), 0);
});

test('storage_pool: a host without pools has the families declared and no sample', async () => {
  const { families, success } = await scrapeCollector('storage_pool', {
    recording: { ...loadRecording(), pools: [] },
  });
  assert.equal(success, 1);
  assert.equal(families.get('libvirt_storage_pool_capacity_bytes')?.type, 'gauge');
  for (const [name, f] of families) assert.deepEqual(f.samples, [], name);
});
