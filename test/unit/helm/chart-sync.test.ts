// SPDX-License-Identifier: Apache-2.0
// The generated parts of the Helm chart match their sources (helm/tools/chart-sync.ts): the copies of the
// dashboards and rules, the exporter's config schema in values.schema.json, the README's table of
// values; every value is documented and typed. No helm needed (test/integration/helm.test.ts runs it).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  CHART_DIR,
  REPO_ROOT,
  chartDrift,
  configValuesSchema,
  copiedFiles,
  documentedValues,
  schemaAt,
  type JsonSchemaNode,
} from '../../../helm/tools/chart-sync.ts';
import {
  LIMIT_FACTOR,
  SIZING_MARKER,
  chartSizing,
  loadPeak,
  mi,
  quantityMiB,
  renderSizedUnit,
  renderSizedValues,
  roundUpMiB,
  unitMaxMiB,
  sizingComment,
  steadyRss,
} from '../../../helm/tools/chart-sizing.ts';
import type { Results } from '../../../bench/lib/results.ts';

const FIX = 'run: node --import tsx helm/tools/chart-sync.ts --write';
const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as JsonSchemaNode;

describe('Helm chart sources', () => {
  test('nothing in the chart differs from its sources', () => {
    assert.deepEqual(chartDrift(), [], FIX);
  });

  test('the chart holds byte-identical copies of every dashboard and rule file', () => {
    const copies = copiedFiles();
    assert.ok(
      copies.some((c) => c.source.startsWith('rules/')),
      'rules/ has rule files',
    );
    for (const c of copies) {
      assert.equal(
        readFileSync(join(REPO_ROOT, c.path), 'utf8'),
        readFileSync(join(REPO_ROOT, c.source), 'utf8'),
        `${c.path} ${FIX}`,
      );
    }
  });

  test('values.schema.json carries the exporter configuration schema, strict on unknown keys', () => {
    assert.deepEqual(schema.properties?.['config'], configValuesSchema(), FIX);
    assert.equal(schema.additionalProperties, false);
    assert.equal(schemaAt(schema, 'config')?.additionalProperties, false);
    assert.equal(schemaAt(schema, 'config.libvirt')?.additionalProperties, false);
    assert.equal(schema['$schema'], 'http://json-schema.org/draft-07/schema#');
  });

  test('every value of values.yaml is documented with a "# --" comment', () => {
    const { documented, undocumented } = documentedValues();
    assert.deepEqual(undocumented, []);
    assert.ok(documented.length > 50);
    for (const d of documented) assert.ok(d.description.length > 10, `${d.key}: a description`);
  });

  test('values.yaml and values.schema.json describe the same values', () => {
    const { documented } = documentedValues();
    for (const d of documented) assert.ok(schemaAt(schema, d.key), `${d.key} is in values.schema.json`);
    const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const documentedKeys = new Set(documented.map((d) => d.key));
    // Every property the schema lists (down to documented values, whose content is theirs) has a
    // default in values.yaml; `global` is Helm's, for parent charts.
    const walk = (node: JsonSchemaNode, prefix: string, value: unknown): void => {
      for (const [k, child] of Object.entries(node.properties ?? {})) {
        const key = `${prefix}${k}`;
        if (key === 'global') continue;
        assert.ok(
          typeof value === 'object' && value !== null && k in value,
          `${key} of values.schema.json is in values.yaml`,
        );
        if (!documentedKeys.has(key)) walk(child, `${key}.`, (value as Record<string, unknown>)[k]);
      }
    };
    walk(schema, '', values);
  });

  test('the README documents every value and installs in two commands', () => {
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    for (const d of documentedValues().documented)
      assert.ok(readme.includes(`| \`${d.key}\` |`), `${d.key} in README.md`);
    const install = /## Install\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = install.split('\n').filter((l) => l.trim() !== '');
    assert.equal(commands.length, 2, 'two commands');
    assert.match(commands[0] ?? '', /^helm install libvirt-exporter helm\/libvirt-exporter /);
    assert.match(commands[1] ?? '', /^kubectl .*rollout status daemonset\/libvirt-exporter$/);
  });

  test('the chart appVersion is the exporter version', () => {
    const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as {
      appVersion: string;
      version: string;
    };
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(chart.appVersion, pkg.version);
    assert.match(chart.version, /^\d+\.\d+\.\d+$/);
  });
});

