// SPDX-License-Identifier: Apache-2.0
// The perf collector alone on the lab recording (test/fixtures/lab/inspection.json). No recording with
// perf events exists: the lab machine has no host perf events (libvirt refuses to start a guest whose
// XML enables one: "unable to open host cpu perf event for cpu_cycles: No such file or directory"), so
// libvirt sends no perf.* field, and a value is never made up here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertServes } from '../../helpers/collector.ts';

test('perf: no perf.* field from libvirt, no sample: the counter family is declared and empty', async () => {
  const families = await assertServes('perf', { libvirt_domain_perf_events_total: 'counter' });
  assert.deepEqual(families.get('libvirt_domain_perf_events_total')?.samples, []);
  assert.match(families.get('libvirt_domain_perf_events_total')?.help ?? '', /perf\.<event>/);
});
