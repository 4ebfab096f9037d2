// SPDX-License-Identifier: Apache-2.0
/**
 * The Prometheus rules: `promtool check rules` and `promtool test rules` (alerts.test.yml has a firing
 * and a non-firing case for every alert), every alert documented (severity, summary, description,
 * a runbook_url whose anchor exists in docs/runbooks.md), and every metric a rule reads served by the
 * exporter or recorded by another rule.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

import { promtool } from '../../helpers/prometheus.ts';
import { PROMETHEUS_SYNTHETIC, ROOT, knownMetrics, promqlFacts } from '../dashboards/promql.ts';

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[] | null;
}
interface TestFile {
  rule_files: string[];
  tests: { alert_rule_test?: AlertTest[] }[];
}

const RULES = 'rules/libvirt-exporter.rules.yml';
const ALERTS = 'rules/libvirt-exporter.alerts.yml';
const TESTS = 'test/unit/rules/alerts.test.yml';
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');
const rulesOf = (path: string): Rule[] => (parse(read(path)) as RuleFile).groups.flatMap((g) => g.rules);
const recording = rulesOf(RULES);
const alerts = rulesOf(ALERTS);

/** GitHub's anchor of a Markdown heading. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

describe('rules files', () => {
  test('promtool check rules accepts both files', () => {
    const r = promtool(['check', 'rules', RULES, ALERTS], { cwd: fileURLToPath(ROOT) });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${recording.length} rules found`));
    assert.match(r.stdout, new RegExp(`SUCCESS: ${alerts.length} rules found`));
    assert.ok(recording.every((x) => x.record !== undefined) && alerts.every((x) => x.alert !== undefined));
  });

  test('promtool test rules passes every unit test of the alerts', () => {
    const r = promtool(['test', 'rules', TESTS], { cwd: fileURLToPath(ROOT) });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
  });

  test('every alert has a unit test where it fires and one where it does not', () => {
    const tests = parse(read(TESTS)) as TestFile;
    assert.deepEqual(
      tests.rule_files.map((f) => f.replace(/^(\.\.\/)+/, '')),
      [RULES, ALERTS],
      'the unit tests load both rule files',
    );
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${a.alert ?? ''}: no firing case`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${a.alert ?? ''}: no case where it does not fire`,
      );
    }
    const names = new Set(alerts.map((a) => a.alert));
    for (const c of cases) assert.ok(names.has(c.alertname), `test of unknown alert ${c.alertname}`);
  });

  test('names: recording rules are level:metric:operations, alerts are unique CamelCase', () => {
    for (const r of recording)
      assert.match(r.record ?? '', /^[a-z_]+:libvirt_[a-z0-9_]+:[a-z0-9_]+$/, r.record);
    const names = alerts.map((a) => a.alert ?? '');
    assert.equal(new Set(names).size, names.length, 'duplicate alert name');
    for (const n of names) assert.match(n, /^Libvirt[A-Z][A-Za-z]+$/);
  });
});

describe('alerts name the OpenStack instance', () => {
  const IDENTITY = ['instance_id', 'instance_name', 'project_id', 'project_name'];
  /** Alerts on one guest: they read per-domain series. */
  const perGuest = alerts.filter((a) =>
    promqlFacts(a.expr).metrics.some((m) => /^(libvirt_domain_|domain(_device)?:)/.test(m)),
  );
  const JOIN =
    /^\(\n([\s\S]+)\n\)\n\* on \(job, instance, domain\) group_left \(instance_id, instance_name, project_id, project_name\)\nlibvirt_domain_openstack_info\nor on \(job, instance, domain\)\n\(\n([\s\S]+)\n\)$/;

  test('every alert on one guest joins libvirt_domain_openstack_info, and keeps guests without it', () => {
    assert.ok(perGuest.length >= 11, `${perGuest.length} alerts on one guest`);
    for (const a of perGuest) {
      const m = JOIN.exec(a.expr.trim().replace(/^ +/gm, ''));
      assert.ok(
        m,
        `${a.alert ?? ''}: (A) * on (job, instance, domain) group_left (identity) info or on (job, instance, domain) (A)`,
      );
      assert.equal(m[1], m[2], `${a.alert ?? ''}: the same condition on both sides of or`);
      assert.match(
        a.annotations?.summary ?? '',
        /\$labels\.instance_name/,
        `${a.alert ?? ''}: summary names the server`,
      );
      for (const l of IDENTITY)
        assert.ok(
          (a.annotations?.description ?? '').includes(`$labels.${l}`),
          `${a.alert ?? ''}: description has ${l}`,
        );
    }
  });

  test('alerts.test.yml fires every alert on one guest with and without the Nova identity labels', () => {
    const tests = parse(read(TESTS)) as {
      tests: {
        alert_rule_test?: {
          alertname: string;
          exp_alerts?: { exp_labels: Record<string, string> }[] | null;
        }[];
      }[];
    };
    const fired = tests.tests
      .flatMap((t) => t.alert_rule_test ?? [])
      .flatMap((c) => (c.exp_alerts ?? []).map((e) => ({ alert: c.alertname, labels: e.exp_labels })));
    for (const a of perGuest) {
      const mine = fired.filter((f) => f.alert === a.alert);
      assert.ok(
        mine.some((f) => IDENTITY.every((l) => (f.labels[l] ?? '') !== '')),
        `${a.alert ?? ''}: a firing case with ${IDENTITY.join(', ')}`,
      );
      assert.ok(
        mine.some((f) => IDENTITY.every((l) => f.labels[l] === undefined)),
        `${a.alert ?? ''}: a firing case for a guest without Nova metadata`,
      );
    }
  });
});

