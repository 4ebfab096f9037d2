// SPDX-License-Identifier: Apache-2.0
/**
 * Renders docs/reliability.md from the results the reliability tests recorded in .reliability/
 * (test/integration/{faults,broker-outage,broker-blocked,broker-failover,load,bad-input,secrets,auth-flood}.test.ts,
 * via test/helpers/reliability.ts),
 * plus `npm audit --omit=dev --audit-level=high`, which this script runs itself. No figure is typed by
 * hand: run the tests, then
 *
 *   node --import tsx test/tools/reliability-report.ts            # writes docs/reliability.md
 *   node --import tsx test/tools/reliability-report.ts --stdout   # prints it instead
 *
 * Exit code 1 when a scenario is missing, a check failed, or npm audit found high or critical
 * advisories (the document is written all the same, saying so). An audit that cannot run (the registry
 * has no advisory endpoint, as on the machines this project is built on) is said in the document and
 * warned about, without failing.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeChart } from '../../helm/tools/chart-sync.ts';
import { RESULTS_DIR, readResult, type Figure, type ResultFile } from '../helpers/reliability.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = `${ROOT}docs/reliability.md`;

/** Basic auth under a flood of wrong credentials (issue 15, item 5): test/integration/auth-flood.test.ts. */
const AUTH_FLOOD_SECTION = {
  title: 'Authentication under flood',
  intro:
    'Basic auth with bcrypt under a flood of wrong credentials, while Prometheus keeps scraping (see docs/web-configuration.md for the bounded bcrypt queue and the failure budget per address).',
  ids: ['auth-flood'],
} as const;

/** The scenarios the document expects, in its order, under its sections. */
const SECTIONS: readonly {
  readonly title: string;
  readonly intro: string;
  readonly ids: readonly string[];
}[] = [
  {
    title: 'Faults',
    intro:
      'Real libvirtd, real QEMU guests (test/lab/lab.sh), a real RabbitMQ node (test/lab/rabbitmq.sh) and the real exporter process (src/main.ts).',
    ids: [
      'libvirtd-restart',
      'libvirtd-freeze',
      'guest-churn',
      'hung-guest',
      'broker-outage',
      'broker-blocked',
      'broker-failover',
    ],
  },
  { title: 'Load', intro: 'Loopback, the lab, the real exporter process.', ids: ['load'] },
  {
    title: 'Bad input',
    intro:
      'Each bad input gets a clear message and no crash. (The XDR decoder is fuzzed by test/unit/libvirt/fuzz.test.ts, and the web configuration file by test/integration/web-security.test.ts.)',
    ids: ['bad-configuration', 'bad-libvirt', 'bad-http'],
  },
  { title: 'Security', intro: '', ids: ['secrets', 'npm-audit'] },
  AUTH_FLOOD_SECTION,
];

/** What `npm audit` said, in the shape of a test result. */
interface Audit {
  readonly ran: boolean;
  readonly exitCode: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly error: string;
  readonly dependencies: number;
}

function runAudit(): Promise<Audit> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['audit', '--omit=dev', '--audit-level=high', '--json'],
      { cwd: ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => {
        const exitCode = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(stdout) as Record<string, unknown>;
        } catch {
          // not JSON: the error below says what happened
        }
        const meta = parsed['metadata'] as
          { vulnerabilities?: Record<string, number>; dependencies?: Record<string, number> } | undefined;
        if (meta?.vulnerabilities !== undefined) {
          resolve({
            ran: true,
            exitCode,
            counts: meta.vulnerabilities,
            error: '',
            dependencies: meta.dependencies?.['prod'] ?? meta.dependencies?.['total'] ?? 0,
          });
          return;
        }
        const message =
          typeof parsed['message'] === 'string'
            ? parsed['message']
            : ((parsed['error'] as { summary?: string } | undefined)?.summary ?? err?.message ?? 'no output');
        // (The registry's host name stays out of the document.)
        const firstLine = (message.split('\n')[0] ?? '').replace(/https?:\/\/[^/\s]+/g, '');
        resolve({ ran: false, exitCode, counts: {}, error: firstLine, dependencies: 0 });
      },
    );
  });
}

function auditResult(a: Audit): ResultFile {
  const high = (a.counts['high'] ?? 0) + (a.counts['critical'] ?? 0);
  const figures: Figure[] = a.ran
    ? [
        { name: 'production dependencies audited', value: a.dependencies },
        ...['critical', 'high', 'moderate', 'low', 'info'].map((s) => ({
          name: `${s} advisories`,
          value: a.counts[s] ?? 0,
        })),
      ]
    : [{ name: 'audit', value: `could not run: ${a.error}` }];
  return {
    id: 'npm-audit',
    title: 'npm audit of the production dependencies',
    group: 'security',
    file: 'test/tools/reliability-report.ts',
    description:
      '`npm audit --omit=dev --audit-level=high`, run by the report script when it writes this document. It needs the registry’s advisory endpoint.',
    recordedAt: new Date().toISOString(),
    durationSeconds: 0,
    passed: a.ran && a.exitCode === 0 && high === 0,
    figures,
    checks: [
      a.ran
        ? {
            name: 'no high or critical advisory (exit code 0)',
            ok: a.exitCode === 0 && high === 0,
            detail: `exit ${a.exitCode}, ${high} high or critical`,
          }
        : { name: 'the audit ran', ok: false, detail: `npm audit exited ${a.exitCode}: ${a.error}` },
    ],
    tables: [],
    environment: {
      node: process.version,
      cpus: '',
      memoryGiB: 0,
      kernel: '',
      libvirt: '',
      qemu: '',
      revision: '',
      loadAverage: '',
    },
  };
}

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function fig(r: ResultFile | undefined, name: string): string {
  const f = r?.figures.find((x) => x.name === name);
  return f === undefined ? '–' : `${f.value}${f.unit !== undefined ? ` ${f.unit}` : ''}`;
}

