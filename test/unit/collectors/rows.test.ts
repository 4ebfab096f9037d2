// SPDX-License-Identifier: Apache-2.0
// The meter table's rows (src/collectors/rows.ts) write each series once: they check their subjects, not
// each sample, so a repeated subject and a family shared by two rows are what could break that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meterTable } from '../../../src/meters/table.ts';
import { loadRecording } from '../../helpers/fixture-client.ts';
import { scrapeCollector, valueOf, type Recording } from '../../helpers/collector.ts';

/**
 * The recording with one more device of `domain` (`group` block or net) named `name`, with other counters.
 * With `name` that of an earlier device, two subjects of one domain share a label text.
 */
function withRepeatedTarget(recording: Recording, domain: string, group = 'block', name = 'vda'): Recording {
  return {
    ...recording,
    stats: recording.stats.map((s) => {
      if (s.domain.name !== domain) return s;
      const count = s.params.find((p) => p.field === `${group}.count`);
      assert.ok(count !== undefined);
      const n = Number(count.value);
      const counter = group === 'block' ? 'rd.reqs' : 'rx.pkts';
      return {
        ...s,
        params: [
          ...s.params.map((p) => (p === count ? { ...p, value: n + 1 } : p)),
          { field: `${group}.${n}.name`, type: 7, value: name },
          { field: `${group}.${n}.${counter}`, type: 4, value: '999999' },
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

test('rows: a second vNIC with the same name writes no second series; the same name in another domain does', async () => {
  const base = loadRecording();
  const running = base.stats.filter((s) =>
    s.params.some((p) => p.field === 'net.count' && Number(p.value) > 0),
  );
  assert.ok(running.length >= 2, 'two guests with vNICs in the recording');
  const [a, b] = running.map((s) => s.domain.name);
  const nameOf = (d: string | undefined): string => {
    const r = base.stats.find((s) => s.domain.name === d);
    return String(r?.params.find((p) => p.field === 'net.0.name')?.value);
  };
  // `a` gets a second vNIC named as its first; `b` gets one named as `a`'s first (a name of another domain).
  const recording = withRepeatedTarget(
    withRepeatedTarget(base, a ?? '', 'net', nameOf(a)),
    b ?? '',
    'net',
    nameOf(a),
  );
  const { families, success } = await scrapeCollector('interface', { recording });
  assert.equal(success, 1);
  const rx = families.get('libvirt_domain_interface_stats_receive_packets_total')?.samples ?? [];
  const of = (d: string | undefined, dev: string): number =>
    rx.filter((x) => x.labels['domain'] === d && x.labels['target_device'] === dev).length;
  assert.equal(of(a, nameOf(a)), 1, 'the repeated vNIC of one domain: one series');
  if (nameOf(b) !== nameOf(a))
    assert.equal(of(b, nameOf(a)), 1, 'the same name in another domain: its own series');
  assert.notEqual(
    valueOf(families, 'libvirt_domain_interface_stats_receive_packets_total', {
      domain: a ?? '',
      target_device: nameOf(a),
    }),
    999999,
    'the first vNIC of that name stays',
  );
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
