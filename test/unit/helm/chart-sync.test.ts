// SPDX-License-Identifier: Apache-2.0
// The generated parts of the Helm chart match their sources (scripts/chart-sync.ts): the copies of the
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
} from '../../../scripts/chart-sync.ts';

const FIX = 'run: node --import tsx scripts/chart-sync.ts --write';
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
      assert.equal(readFileSync(join(REPO_ROOT, c.path), 'utf8'), readFileSync(join(REPO_ROOT, c.source), 'utf8'), `${c.path} ${FIX}`);
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
        assert.ok(typeof value === 'object' && value !== null && k in value, `${key} of values.schema.json is in values.yaml`);
        if (!documentedKeys.has(key)) walk(child, `${key}.`, (value as Record<string, unknown>)[k]);
      }
    };
    walk(schema, '', values);
  });

  test('the README documents every value and installs in two commands', () => {
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    for (const d of documentedValues().documented) assert.ok(readme.includes(`| \`${d.key}\` |`), `${d.key} in README.md`);
    const install = /## Install\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = install.split('\n').filter((l) => l.trim() !== '');
    assert.equal(commands.length, 2, 'two commands');
    assert.match(commands[0] ?? '', /^helm install libvirt-exporter helm\/libvirt-exporter /);
    assert.match(commands[1] ?? '', /^kubectl .*rollout status daemonset\/libvirt-exporter$/);
  });

  test('the chart appVersion is the exporter version', () => {
    const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string; version: string };
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(chart.appVersion, pkg.version);
    assert.match(chart.version, /^\d+\.\d+\.\d+$/);
  });
});
