// SPDX-License-Identifier: Apache-2.0
// The collector registry (src/collectors/index.ts): every collector file registered once under its own
// name, and the configuration schema, the --collector.NAME flags and the README's collector table
// following it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { COLLECTOR_NAMES, collectorRegistry } from '../../../src/collectors/index.ts';
import { FLAGS, parseCli } from '../../../src/cli/flags.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { configSchema } from '../../../src/config/schema.ts';
import type { CollectorDefinition } from '../../../src/scrape/collector.ts';

const SRC = new URL('../../../src/collectors/', import.meta.url);
const definitions = Object.values(collectorRegistry) as CollectorDefinition[];

const isDefinition = (v: unknown): v is CollectorDefinition =>
  typeof v === 'object' && v !== null && 'name' in v && 'enabledByDefault' in v && 'update' in v;

test('every collector is registered once, under its own name, with a default and a description', () => {
  assert.equal(COLLECTOR_NAMES.length, 16);
  assert.equal(new Set(COLLECTOR_NAMES).size, COLLECTOR_NAMES.length, 'names unique');
  assert.equal(new Set(definitions).size, definitions.length, 'no definition registered twice');
  for (const [key, d] of Object.entries(collectorRegistry)) {
    assert.equal(d.name, key, `${key} is registered under its own name`);
    assert.match(d.name, /^[a-z][a-z_]*$/);
    assert.equal(typeof d.enabledByDefault, 'boolean', key);
    assert.match(d.description, /^\S.*\.$/, `${key}: one sentence or more, ending with a full stop`);
  }
});

test('every collector file of src/collectors/ exports a registered definition, and only one', async () => {
  const files = readdirSync(SRC).filter((f) => f.endsWith('.ts') && f !== 'index.ts');
  const found: string[] = [];
  for (const file of files) {
    const mod = (await import(new URL(file, SRC).href)) as Record<string, unknown>;
    const defs = Object.values(mod).filter(isDefinition);
    assert.ok(defs.length <= 1, `${file} defines one collector at most`);
    for (const d of defs) {
      assert.equal(collectorRegistry[d.name], d, `${file}: ${d.name} is the registered definition`);
      assert.equal(file, `${d.name.replaceAll('_', '-')}.ts`, `${d.name} lives in its own file`);
      found.push(d.name);
    }
  }
  assert.deepEqual(found.sort(), [...COLLECTOR_NAMES].sort());
});

test('the schema has exactly the registered collectors, each defaulting to its registered default', () => {
  const defaults = configSchema.parse({}).collectors;
  assert.deepEqual(Object.keys(defaults), COLLECTOR_NAMES);
  for (const d of definitions) {
    assert.equal(defaults[d.name].enabled, d.enabledByDefault, d.name);
    assert.equal(
      loadConfig(undefined, { [`collectors.${d.name}.enabled`]: !d.enabledByDefault }).collectors[d.name]
        .enabled,
      !d.enabledByDefault,
    );
  }
  assert.throws(() => loadConfig(undefined, { 'collectors.nics.enabled': true }), /nics/);
});

test('--collector.NAME and --no-collector.NAME exist for exactly the registered collectors', () => {
  const flags = FLAGS.filter((f) => f.section === 'collector' && f.name !== 'collector.disable-defaults');
  assert.deepEqual(
    flags.map((f) => f.name),
    COLLECTOR_NAMES.map((n) => `collector.${n}`),
  );
  for (const d of definitions) {
    assert.deepEqual(parseCli([`--collector.${d.name}`]).overrides, {
      [`collectors.${d.name}.enabled`]: true,
    });
    assert.deepEqual(parseCli([`--no-collector.${d.name}`]).overrides, {
      [`collectors.${d.name}.enabled`]: false,
    });
    const help = flags.find((f) => f.name === `collector.${d.name}`)?.help ?? '';
    assert.match(help, d.enabledByDefault ? /^on by default/ : /^off by default/, d.name);
  }
});

test("the README's collector table lists every registered collector once, with its default", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const start = readme.search(/^\| collector +\| default +\| serves +\|$/m);
  assert.ok(start >= 0, 'the table is there');
  const rows = readme.slice(start).split('\n').slice(2);
  const documented: [string, boolean][] = [];
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const [names = '', def = ''] = row
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim());
    assert.match(def, /^(on|off)$/, row);
    for (const m of names.matchAll(/`([a-z_]+)`/g)) documented.push([m[1]!, def === 'on']);
  }
  assert.deepEqual(documented.map(([n]) => n).sort(), [...COLLECTOR_NAMES].sort(), 'each collector once');
  for (const [name, on] of documented)
    assert.equal(on, collectorRegistry[name as keyof typeof collectorRegistry].enabledByDefault, name);
});
