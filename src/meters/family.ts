// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * What a metric family declaration says, and the rules that derive its HELP text from its source field
 * and raw unit, so that neither is written twice. A family is served on /metrics with exactly the name,
 * type and HELP declared here (test/unit/meters/ checks every declaration against the golden exposition).
 */
import type { Producer } from './names.ts';
import { conversionPhrase, toBase, type RawUnit } from './units.ts';

/** How a family appears on /metrics. */
export interface PrometheusMetric {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
}

/**
 * HELP from its parts: `<about><cite><note><conversion>.`, where
 * - cite is `, libvirt <source>` (a libvirt stats or node-info field, the default), `, <source>` (`api`:
 *   the source names the libvirt call, `virDomainGetJobInfo timeElapsed`) or ` (<source>)` (`paren`: a
 *   file or an XML element, not a libvirt field);
 * - note is ` (<note>)`, or the meaning of each code (` (0 offline, 1 running, 2 blocked)`);
 * - conversion is ` converted from <raw unit>` when the raw unit is not the base unit (after a comma when
 *   the text before it closes a parenthesis).
 */
export interface HelpParts {
  /** What the value is: HELP's first clause. */
  readonly about: string;
  readonly cite?: 'libvirt' | 'api' | 'paren';
  readonly note?: string;
  /** The meaning of each value, from 0 (state and status codes). */
  readonly codes?: readonly string[];
}

/** HELP that follows no rule: a template in which `{source}` and `{converted}` are replaced. */
export interface HelpTemplate {
  readonly template: string;
}

/** How a declaration gives its HELP. */
export type HelpSpec = HelpParts | HelpTemplate;

/** The HELP text of a family read from `source` in `rawUnit`. */
export function deriveHelp(source: string, rawUnit: RawUnit, spec: HelpSpec): string {
  const converted = conversionPhrase(rawUnit);
  if ('template' in spec)
    return spec.template.replaceAll('{source}', source).replaceAll('{converted}', converted ?? '');
  const cite = spec.cite ?? 'libvirt';
  let text =
    spec.about + (cite === 'paren' ? ` (${source})` : cite === 'api' ? `, ${source}` : `, libvirt ${source}`);
  if (spec.note !== undefined) text += ` (${spec.note})`;
  if (spec.codes !== undefined) text += ` (${spec.codes.map((c, i) => `${i} ${c}`).join(', ')})`;
  if (converted !== undefined) text += `${text.endsWith(')') ? ',' : ''} ${converted}`;
  return `${text}.`;
}

/**
 * Labels of a family before its own: `identity` = the domain labels of every per-domain series (`domain`
 * plus the configured identity labels), `domain` = the domain name only (kept after the domain is gone),
 * `none` = not per domain.
 */
export type DomainLabels = 'identity' | 'domain' | 'none';

/**
 * One family served on /metrics, read outside the meter table's per-domain, per-vCPU, per-disk and
 * per-vNIC rows (src/meters/table.ts): from the domain description, the host, storage pools, jobs,
 * cgroup files, the guest agent, libvirt events or the scrape itself.
 */
export interface Family<T = never> {
  /** Stable key, used in tests and docs. */
  readonly key: string;
  readonly collector: Producer;
  /** Where the value comes from (libvirt field, call, XML element, file), for HELP text and docs. */
  readonly source: string;
  readonly rawUnit: RawUnit;
  readonly domainLabels: DomainLabels;
  /** Labels after the domain labels. */
  readonly extraLabels: readonly string[];
  readonly prometheus: PrometheusMetric;
  /**
   * The raw value from what the collector reads, or undefined when unknown (then nothing is served).
   * Absent for info families (value 1) and families whose value the collector counts itself.
   */
  readonly read?: (subject: T) => number | undefined;
}

/** A family as written in a declaration file: the HELP is derived, labels default to the domain's. */
export interface FamilyInput<T> {
  readonly key: string;
  readonly collector: Producer;
  readonly source: string;
  readonly rawUnit: RawUnit;
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: HelpSpec;
  readonly domainLabels?: DomainLabels;
  readonly extraLabels?: readonly string[];
  readonly read?: (subject: T) => number | undefined;
}

/** Builds a declaration: derives its HELP and fills in the default labels. */
export function family<T = never>(f: FamilyInput<T>): Family<T> {
  const out: Family<T> = {
    key: f.key,
    collector: f.collector,
    source: f.source,
    rawUnit: f.rawUnit,
    domainLabels: f.domainLabels ?? 'identity',
    extraLabels: f.extraLabels ?? [],
    prometheus: { name: f.name, type: f.type, help: deriveHelp(f.source, f.rawUnit, f.help) },
  };
  return f.read === undefined ? out : { ...out, read: f.read };
}

/** An info family: a gauge of value 1 whose labels carry the facts (identity, devices, versions). */
export function info(f: Omit<FamilyInput<never>, 'rawUnit' | 'type' | 'read'>): Family {
  return family({ ...f, rawUnit: 'count', type: 'gauge' });
}

/** The value a family serves for `subject`: its raw value converted to the base unit, or undefined. */
export function valueOf<T>(f: Family<T>, subject: T): number | undefined {
  const raw = f.read?.(subject);
  return raw === undefined ? undefined : toBase(f.rawUnit, raw);
}

/** The family of `key` in `families`; throws for an unknown key (a programming error). */
export function familyByKey<T>(families: readonly Family<T>[], key: string): Family<T> {
  const f = families.find((x) => x.key === key);
  if (f === undefined) throw new Error(`no family ${key}`);
  return f;
}
