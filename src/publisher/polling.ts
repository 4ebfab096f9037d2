// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Ceilometer's `polling.yaml`, read as the real agent reads it (polling/manager.py `PollingManager`,
 * `PollingSource`; agent.py `Source`): sources with a name, an interval in seconds and meter patterns
 * (`*`, `name`, `!name`, fnmatch wildcards), with the same validation rules and error texts.
 */
import { readFile } from 'node:fs/promises';

import { parseYamlSafely } from '../config/yaml.ts';

/** One validated polling source. */
export interface PollingSource {
  readonly name: string;
  /** Seconds between polls (integer > 0). */
  readonly interval: number;
  /** The meter patterns as written. */
  readonly meters: readonly string[];
  /** `resources` as written: static resource URIs, which compute pollsters do not use. */
  readonly resources: readonly unknown[];
  /** `discovery` as written: discoverer names; this publisher always discovers the local libvirt domains. */
  readonly discovery: readonly unknown[];
}

/** The validated content of a polling file. */
export interface PollingConfig {
  readonly sources: readonly PollingSource[];
}

/** A polling definition Ceilometer would refuse; the message names the source. */
export class PollingConfigError extends Error {
  override readonly name = 'PollingConfigError';
}

/**
 * Translates a Python `fnmatch` pattern into an anchored RegExp: `*`, `?`, `[seq]`, `[!seq]`, the
 * rest literal. (POSIX: `os.path.normcase` leaves case alone, so matching is case-sensitive.)
 */
export function fnmatchToRegExp(pattern: string): RegExp {
  let re = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    i++;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        re += '\\[';
      } else {
        let body = pattern.slice(i, j);
        i = j + 1;
        const negate = body.startsWith('!');
        if (negate) body = body.slice(1);
        // Escape what is special inside a JS character class but literal in fnmatch's.
        body = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
        re += negate ? `[^${body}]` : `[${body}]`;
      }
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
    }
  }
  return new RegExp(`^(?:${re})$`, 's');
}

/** Python `fnmatch.fnmatch(name, pattern)` on POSIX. */
export function fnmatch(name: string, pattern: string): boolean {
  return fnmatchToRegExp(pattern).test(name);
}

/**
 * Whether a source's meter list selects `meter` (agent.py `Source.is_supported`): excludes are
 * checked first, then includes; a list of excludes only means "everything else".
 */
export function supportsMeter(patterns: readonly string[], meter: string): boolean {
  if (patterns.some((p) => p.startsWith('!') && fnmatch(meter, p.slice(1)))) return false;
  if (patterns.some((p) => !p.startsWith('!') && fnmatch(meter, p))) return true;
  return patterns.every((p) => p.startsWith('!'));
}

function describe(cfg: unknown): string {
  if (typeof cfg === 'object' && cfg !== null && 'name' in cfg) {
    const name = cfg.name;
    if (typeof name === 'string') return `source '${name}'`;
  }
  return `source ${JSON.stringify(cfg)}`;
}

