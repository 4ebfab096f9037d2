// SPDX-License-Identifier: Apache-2.0
// The job collector alone on the lab recording (test/fixtures/lab/inspection.json). The recorded guests
// run no job: virDomainGetJobInfo answers type 0 (none) and every figure 0 (test/helpers/fixture-client.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RECORDED_RUNNING,
  assertServes,
  domainsOf,
  scrapeCollector,
  valueOf,
} from '../../helpers/collector.ts';

const FIELDS = [
  'type',
  'time_elapsed_seconds',
  'time_remaining_seconds',
  'data_total_bytes',
  'data_processed_bytes',
  'data_remaining_bytes',
  'memory_total_bytes',
  'memory_processed_bytes',
  'memory_remaining_bytes',
  'file_total_bytes',
  'file_processed_bytes',
  'file_remaining_bytes',
];

test('job: one call per running domain, every job figure per domain', async () => {
  const families = await assertServes(
    'job',
    Object.fromEntries(FIELDS.map((f) => [`libvirt_domain_job_info_${f}`, 'gauge domain'])),
  );
  for (const f of FIELDS)
    assert.deepEqual(domainsOf(families, `libvirt_domain_job_info_${f}`), RECORDED_RUNNING, f);
  assert.equal(
    valueOf(families, 'libvirt_domain_job_info_type', { domain: 'instance-00000002' }),
    0,
    'no job',
  );
});

test('job: a shut-off domain is not asked, so it has no job series (absent, not 0)', async () => {
  const { families } = await scrapeCollector('job');
  for (const f of FIELDS)
    assert.equal(
      valueOf(families, `libvirt_domain_job_info_${f}`, { domain: 'instance-00000005' }),
      undefined,
      f,
    );
});
