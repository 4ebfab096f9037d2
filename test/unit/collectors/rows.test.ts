// SPDX-License-Identifier: Apache-2.0
// The meter table's rows (src/collectors/rows.ts) write each series once: they check their subjects, not
// each sample, so a repeated subject and a family shared by two rows are what could break that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meterTable } from '../../../src/meters/table.ts';
import { loadRecording } from '../../helpers/fixture-client.ts';
import { scrapeCollector, valueOf, type Recording } from '../../helpers/collector.ts';

/** The recording with a second disk of `domain` answering to the target name `vda`, with other counters. */
function withRepeatedTarget(recording: Recording, domain: string): Recording {
  return {
    ...recording,
    stats: recording.stats.map((s) => {
      if (s.domain.name !== domain) return s;
      const count = s.params.find((p) => p.field === 'block.count');
      assert.ok(count !== undefined);
      const n = Number(count.value);
      return {
        ...s,
        params: [
          ...s.params.map((p) => (p === count ? { ...p, value: n + 1 } : p)),
          { field: `block.${n}.name`, type: 7, value: 'vda' },
          { field: `block.${n}.rd.reqs`, type: 4, value: '999999' },
        ],
      };
    }),
  };
}

test('rows: a second disk with the same target name writes no second series', async () => {
  const recording = withRepeatedTarget(loadRecording(), 'instance-00000002');
  const { families, success } = await scrapeCollector('block', { recording });
  assert.equal(success, 1);
  const reads = families.get('libvirt_domain_block_stats_read_requests_total')?.samples ?? [];
  const vda = reads.filter(
    (s) => s.labels['domain'] === 'instance-00000002' && s.labels['target_device'] === 'vda',
  );
  assert.equal(vda.length, 1);
  // The first disk of that name stays (rd.reqs 1207 in the recording), as the sink keeps a first sample.
  const first = { domain: 'instance-00000002', target_device: 'vda' };
  assert.equal(valueOf(families, 'libvirt_domain_block_stats_read_requests_total', first), 1207);
  // The other subjects are all there: 7 disks in the recording, as without the repeated one.
  assert.equal(reads.length, 7);
});

test('rows: no two rows of the meter table share a family (each family is written by one row)', () => {
  const owner = new Map<string, string>();
  for (const [scope, rows] of Object.entries(meterTable)) {
    for (const row of rows) {
      for (const metric of [row.prometheus, row.inovexAlias]) {
        if (metric === undefined) continue;
        const where = `${scope} ${row.collector}`;
        assert.equal(
          owner.get(metric.name),
          undefined,
          `${metric.name}: ${where} and ${owner.get(metric.name)}`,
        );
        owner.set(metric.name, where);
      }
    }
  }
  assert.ok(owner.size > 0);
});