/** Validates one source like `PollingSource.__init__` and `Source.check_source_filtering`. */
function parseSource(cfg: unknown, where: string): PollingSource {
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
    throw new PollingConfigError(`${where}: each source must be a mapping`);
  }
  const src = cfg as Record<string, unknown>;
  const label = `${where}: ${describe(cfg)}`;
  if (!('name' in src) || src.name === null || src.name === undefined) {
    throw new PollingConfigError(`${label}: Required field name not specified`);
  }
  const name =
    typeof src.name === 'string'
      ? src.name
      : typeof src.name === 'number'
        ? String(src.name)
        : JSON.stringify(src.name);
  if (!('meters' in src)) throw new PollingConfigError(`${label}: Missing meters value`);
  if (!('interval' in src)) throw new PollingConfigError(`${label}: Missing interval value`);
  // Python's int() accepts ints, integral strings and truncates floats; anything else is invalid.
  const raw = src.interval;
  let interval: number;
  if (typeof raw === 'number' && Number.isFinite(raw)) interval = Math.trunc(raw);
  else if (typeof raw === 'string' && /^\s*[+-]?\d+\s*$/.test(raw)) interval = Number.parseInt(raw, 10);
  else throw new PollingConfigError(`${label}: Invalid interval value`);
  if (interval <= 0) throw new PollingConfigError(`${label}: Interval value should > 0`);
  const resources = src.resources ?? [];
  if (!Array.isArray(resources)) throw new PollingConfigError(`${label}: Resources should be a list`);
  const discovery = src.discovery ?? [];
  if (!Array.isArray(discovery)) throw new PollingConfigError(`${label}: Discovery should be a list`);
  const meters = src.meters;
  if (!Array.isArray(meters) || meters.length === 0) {
    throw new PollingConfigError(`${label}: No meters specified`);
  }
  if (!meters.every((m): m is string => typeof m === 'string' && m !== '')) {
    throw new PollingConfigError(`${label}: meters must be non-empty strings`);
  }
  // NOTE: the same tests as Source.check_source_filtering: a pattern counts as "included" only when
  // its first character is neither '!' nor '*', so '*.bytes' mixes freely with excludes.
  const included = meters.some((m) => !'!*'.includes(m.charAt(0)));
  if (included && meters.some((m) => m.startsWith('!'))) {
    throw new PollingConfigError(`${label}: Both included and excluded meters specified`);
  }
  if (meters.includes('*') && included) {
    throw new PollingConfigError(`${label}: Included meters specified with wildcard`);
  }
  return { name, interval, meters, resources, discovery };
}

/**
 * Validates the parsed content of a polling.yaml. `where` names the file (or config key) in errors.
 * Like Ceilometer, source names are not checked for uniqueness by the agent; duplicates are refused
 * here because the metrics and logs are labelled by source name.
 */
export function parsePollingConfig(doc: unknown, where = 'polling'): PollingConfig {
  if (typeof doc !== 'object' || doc === null || !('sources' in doc)) {
    throw new PollingConfigError(`${where}: sources required`);
  }
  const sources = doc.sources;
  if (!Array.isArray(sources)) throw new PollingConfigError(`${where}: sources must be a list`);
  const parsed = sources.map((s) => parseSource(s, where));
  const seen = new Set<string>();
  for (const s of parsed) {
    if (seen.has(s.name)) throw new PollingConfigError(`${where}: source '${s.name}' is defined twice`);
    seen.add(s.name);
  }
  return { sources: parsed };
}

/** Reads and validates a polling.yaml file; errors name the file. */
export async function loadPollingFile(
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<PollingConfig> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', ...(options.signal ? { signal: options.signal } : {}) });
  } catch (err) {
    throw new PollingConfigError(`cannot read polling file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    // Line, column and code only: never a line of the file.
    doc = parseYamlSafely(text, path);
  } catch (err) {
    throw new PollingConfigError((err as Error).message);
  }
  return parsePollingConfig(doc, path);
}

/** The meters of one interval: every meter selected by any source with that interval, deduplicated. */
export interface PollingGroup {
  readonly interval: number;
  readonly sources: readonly string[];
  readonly meters: readonly string[];
}

/**
 * Groups sources by interval, as `AgentManager.setup_polling_tasks` does (one polling task per
 * interval), and resolves their patterns against the known meter names. A meter selected by several
 * sources of one interval is polled once per cycle (the real agent's poll history); a meter selected
 * at two intervals is polled on both timers.
 */
export function groupByInterval(config: PollingConfig, knownMeters: readonly string[]): PollingGroup[] {
  const groups = new Map<number, { sources: string[]; meters: Set<string> }>();
  for (const s of config.sources) {
    const selected = knownMeters.filter((m) => supportsMeter(s.meters, m));
    if (selected.length === 0) continue;
    let g = groups.get(s.interval);
    if (!g) {
      g = { sources: [], meters: new Set() };
      groups.set(s.interval, g);
    }
    g.sources.push(s.name);
    for (const m of selected) g.meters.add(m);
  }
  return [...groups.entries()].map(([interval, g]) => ({
    interval,
    sources: g.sources,
    // Keep the order of knownMeters, so that each cycle publishes in a stable order.
    meters: knownMeters.filter((m) => g.meters.has(m)),
  }));
}
