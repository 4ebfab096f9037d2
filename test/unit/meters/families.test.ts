// SPDX-License-Identifier: Apache-2.0
// Every family declaration of src/meters/ against what the exporter serves: the golden exposition of the
// lab recording (test/golden/metrics.prom, default collectors plus job, dirtyrate and perf) and, for the
// opt-in collectors the golden file leaves out, docs/metrics.md (a scrape with every collector on, kept
// up to date by test/unit/http/exposition.test.ts). Neither file is edited here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COLLECTOR_NAMES, type CollectorName } from '../../../src/config/schema.ts';
import { declaredFamilies } from '../../../src/meters/index.ts';
import { parseExposition } from '../../helpers/exposition.ts';

const golden = parseExposition(readFileSync(new URL('../../golden/metrics.prom', import.meta.url), 'utf8'));

/** The families docs/metrics.md lists: name, type and HELP (unescaped from Markdown). */
function documented(): Map<string, { type: string; help: string }> {
  const md = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
  const out = new Map<string, { type: string; help: string }>();
  for (const line of md.split('\n')) {
    const m = /^\| `(libvirt_[a-z0-9_]+)` \| (counter|gauge) \| [^|]* \| (.*) \|$/.exec(line);
    if (m) out.set(m[1]!, { type: m[2]!, help: m[3]!.replace(/\\\|/g, '|').replace(/&lt;/g, '<') });
  }
  return out;
}
const docs = documented();

/** Families served by the exporter's own instrumentation (prom-client), not read from libvirt. */
const isSelfMetric = (name: string): boolean => name.startsWith('libvirt_exporter_');

test('every family of the golden exposition is declared once, with its type and HELP', (t) => {
  const declared = new Map(declaredFamilies().map((d) => [d.metric.name, d]));
  for (const f of golden.values()) {
    const d = declared.get(f.name);
    assert.ok(d, `${f.name} is declared under src/meters/`);
    assert.equal(d.metric.type, f.type, `${f.name} type`);
    assert.equal(d.metric.help, f.help, `${f.name} HELP`);
  }
  t.diagnostic(`${golden.size} families in the golden exposition, all declared`);
});

test('every declaration is served with its name, type and HELP', (t) => {
  const all = declaredFamilies();
  for (const d of all) {
    const served = golden.get(d.metric.name) ?? docs.get(d.metric.name);
    assert.ok(served, `${d.metric.name} (${d.collector}) is served`);
    assert.equal(served.type, d.metric.type, `${d.metric.name} type`);
    assert.equal(served.help, d.metric.help, `${d.metric.name} HELP`);
  }
  const servedNames = new Set([...golden.keys(), ...[...docs.keys()].filter((n) => !isSelfMetric(n))]);
  assert.equal(all.length, servedNames.size, 'as many declarations as families served');
  t.diagnostic(`${all.length} declarations, ${servedNames.size} libvirt families served (golden + docs)`);
});

test('declarations are unique and name a real collector', () => {
  const names = new Set<string>();
  const known = new Set<string>([...COLLECTOR_NAMES, 'scrape']);
  for (const d of declaredFamilies()) {
    assert.ok(!names.has(d.metric.name), `${d.metric.name} is declared once`);
    names.add(d.metric.name);
    assert.ok(known.has(d.collector), `${d.metric.name}: collector ${d.collector}`);
  }
  // @ts-expect-error a misspelt collector name fails type checking (it used to drop a metric silently)
  const typo: CollectorName = 'cpuu';
  assert.ok(!known.has(typo));
});

// HELP that describes the value rather than citing a libvirt field (info metrics, flags, the scrape).
const DESCRIBED = new Set([
  'libvirt_scrape_collector_duration_seconds',
  'libvirt_scrape_collector_success',
  'libvirt_up',
  'libvirt_scrape_libvirt_round_trips',
  'libvirt_scrape_domains_skipped',
  'libvirt_domain_uuid_info',
  'libvirt_domain_timed_out',
  'libvirt_host_info',
  'libvirt_storage_pool_timed_out',
  'libvirt_guest_agent_skipped_domains',
  'libvirt_domain_events_total',
]);

test('HELP cites the source field and says the conversion, from the declaration itself', () => {
  for (const d of declaredFamilies()) {
    if (d.alias) {
      assert.match(d.metric.help, /^Deprecated inovex-compatible alias of libvirt_[a-z_]+/);
      continue;
    }
    if (!DESCRIBED.has(d.metric.name))
      assert.ok(d.metric.help.includes(d.source), `${d.metric.name}: HELP cites ${d.source}`);
    const from = /(?:converted from|converted to) (\S+?)[.,]?$/.exec(d.metric.help.replace(/\.$/, ''));
    const converted = !['bytes', 'count', 'code', 'seconds'].includes(d.rawUnit);
    assert.equal(
      from !== null,
      converted,
      `${d.metric.name}: HELP says a conversion iff ${d.rawUnit} is not a base unit`,
    );
  }
});
