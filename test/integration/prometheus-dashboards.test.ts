// SPDX-License-Identifier: Apache-2.0
/**
 * Dashboards and rules against the real thing: the exporter (src/main.ts, publisher on, sending to a
 * private RabbitMQ) over the lab's guests, scraped every second by a real Prometheus that loads our
 * rules. Variables are resolved as Grafana resolves them (label values from Prometheus, each query
 * using the values chosen before it), then every panel query of our four dashboards and of inovex's
 * dashboard must return data: at least one series with a finite value. An empty panel on a healthy
 * node is a failure; nothing is excluded.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

import { DASHBOARDS } from '../../dashboards/src/generate.ts';
import { startExporter, type RunningExporter } from '../helpers/exporter.ts';
import { LAB_GUESTS, lab } from '../helpers/lab.ts';
import {
  startPrometheus,
  waitForSeries,
  type RunningPrometheus,
  type Series,
} from '../helpers/prometheus.ts';
import {
  ROOT,
  escapeRegex,
  interpolate,
  panelQueries,
  parseLabelValues,
  readDashboard,
  variablesOf,
  type JsonDashboard,
  type PanelQuery,
} from '../unit/dashboards/promql.ts';

const RABBIT = fileURLToPath(new URL('../lab/rabbitmq.sh', import.meta.url));
const RABBIT_PORT = Number(process.env.RABBITMQ_LAB_PORT ?? 5673);
/** What Grafana's $__rate_interval would be at least four 1 s scrapes; 15 s keeps a few samples in each window. */
const RATE_INTERVAL = '15s';
/** Range of the range queries (seconds), as a panel over the last half minute. */
const RANGE_S = 30;
/** How long queries may take to have data after the first scrape (rates need two samples, latencies some I/O). */
const DATA_DEADLINE_MS = 60_000;
const INOVEX = 'test/fixtures/inovex/inovex-libvirt-openstack.json';

