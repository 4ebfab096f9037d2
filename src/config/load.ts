// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * loadConfig(): YAML file → flag overrides → strict validation → a deep-frozen {@link Config}.
 * Every error names the key (or the file and line) at fault.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { parseYamlSafely, YamlSyntaxError } from './yaml.ts';

/** A configuration that cannot be used; `message` names every problem. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Overrides from command-line flags, as dotted keys (`web.listen_address`). */
export type Overrides = Readonly<Record<string, unknown>>;

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1] ?? ''] = value;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

function formatIssues(issues: readonly z.core.$ZodIssue[], source: string): string {
  const lines = issues.map((i) => {
    const at = i.path.length > 0 ? i.path.join('.') : '(top level)';
    if (i.code === 'unrecognized_keys') {
      return `  ${i.keys.map((k) => (i.path.length > 0 ? `${at}.${k}` : k)).join(', ')}: unknown key`;
    }
    return `  ${at}: ${i.message}`;
  });
  return `invalid configuration in ${source}:\n${lines.join('\n')}`;
}

/**
 * Parses YAML text into a plain object. Syntax errors and duplicate keys give line, column and code,
 * never the text of the line (it may hold a password or the telemetry secret).
 */
export function parseYaml(text: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseYamlSafely(text, source);
  } catch (err) {
    if (err instanceof YamlSyntaxError) throw new ConfigError(err.message);
    throw err;
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${source}: the top level must be a mapping of keys`);
  }
  return value as Record<string, unknown>;
}

function hasPath(obj: Record<string, unknown>, dotted: string): boolean {
  let cur: unknown = obj;
  for (const k of dotted.split('.')) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, k)) return false;
    cur = (cur as Record<string, unknown>)[k];
  }
  return true;
}

/**
 * Loads and validates the configuration: the file, then `overrides` (flags), then `defaults` where
 * neither set the key (`--collector.disable-defaults`).
 */
export function loadConfig(
  file: string | undefined,
  overrides: Overrides = {},
  defaults: Overrides = {},
): Config {
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(err as Error).message}`);
    }
    raw = parseYaml(text, file);
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) setPath(raw, k, v);
  for (const [k, v] of Object.entries(defaults)) if (!hasPath(raw, k)) setPath(raw, k, v);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(formatIssues(result.error.issues, file ?? 'flags'));
  }
  return deepFreeze(result.data);
}