describe('alert documentation', () => {
  const runbooks = read('docs/runbooks.md');
  const headings = [...runbooks.matchAll(/^### (.+)$/gm)].map((m) => m[1]!.trim());

  test('every alert has a severity, a summary, a description and a runbook_url', () => {
    for (const a of alerts) {
      assert.match(a.labels?.severity ?? '', /^(critical|warning|info)$/, `${a.alert ?? ''}: severity`);
      assert.ok((a.annotations?.summary ?? '').length > 10, `${a.alert ?? ''}: summary`);
      assert.ok((a.annotations?.description ?? '').length > 40, `${a.alert ?? ''}: description`);
      assert.equal(
        a.annotations?.runbook_url,
        `docs/runbooks.md#${anchor(a.alert ?? '')}`,
        `${a.alert ?? ''}: runbook_url`,
      );
    }
  });

  test('docs/runbooks.md has one section per alert, and none for an alert that does not exist', () => {
    assert.deepEqual([...headings].sort(), alerts.map((a) => a.alert ?? '').sort());
    for (const h of headings) {
      const body = runbooks.slice(runbooks.indexOf(`### ${h}\n`)).split(/\n#{2,3} /)[0] ?? '';
      assert.ok(body.length > 300, `${h}: runbook paragraph too short`);
    }
    // Internal links between runbooks point at existing sections.
    for (const m of runbooks.matchAll(/\]\(#([\w-]+)\)/g)) {
      assert.ok(
        headings.some((h) => anchor(h) === m[1]),
        `dangling link #${m[1] ?? ''}`,
      );
    }
  });
});

describe('rule expressions', () => {
  test('every metric a rule reads is served by the exporter or recorded by a rule', async () => {
    const known = await knownMetrics();
    const recorded = new Set(recording.map((r) => r.record ?? ''));
    const used = new Set<string>();
    for (const r of [...recording, ...alerts]) {
      const facts = promqlFacts(r.expr);
      assert.deepEqual(facts.errors, [], r.record ?? r.alert);
      for (const m of facts.metrics) {
        used.add(m);
        assert.ok(
          known.has(m) || recorded.has(m) || PROMETHEUS_SYNTHETIC.has(m),
          `${r.record ?? r.alert ?? ''}: ${m} is not served`,
        );
      }
      for (const m of facts.ratedMetrics) {
        assert.ok(
          known.get(m)?.type === 'counter',
          `${r.record ?? r.alert ?? ''}: rate() of non-counter ${m}`,
        );
      }
      for (const m of facts.instantMetrics) {
        assert.notEqual(
          known.get(m)?.type,
          'counter',
          `${r.record ?? r.alert ?? ''}: counter ${m} read without rate()`,
        );
      }
    }
    // Every recording rule is either used by an alert or meant for dashboards and ad-hoc queries:
    // at least the ones the alerts need must exist.
    for (const a of alerts) {
      for (const m of promqlFacts(a.expr).metrics)
        if (m.includes(':')) assert.ok(recorded.has(m), `${a.alert ?? ''}: ${m}`);
    }
    assert.ok(used.size >= 30, `${used.size} metric names`);
  });
});