function figStartsWith(r: ResultFile | undefined, prefix: string): string {
  const f = r?.figures.find((x) => x.name.startsWith(prefix));
  return f === undefined ? '–' : `${f.value}${f.unit !== undefined ? ` ${f.unit}` : ''}`;
}

function verdict(r: ResultFile | undefined): string {
  if (r === undefined) return '**not recorded**';
  return r.passed ? 'passed' : '**FAILED**';
}

function checksLine(r: ResultFile): string {
  const ok = r.checks.filter((c) => c.ok).length;
  return `${ok} of ${r.checks.length} checks held`;
}

function renderScenario(id: string, r: ResultFile | undefined): string {
  if (r === undefined)
    return `### ${id}\n\n**Not recorded**: run the test that writes \`.reliability/${id}.json\`.\n`;
  const out: string[] = [];
  const load = r.environment.loadAverage ?? '';
  out.push(`### ${r.title} — ${verdict(r)}`);
  out.push('');
  out.push(r.description);
  out.push('');
  out.push(
    `<sub>${r.file} · recorded ${r.recordedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}${r.durationSeconds > 0 ? ` · ${r.durationSeconds} s` : ''}${load !== '' ? ` · load average ${load}` : ''}${r.environment.revision !== '' ? ` · revision ${r.environment.revision}` : ''}</sub>`,
  );
  out.push('');
  if (r.figures.length > 0) {
    out.push('| figure | value |', '|---|---|');
    for (const f of r.figures)
      out.push(`| ${esc(f.name)} | ${esc(`${f.value}${f.unit !== undefined ? ` ${f.unit}` : ''}`)} |`);
    out.push('');
  }
  out.push(`Checks (${checksLine(r)}):`, '');
  for (const c of r.checks)
    out.push(`- ${c.ok ? '✅' : '❌'} ${c.name}${c.detail !== '' ? ` — ${esc(c.detail)}` : ''}`);
  out.push('');
  for (const t of r.tables) {
    out.push(`${t.title}:`, '');
    out.push(`| ${t.head.join(' | ')} |`, `|${t.head.map(() => '---').join('|')}|`);
    for (const row of t.rows) out.push(`| ${row.join(' | ')} |`);
    out.push('');
  }
  return out.join('\n');
}

function rowsOf(r: ResultFile | undefined, table = 0): number {
  return r?.tables[table]?.rows.length ?? 0;
}