describe('Helm chart resources from measurement', () => {
  const sizing = chartSizing(REPO_ROOT);
  const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as {
    resources: { requests: { memory: string }; limits: { memory: string } };
  };

  test('the memory request covers the steady RSS at 50 guests, the limit 1.5 x the peak under load', () => {
    assert.equal(sizing.steady.guests, 50);
    assert.ok(sizing.steady.steadyMiB > 30, 'a Node.js process is at least 30 MiB');
    assert.ok(sizing.load.peakMiB > 30);
    const request = quantityMiB(values.resources.requests.memory);
    const limit = quantityMiB(values.resources.limits.memory);
    assert.ok(
      request >= sizing.steady.steadyMiB,
      `request ${request} MiB >= ${sizing.steady.steadyMiB} MiB. ${FIX}`,
    );
    assert.ok(
      limit >= LIMIT_FACTOR * sizing.load.peakMiB,
      `limit ${limit} MiB >= 1.5 x ${sizing.load.peakMiB} MiB. ${FIX}`,
    );
    assert.equal(values.resources.requests.memory, mi(sizing.requestMiB), FIX);
    assert.equal(values.resources.limits.memory, mi(sizing.limitMiB), FIX);
  });

  test('values.yaml says which figures the values come from, and the README repeats them', () => {
    const text = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    for (const line of sizingComment(sizing)) assert.ok(text.includes(`${line}\n`), `values.yaml: ${line}`);
    assert.ok(readme.includes(`${sizing.steady.steadyMiB.toFixed(1)} MiB, the steady RSS at 50 guests`));
    assert.ok(readme.includes(`${sizing.load.peakMiB.toFixed(1)} MiB`));
  });

  test('steady RSS is the maximum of the second half of the soak run; the peak comes from the Load section', () => {
    const results = {
      soak: {
        guests: 50,
        scrapes: 100,
        memory: [
          [1, 500 * 1024, 0],
          [40, 900 * 1024, 0],
          [60, 100 * 1024, 0],
          [100, 150 * 1024, 0],
        ],
        date: '2026-01-02T00:00:00Z',
        revision: 'abc',
      },
    } as unknown as Results;
    assert.equal(steadyRss(results, 'x')?.steadyMiB, 150);
    const md = [
      '# Reliability',
      '## Faults',
      '| RSS before / peak / after | 1.0 / 999.0 / 1.0 MiB |',
      '## Load',
      '<sub>test/integration/load.test.ts · recorded 2026-01-02 03:04:05 UTC · 60.4 s · load average 1 → 1</sub>',
      '| RSS before / peak / after | 133.0 / 249.3 / 194.8 MiB |',
      '## Bad input',
    ].join('\n');
    assert.deepEqual(loadPeak(md), {
      peakMiB: 249.3,
      recorded: '2026-01-02 03:04:05 UTC',
      source: 'docs/reliability.md',
    });
    assert.throws(
      () => loadPeak('# Reliability\n## Load\nnothing\n'),
      /no "RSS before \/ peak \/ after" row/,
    );
    assert.equal(roundUpMiB(183.9), 192);
    assert.equal(roundUpMiB(192), 192);
    assert.equal(quantityMiB('1Gi'), 1024);
    assert.equal(quantityMiB('192Mi'), 192);
  });

  test('a hand-edited memory value is put back by the script (the drift test above then passes)', () => {
    const text = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
    const edited = text.replace(`    memory: ${mi(sizing.limitMiB)}`, '    memory: 256Mi');
    assert.notEqual(edited, text);
    assert.equal(renderSizedValues(edited, sizing), text);
    assert.throws(() => renderSizedValues(text.replace(SIZING_MARKER, '# x'), sizing), /must stand above/);
  });

  test('the systemd unit: MemoryMax is the chart limit or 1.5 x the largest steady RSS, MemoryHigh the largest RSS measured, rounded up', () => {
    const unit = readFileSync(join(REPO_ROOT, 'packaging', 'libvirt-exporter.service'), 'utf8');
    const largest = Math.max(
      sizing.load.peakMiB,
      sizing.steady.steadyMiB,
      ...sizing.others.map((o) => o.steadyMiB),
    );
    assert.match(unit, new RegExp(`^MemoryMax=${unitMaxMiB(sizing)}M$`, 'm'), FIX);
    assert.match(unit, new RegExp(`^MemoryHigh=${roundUpMiB(largest)}M$`, 'm'), FIX);
    assert.match(unit, /^Environment=MALLOC_ARENA_MAX=2$/m);
    const edited = unit.replace(/^MemoryMax=.*$/m, 'MemoryMax=1G');
    assert.notEqual(edited, unit);
    assert.equal(renderSizedUnit(edited, sizing), unit);
    assert.throws(
      () => renderSizedUnit(unit.replace(/^MemoryHigh=.*\n/m, ''), sizing),
      /MemoryHigh line is missing/,
    );
  });
});