function rabbit(cmd: 'start' | 'stop' | 'status'): boolean {
  try {
    execFileSync('bash', [RABBIT, cmd], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
    return true;
  } catch (err) {
    if (cmd === 'status') return false;
    throw err;
  }
}

/** Picks a variable's value among the values Prometheus offers (undefined: Grafana's default, the first). */
type Chooser = (name: string, values: readonly string[]) => string | undefined;

/**
 * Resolves a dashboard's variables in order, as Grafana does on load: each `label_values(selector,
 * label)` is asked of Prometheus with the values chosen so far; the chooser's pick wins (it must be
 * among the values); else multi/All variables take their "All" value (allValue, or the regex of every
 * value), others the first value. A variable whose All is `.*` may have no value at all (the `cluster`
 * label of a set-up without it): it takes `.*`, which matches series without the label.
 */
async function resolveVariables(
  prom: RunningPrometheus,
  d: JsonDashboard,
  choose: Chooser,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  const now = Date.now() / 1000;
  for (const v of variablesOf(d)) {
    if (v.type === 'datasource') {
      values[v.name] = 'prometheus';
      continue;
    }
    assert.equal(v.type, 'query', `variable ${v.name}`);
    const lv = parseLabelValues(v.query);
    assert.ok(lv?.selector, `variable ${v.name}: ${v.query}`);
    const selector = interpolate(lv.selector, values, RATE_INTERVAL);
    const series = await prom.series(selector, { start: now - 300, end: now });
    const options = [
      ...new Set(series.map((s) => s[lv.label]).filter((x): x is string => x !== undefined)),
    ].sort();
    const picked = choose(v.name, options);
    if (picked !== undefined) {
      assert.ok(options.includes(picked), `variable ${v.name}: ${picked} is not among ${options.join(', ')}`);
      values[v.name] = picked;
    } else if (options.length === 0 && v.includeAll && v.allValue === '.*') {
      values[v.name] = '.*';
    } else {
      assert.ok(
        options.length > 0,
        `variable ${v.name} has no value: label_values(${selector}, ${lv.label})`,
      );
      values[v.name] =
        v.includeAll || v.multi ? (v.allValue ?? `(${options.map(escapeRegex).join('|')})`) : options[0]!;
    }
  }
  return values;
}

/** One query to run, with what it showed. */
interface Check {
  readonly where: string;
  readonly expr: string;
  readonly instant: boolean;
  series: number;
  points: number;
  error?: string;
}

function finitePoints(series: readonly Series[]): number {
  return series.reduce((n, s) => n + s.values.filter(([, v]) => Number.isFinite(Number(v))).length, 0);
}

/**
 * Runs every check until each has shown data (at least one finite point), or the deadline passes;
 * returns the checks, with the figures of their last run.
 */
async function runUntilData(prom: RunningPrometheus, checks: Check[], deadline: number): Promise<Check[]> {
  let pending = checks;
  for (;;) {
    const now = Math.floor(Date.now() / 1000);
    const still: Check[] = [];
    for (const c of pending) {
      try {
        const r = c.instant ? await prom.query(c.expr) : await prom.queryRange(c.expr, now - RANGE_S, now, 1);
        c.series = r.filter((s) => finitePoints([s]) > 0).length;
        c.points = finitePoints(r);
        delete c.error;
      } catch (err) {
        c.error = (err as Error).message;
      }
      if (c.points === 0 || c.error !== undefined) still.push(c);
    }
    pending = still;
    if (pending.length === 0 || Date.now() > deadline) return checks;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function checksOf(d: JsonDashboard, file: string, values: Record<string, string>, label: string): Check[] {
  return panelQueries(d).map((q: PanelQuery) => ({
    where: `${file} [${label}] ${q.panel} ${q.refId}`,
    expr: interpolate(q.expr, values, RATE_INTERVAL),
    instant: q.instant,
    series: 0,
    points: 0,
  }));
}

/**
 * Panels that are empty on a healthy lab, each for a stated reason. They must still evaluate without an
 * error; every other query must return data.
 */
const EMPTY_ON_A_HEALTHY_LAB: readonly { where: RegExp; why: string }[] = [
  { where: / Guests throttled by their CPU quota /, why: 'no lab guest has a CPU quota (cpu.max)' },
  { where: / Events A$/, why: 'no lifecycle event happens on the lab guests during the test' },
  {
    where: /\binstance-00000001\] Filesystem /,
    why: "instance-00000001 runs from its initramfs: its agent reports no filesystem (instance-00000002's /data is checked)",
  },
];

function assertAllHaveData(t: TestContext, checks: readonly Check[]): void {
  const allowed = (c: Check): boolean =>
    c.error === undefined && EMPTY_ON_A_HEALTHY_LAB.some((e) => e.where.test(c.where));
  const empty = checks.filter((c) => (c.points === 0 || c.error !== undefined) && !allowed(c));
  const series = checks.reduce((n, c) => n + c.series, 0);
  const points = checks.reduce((n, c) => n + c.points, 0);
  t.diagnostic(
    `${checks.length} queries, ${checks.length - empty.length} with data, ${series} series, ${points} points`,
  );
  assert.deepEqual(
    empty.map((c) => `${c.where}: ${c.error ?? 'no data'}\n    ${c.expr}`),
    [],
    'every query returns data',
  );
}

describe('dashboards and rules on a live Prometheus scraping the real exporter', () => {
  let exporter: RunningExporter | undefined;
  let prom: RunningPrometheus | undefined;
  let startedRabbit = false;
  let dir: string;
  /** Nova identity of the tiny guests (the ones with guest memory stats and moving counters). */
  let tiny: { domain: string; project: string; name: string; id: string }[] = [];
  let deadline = 0;

  before(async () => {
    lab('up');
    if (!rabbit('status')) {
      rabbit('start');
      startedRabbit = true;
    }
    dir = mkdtempSync(join(tmpdir(), 'libvirt-exporter-dashboards-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      stringify({
        // The guest agent's filesystems (opt-in, through libvirt's read-write socket) feed the instance dashboard.
        collectors: { guest_agent: { enabled: true } },
        publisher: {
          enabled: true,
          transport_url: `rabbit://guest:guest@127.0.0.1:${RABBIT_PORT}/`,
          // The test broker has no Ceilometer exchange: let the publisher create it.
          exchange_declare: 'transient',
          exchange: `dashboards-test-${process.pid}`,
          polling: { sources: [{ name: 'all_pollsters', interval: 2, meters: ['*'] }] },
        },
      }),
    );
    const e = await startExporter([`--config.file=${config}`, '--log.level=warn']);
    exporter = e;
    // The same exporter twice: as a job without a cluster label (a single Prometheus) and as one with
    // `cluster="lab"` (a multi-cluster set-up), for the dashboards' cluster variable.
    const p = await startPrometheus({
      jobs: [
        { jobName: 'libvirt', targets: [`127.0.0.1:${e.port}`] },
        { jobName: 'libvirt-lab', targets: [`127.0.0.1:${e.port}`], labels: { cluster: 'lab' } },
      ],
      ruleFiles: [
        fileURLToPath(new URL('rules/libvirt-exporter.rules.yml', ROOT)),
        fileURLToPath(new URL('rules/libvirt-exporter.alerts.yml', ROOT)),
      ],
      scrapeInterval: '1s',
    });
    prom = p;
    // Both jobs scraped at least once (the variables of the first test read both).
    await waitForSeries(p, 'libvirt_up == 1', { timeoutMs: 30_000, minSeries: 2 });
    // Queries may keep failing for lack of samples until this deadline, not after.
    deadline = Date.now() + DATA_DEADLINE_MS;
    const info = await waitForSeries(
      prom,
      `libvirt_domain_openstack_info{job="libvirt", domain=~"${LAB_GUESTS.tiny.join('|')}"}`,
      {
        minSeries: LAB_GUESTS.tiny.length,
      },
    );
    tiny = info.map((s) => ({
      domain: s.metric.domain!,
      project: s.metric.project_name!,
      name: s.metric.instance_name!,
      id: s.metric.instance_id!,
    }));
  });

  after(async () => {
    await prom?.stop();
    const code = await exporter?.stop();
    if (startedRabbit) rabbit('stop');
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'the exporter ends cleanly on SIGTERM');
  });

  test('every query of our four dashboards returns data, with and without a cluster label', async (t) => {
    const checks: Check[] = [];
    // Without a cluster label: cluster All (`.*`, no value to choose), the job of a single Prometheus.
    // With one: cluster "lab" chosen, every job. (All and All would count each series twice.)
    const passes: { label: string; scope: Record<string, string> }[] = [
      { label: 'no cluster label', scope: { job: 'libvirt' } },
      { label: 'cluster lab', scope: { cluster: 'lab' } },
    ];
    for (const { label, scope } of passes) {
      for (const { file } of DASHBOARDS) {
        const d = readDashboard(`dashboards/${file}`);
        if (file === 'libvirt-instance.json') {
          // Once per tiny guest, chosen through the chain project → name → ID (node and domain follow),
          // with the values that the compute node dashboard's guest table link passes.
          for (const g of tiny) {
            const pick: Record<string, string> = {
              ...scope,
              project: g.project,
              server: g.name,
              instance_id: g.id,
            };
            const values = await resolveVariables(prom!, d, (name) => pick[name]);
            assert.equal(values.domain, g.domain, 'the chain leads to the chosen guest');
            assert.equal(values.node, `127.0.0.1:${exporter!.port}`);
            checks.push(...checksOf(d, file, values, `${label}, ${g.domain}`));
          }
        } else {
          const values = await resolveVariables(prom!, d, (name) => scope[name]);
          if (scope.cluster === undefined) assert.equal(values.cluster, '.*', `${file}: cluster All`);
          checks.push(...checksOf(d, file, values, label));
        }
      }
    }
    assert.ok(checks.length >= 300, `${checks.length} queries`);
    assertAllHaveData(t, await runUntilData(prom!, checks, deadline));
    // The same method on a misspelt metric and on a guest that does not exist finds no data.
    const control: Check[] = [
      { where: 'control', expr: 'libvirt_domain_memroy_bytes', instant: false, series: 0, points: 0 },
      {
        where: 'control',
        expr: `rate(libvirt_domain_vcpu_time_seconds_total{domain="no-such-guest"}[${RATE_INTERVAL}])`,
        instant: false,
        series: 0,
        points: 0,
      },
    ];
    await runUntilData(prom!, control, 0);
    assert.deepEqual(
      control.map((c) => c.points),
      [0, 0],
    );
  });

  test("every query of inovex's dashboard returns data, variables chained project_name → vm_name → vm_id → dom_id", async (t) => {
    const d = readDashboard(INOVEX);
    assert.deepEqual(
      variablesOf(d).map((v) => v.name),
      ['project_name', 'vm_name', 'vm_id', 'dom_id'],
    );
    const checks: Check[] = [];
    for (const g of tiny) {
      const pick: Record<string, string> = { project_name: g.project, vm_name: g.name, vm_id: g.id };
      const values = await resolveVariables(prom!, d, (name) => pick[name]);
      assert.equal(values.dom_id, g.domain);
      // inovex's panels read the `datasource` input of its __inputs, not a variable.
      checks.push(...checksOf(d, INOVEX, { ...values, datasource: 'prometheus' }, g.domain));
    }
    assert.equal(checks.length, 28 * tiny.length);
    assertAllHaveData(t, await runUntilData(prom!, checks, deadline));
  });

  test('every recording rule and alert evaluates without error, and every recording rule has data', async (t) => {
    interface ApiRule {
      name: string;
      type: 'recording' | 'alerting';
      health: string;
      lastError?: string;
      lastEvaluation: string;
    }
    const rules = async (): Promise<ApiRule[]> =>
      ((await prom!.api('/api/v1/rules')) as { groups: { rules: ApiRule[] }[] }).groups.flatMap(
        (g) => g.rules,
      );
    const end = Date.now() + 30_000;
    while ((await rules()).some((r) => r.lastEvaluation.startsWith('0001')) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 500));
    }
    const all = await rules();
    assert.equal(all.filter((r) => r.type === 'recording').length, 27);
    assert.equal(all.filter((r) => r.type === 'alerting').length, 24);
    assert.deepEqual(
      all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
      [],
    );
    const checks: Check[] = all
      .filter((r) => r.type === 'recording')
      .map((r) => ({ where: `recording rule ${r.name}`, expr: r.name, instant: true, series: 0, points: 0 }));
    assertAllHaveData(t, await runUntilData(prom!, checks, Math.max(deadline, Date.now() + 15_000)));

    // On this healthy node the health alerts' conditions are false: none is even pending. (Alerts
    // that depend on the lab's load or guest mix, such as steal or overcommit, are not judged here.)
    const healthy = [
      'LibvirtExporterDown',
      'LibvirtDown',
      'LibvirtCollectorFailing',
      'LibvirtDomainCrashed',
      'LibvirtDomainPausedOnError',
      'LibvirtDomainDiskErrors',
      'LibvirtDomainNetworkErrors',
      'LibvirtPublisherDroppingSamples',
    ];
    const active = await prom!.query(`ALERTS{alertname=~"${healthy.join('|')}"}`);
    assert.deepEqual(
      active.map(
        (s) => `${s.metric.alertname ?? ''} ${s.metric.alertstate ?? ''} ${JSON.stringify(s.metric)}`,
      ),
      [],
    );
  });
});