/** The whole document. */
export function renderReliability(results: ReadonlyMap<string, ResultFile>): string {
  const get = (id: string): ResultFile | undefined => results.get(id);
  const faults = SECTIONS[0]!.ids.map(get);
  const badIds = SECTIONS[2]!.ids;
  const badTried = rowsOf(get('bad-configuration')) + rowsOf(get('bad-libvirt')) + rowsOf(get('bad-http'));
  const badOk = badIds.reduce(
    (n, id) => n + (get(id)?.tables[0]?.rows.filter((row) => row.at(-1) === 'yes').length ?? 0),
    0,
  );
  const load = get('load');
  const audit = get('npm-audit');
  const env = [...results.values()].find((r) => r.environment.cpus !== '')?.environment;
  // The runs may come from more than one checkout of the code (a test run alone records only its own):
  // every revision is named, and each scenario names its own.
  const revisions = [
    ...new Set([...results.values()].map((r) => r.environment.revision).filter((v) => v !== '')),
  ].sort();

  const lines: string[] = [];
  lines.push('# Reliability');
  lines.push('');
  lines.push(
    '<!-- Generated by `node --import tsx test/tools/reliability-report.ts` from the results the reliability tests write to .reliability/; do not edit. -->',
  );
  lines.push('');
  lines.push(
    'What the exporter survives, measured by tests that run in CI against real components: the lab’s libvirtd and QEMU guests, a private RabbitMQ node and the real exporter process. Every figure below was recorded by a test run and rendered by a script; rerun the tests and the script to refresh it.',
  );
  lines.push('');
  lines.push('## Summary');
  lines.push('');
  lines.push('| | |', '|---|---|');
  lines.push(
    `| load held | ${loadTitle(load)}: ${fig(load, 'scrapes')} scrapes, errors/timeouts/non-2xx/bad bodies ${fig(load, 'errors / timeouts / non-2xx / bodies without libvirt_up 1')}, p50 ${fig(load, 'latency p50')}, p99 ${fig(load, 'latency p99')}, RSS ${fig(load, 'RSS before / peak / after')} (before / peak / after), ${fig(load, 'libvirt calls per scrape')} libvirt calls per scrape — ${verdict(load)} |`,
  );
  lines.push(
    `| faults survived | ${faults.filter((r) => r?.passed === true).length} of ${faults.length}: ${SECTIONS[0]!.ids.map((id) => `${get(id)?.title ?? id} (${verdict(get(id))})`).join(', ')} |`,
  );
  lines.push(`| bad inputs tried | ${badTried}, answered as required: ${badOk} |`);
  lines.push(
    `| samples lost | ${fig(get('broker-outage'), 'samples lost')} (broker stopped for ${figStartsWith(get('broker-outage'), 'broker down')}, queue with room) |`,
  );
  lines.push(brokerRow(get('broker-blocked'), get('broker-failover')));
  lines.push(`| secrets found in logs, pages and errors | ${fig(get('secrets'), 'secrets found')} |`);
  lines.push(authFloodSummary(get('auth-flood')));
  lines.push(
    `| npm audit (production, high and critical) | ${audit === undefined ? 'not run' : audit.passed ? `clean (${fig(audit, 'production dependencies audited')} dependencies)` : `**${esc(audit.checks[0]?.detail ?? 'failed')}**`} |`,
  );
  lines.push('');
  if (env !== undefined) {
    lines.push(
      `Recorded on ${env.cpus}, ${env.memoryGiB} GiB, ${env.kernel}, Node.js ${env.node}, ${env.libvirt}, ${env.qemu}, ${revisions.length > 1 ? `revisions ${revisions.join(', ')} (each scenario names its own)` : `revision ${env.revision}`}. Guests run under TCG (no KVM). The load average of each run is given with it: other work on the machine slows the figures down.`,
    );
    lines.push('');
  }
  for (const s of SECTIONS) {
    lines.push(`## ${s.title}`, '');
    if (s.intro !== '') lines.push(s.intro, '');
    for (const id of s.ids) lines.push(renderScenario(id, get(id)));
  }
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function authFloodSummary(r: ResultFile | undefined): string {
  return `| correct scrapes during an authentication flood | ${fig(r, 'correct scrapes answered 200 within the deadline')} of ${fig(r, 'correct scrapes')} answered within the deadline, max ${fig(r, 'correct scrape latency max')}, flood of ${fig(r, 'flood rate')} — ${verdict(r)} |`;
}

/** The summary row of the blocked-broker and cluster-failover scenarios. */
function brokerRow(blocked: ResultFile | undefined, failover: ResultFile | undefined): string {
  return `| broker blocked, broker failover | memory alarm held ${fig(blocked, 'alarm held')}: samples consumed (repeats) ${figStartsWith(blocked, 'distinct samples consumed')}, peak queue (bound) ${figStartsWith(blocked, 'peak queue')}, RSS ${figStartsWith(blocked, 'exporter RSS')} (before / peak / after) — ${verdict(blocked)}; cluster failover in ${figStartsWith(failover, 'failover:')}, lost ${fig(failover, 'samples lost')}, duplicates ${figStartsWith(failover, 'duplicates')} — ${verdict(failover)} |`;
}

function loadTitle(load: ResultFile | undefined): string {
  return load?.title ?? '50 concurrent scrapers for 60 s';
}

async function main(): Promise<number> {
  const results = new Map<string, ResultFile>();
  if (existsSync(RESULTS_DIR)) {
    for (const f of readdirSync(RESULTS_DIR).filter((n) => n.endsWith('.json') && n !== 'npm-audit.json')) {
      const r = readResult(`${RESULTS_DIR}${f}`);
      results.set(r.id, r);
    }
  }
  const audit = await runAudit();
  results.set('npm-audit', auditResult(audit));
  const doc = renderReliability(results);
  if (process.argv.includes('--stdout')) process.stdout.write(doc);
  else writeFileSync(OUT, doc);
  const expected = SECTIONS.flatMap((s) => s.ids);
  const missing = expected.filter((id) => !results.has(id));
  // An audit the registry cannot serve (no advisory endpoint, no network) is said in the document and
  // here, but it is not a finding: only advisories found, missing scenarios and failed checks fail.
  const unreachable = !audit.ran;
  const failed = expected.filter(
    (id) => results.get(id)?.passed === false && !(id === 'npm-audit' && unreachable),
  );
  for (const id of missing) process.stderr.write(`reliability-report: ${id} not recorded\n`);
  for (const id of failed) process.stderr.write(`reliability-report: ${id} failed\n`);
  if (unreachable)
    process.stderr.write(
      `reliability-report: warning: npm audit could not run (${audit.error || 'no answer'})\n`,
    );
  if (!process.argv.includes('--stdout')) {
    process.stderr.write(`reliability-report: wrote ${OUT}\n`);
    // The chart's memory limit and the unit's MemoryMax cite the load test's peak from this document.
    for (const path of writeChart()) process.stderr.write(`reliability-report: chart: wrote ${path}\n`);
  }
  return missing.length + failed.length > 0 ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`reliability-report: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
