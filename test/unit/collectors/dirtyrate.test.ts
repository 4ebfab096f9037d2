// SPDX-License-Identifier: Apache-2.0
// The dirtyrate collector alone on two recordings: the lab's guests, which never started a calculation
// (test/fixtures/lab/inspection.json: dirtyrate.calc_status 0, no rate), and a guest measured with
// `virsh domdirtyrate-calc` (test/fixtures/lab/dirtyrate.json, made by record-dirtyrate.ts next to it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRecording } from '../../helpers/fixture-client.ts';
import {
  RECORDED_RUNNING,
  assertServes,
  domainsOf,
  scrapeCollector,
  valueOf,
} from '../../helpers/collector.ts';

const MEASURED = new URL('../../fixtures/lab/dirtyrate.json', import.meta.url);

test('dirtyrate: a finished calculation serves its status and its rate in bytes per second', async () => {
  const families = await assertServes(
    'dirtyrate',
    {
      libvirt_domain_dirtyrate_bytes_per_second: 'gauge domain',
      libvirt_domain_dirtyrate_calculation_status: 'gauge domain',
    },
    { recording: loadRecording(MEASURED) },
  );
  const d = { domain: 'record-dirtyrate' };
  assert.equal(valueOf(families, 'libvirt_domain_dirtyrate_calculation_status', d), 2, 'measured');
  // An idle no-OS guest dirties nothing: libvirt measured dirtyrate.megabytes_per_second 0.
  assert.equal(valueOf(families, 'libvirt_domain_dirtyrate_bytes_per_second', d), 0);
});

test('dirtyrate: without a calculation the status is 0 and the rate absent, not 0', async () => {
  const { families, success } = await scrapeCollector('dirtyrate');
  assert.equal(success, 1);
  assert.deepEqual(domainsOf(families, 'libvirt_domain_dirtyrate_calculation_status'), RECORDED_RUNNING);
  assert.equal(
    valueOf(families, 'libvirt_domain_dirtyrate_calculation_status', { domain: 'lab-plain-1' }),
    0,
  );
  assert.equal(families.get('libvirt_domain_dirtyrate_bytes_per_second')?.type, 'gauge');
  assert.deepEqual(families.get('libvirt_domain_dirtyrate_bytes_per_second')?.samples, []);
});
