// SPDX-License-Identifier: Apache-2.0
/**
 * The dashboards without a Grafana: generated == committed, conventions (stable uid, datasource and
 * job variables, $__rate_interval on counters), every query and variable query parsed by promtool,
 * every metric name served by the exporter, and the JSON type-checked against @grafana/schema.
 * (test/integration/prometheus-dashboards.test.ts runs every query against the real exporter.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

import { DASHBOARDS, DASHBOARDS_DIR, render } from '../../../dashboards/src/generate.ts';
import { promtool } from '../../helpers/prometheus.ts';
import {
  PROMETHEUS_SYNTHETIC,
  ROOT,
  interpolateForSyntax,
  knownMetrics,
  panelQueries,
  panelsOf,
  parseLabelValues,
  promqlFacts,
  readDashboard,
  variablesOf,
} from './promql.ts';

const INOVEX = 'test/fixtures/inovex/inovex-libvirt-openstack.json';
const ours = DASHBOARDS.map(({ file }) => ({ file, d: readDashboard(`dashboards/${file}`) }));
const all = [...ours, { file: INOVEX, d: readDashboard(INOVEX) }];

describe('dashboards as code', () => {
  test('the committed JSON is what the generator writes (run dashboards/src/generate.ts after a change)', async () => {
    for (const { file, build } of DASHBOARDS) {
      const committed = readFileSync(join(DASHBOARDS_DIR, file), 'utf8');
      assert.equal(committed, await render(build(), file), `dashboards/${file} is stale`);
    }
  });

  test('every dashboard is listed in dashboards/README.md', () => {
    const readme = readFileSync(join(DASHBOARDS_DIR, 'README.md'), 'utf8');
    for (const { file, d } of ours) {
      assert.ok(readme.includes(`(${file})`), `README links ${file}`);
      assert.ok(readme.includes(`\`${d.uid ?? ''}\``), `README names uid ${d.uid ?? ''}`);
    }
  });
});

describe('dashboard conventions', () => {
  test('stable, unique uids and titles; not editable; tagged', () => {
    const uids = ours.map(({ d }) => d.uid);
    assert.deepEqual(uids, [
      'libvirt-compute-node',
      'libvirt-instance',
      'libvirt-project',
      'libvirt-exporter',
    ]);
    for (const { file } of ours) {
      const raw = JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as Record<string, unknown>;
      assert.equal(raw.editable, false, file);
      assert.ok(Array.isArray(raw.tags) && raw.tags.includes('libvirt-exporter'), file);
      assert.equal(raw.id, undefined, `${file}: no database id`);
    }
  });

  test('datasource, cluster and job variables, and every query on ${datasource}', () => {
    for (const { file, d } of ours) {
      const vars = variablesOf(d);
      assert.deepEqual(
        vars.slice(0, 3).map((v) => v.name),
        ['datasource', 'cluster', 'job'],
        file,
      );
      const ds = vars.find((v) => v.name === 'datasource');
      assert.equal(ds?.type, 'datasource', file);
      assert.equal(ds.query, 'prometheus', file);
      // cluster: All by default, as `.*`, which also matches series without the label.
      const cluster = vars.find((v) => v.name === 'cluster');
      assert.equal(cluster?.query, 'label_values(libvirt_up, cluster)', file);
      assert.equal(cluster.includeAll, true, file);
      assert.equal(cluster.allValue, '.*', file);
      assert.ok(new RegExp(`^(?:${cluster.allValue})$`).test(''), 'All matches an absent label');
      const job = vars.find((v) => v.name === 'job');
      assert.equal(job?.query, 'label_values(libvirt_up{cluster=~"$cluster"}, job)', file);
      for (const p of panelsOf(d)) {
        if (p.type === 'row') continue;
        assert.deepEqual(
          p.datasource,
          { type: 'prometheus', uid: '${datasource}' },
          `${file}: ${p.title ?? ''}`,
        );
        for (const t of p.targets ?? []) {
          assert.deepEqual(
            t.datasource,
            { type: 'prometheus', uid: '${datasource}' },
            `${file}: ${p.title ?? ''}`,
          );
        }
      }
      // Every query variable is a label_values() over the exporter's metrics, on ${datasource}.
      for (const v of vars.filter((x) => x.type === 'query')) {
        assert.ok(parseLabelValues(v.query), `${file}: variable ${v.name}: ${v.query}`);
      }
    }
  });

  test('every query selects on $cluster and $job, every panel has a title and a description', () => {
    for (const { file, d } of ours) {
      for (const q of panelQueries(d)) {
        // Every selector of the query, not only one of them.
        const selectors = q.expr.match(/[a-z_:]+\{[^}]*\}/g) ?? [];
        assert.ok(selectors.length > 0, `${file}: ${q.panel} ${q.refId}`);
        for (const s of selectors)
          assert.match(s, /\{cluster=~"\$cluster", job=~"\$job"/, `${file}: ${q.panel} ${q.refId}: ${s}`);
      }
      for (const v of variablesOf(d).filter((x) => x.type === 'query' && x.name !== 'cluster')) {
        assert.match(v.query, /cluster=~"\$cluster"/, `${file}: variable ${v.name}`);
      }
      for (const p of panelsOf(d)) {
        assert.ok(p.title, `${file}: panel without a title`);
        if (p.type !== 'row') {
          assert.ok(
            (p as { description?: string }).description,
            `${file}: ${p.title ?? ''} has no description`,
          );
        }
      }
    }
  });

  test('counters are only read through rate(), always over [$__rate_interval]; gauges never are', async () => {
    const known = await knownMetrics();
    for (const { file, d } of ours) {
      for (const q of panelQueries(d)) {
        for (const range of q.expr.matchAll(/\[([^\]]*)\]/g)) {
          assert.equal(range[1], '$__rate_interval', `${file}: ${q.panel}: range [${range[1] ?? ''}]`);
        }
        const facts = promqlFacts(interpolateForSyntax(q.expr));
        for (const m of facts.instantMetrics) {
          assert.notEqual(
            known.get(m)?.type,
            'counter',
            `${file}: ${q.panel}: counter ${m} read without rate()`,
          );
        }
        for (const m of facts.ratedMetrics) {
          assert.equal(known.get(m)?.type, 'counter', `${file}: ${q.panel}: rate() of non-counter ${m}`);
        }
      }
    }
  });

  test('panels lie on the 24-column grid without overlapping', () => {
    for (const { file, d } of ours) {
      const cells = new Set<string>();
      const ids = new Set<number>();
      for (const p of panelsOf(d) as {
        id?: number;
        title?: string;
        gridPos?: { x: number; y: number; w: number; h: number };
      }[]) {
        assert.ok(
          p.id !== undefined && !ids.has(p.id),
          `${file}: duplicate or missing id on ${p.title ?? ''}`,
        );
        ids.add(p.id);
        const g = p.gridPos;
        assert.ok(
          g && g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0,
          `${file}: ${p.title ?? ''} off the grid`,
        );
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            assert.ok(
              !cells.has(`${x},${y}`),
              `${file}: ${p.title ?? ''} overlaps another panel at ${x},${y}`,
            );
            cells.add(`${x},${y}`);
          }
        }
      }
    }
  });
});

describe('navigation between the dashboards', () => {
  /** Every data link of every panel: its panel, the column it sits on, its URL. */
  interface Link {
    readonly file: string;
    readonly panel: string;
    readonly column: string;
    readonly headers: readonly string[];
    readonly title: string;
    readonly url: string;
  }
  const links: Link[] = [];
  for (const { file } of ours) {
    const raw = JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as {
      panels: {
        title: string;
        fieldConfig?: {
          overrides?: {
            matcher: { id: string; options: string };
            properties: { id: string; value: unknown }[];
          }[];
        };
        transformations?: { id: string; options: { renameByName?: Record<string, string> } }[];
      }[];
    };
    for (const p of raw.panels) {
      const headers = Object.values(
        p.transformations?.find((x) => x.id === 'organize')?.options.renameByName ?? {},
      );
      for (const o of p.fieldConfig?.overrides ?? []) {
        for (const prop of o.properties.filter((x) => x.id === 'links')) {
          for (const l of prop.value as Record<string, unknown>[]) {
            assert.deepEqual(
              Object.keys(l).filter((k) => !['title', 'url', 'targetBlank'].includes(k)),
              [],
              `${file}: ${p.title}: a data link has title, url and targetBlank only`,
            );
            assert.equal(o.matcher.id, 'byName');
            links.push({
              file,
              panel: p.title,
              column: o.matcher.options,
              headers,
              title: String(l['title']),
              url: String(l['url']),
            });
          }
        }
      }
    }
  }
  const byUid = new Map(ours.map(({ d }) => [d.uid ?? '', d]));

  test('the node variable has one name, node, wherever a dashboard has one', () => {
    for (const { file, d } of ours) {
      const vars = variablesOf(d);
      assert.equal(
        vars.find((v) => v.name === 'instance'),
        undefined,
        `${file}: no variable named instance`,
      );
      if (file === 'libvirt-project.json') continue;
      const node = vars.find((v) => v.name === 'node');
      assert.ok(node, `${file}: a node variable`);
      assert.equal(parseLabelValues(node.query)?.label, 'instance', file);
    }
  });

  test('dashboard links carry the variables and the time range', () => {
    for (const { file } of ours) {
      const raw = JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as {
        links: { type: string; tags: string[]; includeVars: boolean; keepTime: boolean }[];
      };
      assert.ok(raw.links.length > 0, file);
      for (const l of raw.links) {
        assert.equal(l.includeVars, true, `${file}: var- values go along`);
        assert.equal(l.keepTime, true, `${file}: the time range goes along`);
        assert.deepEqual(l.tags, ['libvirt-exporter'], file);
      }
    }
  });

  test('the guest table of the compute node dashboard links a guest to the instance dashboard, a project to the project dashboard', () => {
    const guests = links.filter((l) => l.file === 'libvirt-compute-node.json' && l.panel === 'Guests');
    const target = (column: string): string[] =>
      guests.filter((l) => l.column === column).map((l) => /^\/d\/([\w-]+)\?/.exec(l.url)?.[1] ?? '');
    assert.deepEqual(target('Nova name'), ['libvirt-instance']);
    assert.deepEqual(target('Domain'), ['libvirt-instance']);
    assert.deepEqual(target('Project'), ['libvirt-project']);
    const toInstance = guests.find((l) => l.column === 'Nova name')!;
    for (const v of ['project', 'server', 'instance_id', 'domain'])
      assert.match(toInstance.url, new RegExp(`&var-${v}=\\$\\{__data\\.fields\\["`), v);
    assert.match(toInstance.url, /\$\{node:queryparam\}/, 'the node goes along');
  });

  test('every data link opens a dashboard of ours, sets only its variables, reads only cells of its table, keeps time and scope', () => {
    assert.ok(links.length >= 5, `${links.length} data links`);
    for (const l of links) {
      const where = `${l.file}: ${l.panel}, ${l.column}`;
      assert.ok(l.headers.includes(l.column), `${where}: on a column of the table`);
      const m = /^\/d\/([\w-]+)\?(.*)$/.exec(l.url);
      assert.ok(m, `${where}: ${l.url}`);
      const target = byUid.get(m[1]!);
      assert.ok(target, `${where}: dashboard ${m[1] ?? ''} exists`);
      const names = new Set(variablesOf(target).map((v) => v.name));
      const params = m[2]!.split('&');
      assert.equal(params[0], '${__url_time_range}', `${where}: the time range first`);
      for (const v of ['datasource', 'cluster', 'job'])
        assert.ok(params.includes(`\${${v}:queryparam}`), `${where}: carries ${v}`);
      for (const p of params.slice(1)) {
        const name = /^\$\{(\w+):queryparam\}$/.exec(p)?.[1] ?? /^var-(\w+)=/.exec(p)?.[1];
        assert.ok(name !== undefined && names.has(name), `${where}: ${p} sets a variable of ${m[1] ?? ''}`);
      }
      for (const c of `${l.title} ${l.url}`.matchAll(/__data\.fields\["([^"]+)"\]/g))
        assert.ok(l.headers.includes(c[1]!), `${where}: cell ${c[1] ?? ''} is a column of the table`);
    }
  });
});

describe('dashboard queries', () => {
  test('every panel and variable query (ours and inovex) parses with promtool check rules', () => {
    const exprs: { where: string; expr: string }[] = [];
    for (const { file, d } of all) {
      for (const q of panelQueries(d))
        exprs.push({ where: `${file}: ${q.panel} ${q.refId}`, expr: interpolateForSyntax(q.expr) });
      for (const v of variablesOf(d)) {
        const lv = v.type === 'query' ? parseLabelValues(v.query) : undefined;
        if (lv?.selector !== undefined)
          exprs.push({ where: `${file}: variable ${v.name}`, expr: interpolateForSyntax(lv.selector) });
      }
    }
    const dir = mkdtempSync(join(fileURLToPath(ROOT), 'node_modules', '.cache-dashboard-queries-'));
    try {
      const file = join(dir, 'queries.rules.yml');
      const rules = exprs.map((e, i) => ({ record: `dashboard_query_${i}`, expr: e.expr }));
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
      const r = promtool(['check', 'rules', file]);
      const detail = r.stderr
        .split('\n')
        .map((line) => line.replace(/dashboard_query_(\d+)/, (_m, i: string) => exprs[Number(i)]?.where ?? i))
        .join('\n');
      assert.equal(r.status, 0, detail);
      assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
      assert.ok(exprs.length >= 150, `${exprs.length} queries`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every metric name in the dashboards (ours and inovex) is served by the exporter', async () => {
    const known = await knownMetrics();
    const used = new Set<string>();
    for (const { file, d } of all) {
      const exprs = [
        ...panelQueries(d).map((q) => ({ where: `${q.panel} ${q.refId}`, expr: q.expr })),
        ...variablesOf(d)
          .map((v) => ({
            where: `variable ${v.name}`,
            expr: (v.type === 'query' && parseLabelValues(v.query)?.selector) || '',
          }))
          .filter((e) => e.expr !== ''),
      ];
      for (const e of exprs) {
        const facts = promqlFacts(interpolateForSyntax(e.expr));
        assert.deepEqual(facts.errors, [], `${file}: ${e.where}`);
        assert.ok(facts.metrics.length > 0, `${file}: ${e.where} selects no metric`);
        for (const m of facts.metrics) {
          used.add(m);
          assert.ok(
            known.has(m) || PROMETHEUS_SYNTHETIC.has(m),
            `${file}: ${e.where}: ${m} is not a metric of the exporter`,
          );
        }
      }
    }
    assert.ok(used.size >= 60, `${used.size} metric names used`);
  });
});

describe('dashboard types', () => {
  test('the committed JSON satisfies @grafana/schema (tsc on a generated .ts per dashboard)', () => {
    // A fresh object literal with `satisfies` gets excess-property checks; the schema's string enums
    // (ThresholdsMode, MappingType…) are mapped to their string values, which is what JSON holds.
    const dir = mkdtempSync(join(fileURLToPath(ROOT), 'node_modules', '.cache-dashboard-types-'));
    try {
      mkdirSync(dir, { recursive: true });
      const header = [
        "import type { Dashboard } from '@grafana/schema';",
        'type Json<T> = T extends string ? `${T}` : T extends number | boolean | null | undefined ? T',
        '  : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;',
        '',
      ].join('\n');
      const files = ours.map(({ file }) => {
        const ts = join(dir, file.replace(/\.json$/, '.ts'));
        const json = readFileSync(join(DASHBOARDS_DIR, file), 'utf8');
        writeFileSync(ts, `${header}export const dashboard = ${json.trimEnd()} satisfies Json<Dashboard>;\n`);
        return ts;
      });
      // A deliberately broken copy proves the check bites.
      const broken = join(dir, 'broken.ts');
      const bad = readFileSync(join(DASHBOARDS_DIR, 'libvirt-exporter.json'), 'utf8').replace(
        '"title":',
        '"titel":',
      );
      writeFileSync(
        broken,
        `${header}export const dashboard = ${bad.trimEnd()} satisfies Json<Dashboard>;\n`,
      );
      const tsc = fileURLToPath(new URL('node_modules/typescript/bin/tsc', ROOT));
      const args = [
        '--ignoreConfig',
        '--noEmit',
        '--strict',
        '--exactOptionalPropertyTypes',
        '--skipLibCheck',
        '--module',
        'nodenext',
        '--target',
        'es2023',
        '--types',
        'node',
      ];
      const run = (f: string[]): { ok: boolean; out: string } => {
        try {
          execFileSync(process.execPath, [tsc, ...args, ...f], { encoding: 'utf8', stdio: 'pipe' });
          return { ok: true, out: '' };
        } catch (err) {
          const e = err as { stdout?: string; stderr?: string };
          return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
        }
      };
      // One tsc run (it takes seconds): errors must come from the broken copy only.
      const r = run([...files, broken]);
      assert.equal(r.ok, false, 'the broken copy must fail');
      const errorLines = r.out.split('\n').filter((l) => /error TS\d+/.test(l));
      assert.deepEqual(
        errorLines.filter((l) => !l.includes('broken.ts')),
        [],
        `the committed dashboards must type-check:\n${r.out}`,
      );
      assert.ok(
        errorLines.some((l) => l.includes(`'"titel"' does not exist in type`)),
        r.out,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
