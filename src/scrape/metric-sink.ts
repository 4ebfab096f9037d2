// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Where collectors write one scrape's metrics, and how a response is rendered.
 *
 * A fresh sink per scrape, so a guest that is gone is gone from the next scrape and no state leaks
 * between scrapes (Prometheus' "Writing exporters"). The sink keeps each family's samples as rendered
 * lines and writes the text exposition itself, in the Prometheus 0.0.4 format or in OpenMetrics.
 *
 * NOTE: why not prom-client's Registry for this data path (it still instruments the exporter itself):
 * - it hashes and sorts every sample's labels on set() and formats them again on output; with 1000
 *   guests a scrape is about 60 000 samples and that was most of the scrape's CPU time (profiled);
 * - its OpenMetrics output renames counters in place (`metric.name` loses `_total`), so a long-lived
 *   counter answers with the wrong name in every later Prometheus-format response.
 * The exporter's own metrics come from prom-client through `getMetricsAsJSON()` and are rendered here
 * with the same code, so both formats stay consistent.
 */
import type { Registry } from 'prom-client';
import type { Family as Declaration } from '../meters/family.ts';

type Labels = Readonly<Record<string, string | number>>;

/** A family as a collector declares it. */
export interface FamilySpec {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
}

/**
 * The spec of a declared family (src/meters/) with this scrape's labels: the domain labels its
 * declaration asks for (`domainLabelNames` for `identity`, `domain` alone, or none), then its own.
 */
export function familySpec(f: Declaration, domainLabelNames: readonly string[] = []): FamilySpec {
  const base =
    f.domainLabels === 'identity' ? domainLabelNames : f.domainLabels === 'domain' ? ['domain'] : [];
  return {
    name: f.prometheus.name,
    help: f.prometheus.help,
    type: f.prometheus.type,
    labelNames: [...base, ...f.extraLabels],
  };
}

/** Output formats. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** Content types of the formats. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  /** Rendered samples: `name{labels} value`. */
  readonly lines: string[];
  /** Label strings already written, so a series is never written twice. */
  readonly seen: Set<string>;
}

const NEEDS_ESCAPE = /[\\"\n]/;

/** Escapes a label value (backslash, double quote, line feed). */
export function escapeLabelValue(v: string): string {
  return NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function escapeHelp(v: string): string {
  return v.includes('\\') || v.includes('\n') ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : v;
}

/** Formats a sample value as the exposition formats want it. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Renders `{a="1",b="2"}` in the order of `names` (empty string when there are no labels). */
export function labelString(names: readonly string[], labels: Labels): string {
  if (names.length === 0) return '';
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    const n = names[i] ?? '';
    const v = labels[n];
    out += `${i === 0 ? '' : ','}${n}="${escapeLabelValue(v === undefined ? '' : String(v))}"`;
  }
  return `${out}}`;
}

/** Collects one scrape's samples. */
export class MetricSink {
  readonly #families = new Map<string, Family>();
  // Collectors write every row of one subject (a guest, a disk) with the same labels object in a row:
  // remember the last rendering instead of formatting the same labels a dozen times.
  #lastLabels: Labels | undefined;
  #lastNames: readonly string[] | undefined;
  #lastString = '';

  #family(spec: FamilySpec): Family {
    let f = this.#families.get(spec.name);
    if (f === undefined) {
      f = { name: spec.name, help: spec.help, type: spec.type, lines: [], seen: new Set() };
      this.#families.set(spec.name, f);
    }
    return f;
  }

  /** Declares a family without samples (so that it shows with HELP and TYPE even when empty). */
  declare(spec: FamilySpec): void {
    this.#family(spec);
  }

  /**
   * Adds one sample; an undefined or NaN value adds nothing (absent, never 0). A counter takes
   * libvirt's cumulative value as it is. A second sample with the same labels is ignored.
   */
  add(spec: FamilySpec, labels: Labels, value: number | undefined): void {
    if (value === undefined || Number.isNaN(value)) return;
    const f = this.#family(spec);
    if (labels !== this.#lastLabels || spec.labelNames !== this.#lastNames) {
      this.#lastLabels = labels;
      this.#lastNames = spec.labelNames;
      this.#lastString = labelString(spec.labelNames, labels);
    }
    const ls = this.#lastString;
    if (f.seen.has(ls)) return;
    f.seen.add(ls);
    f.lines.push(`${spec.name}${ls} ${formatValue(value)}`);
  }

  /**
   * Adds one sample whose labels are already rendered (`{a="1"}`, as {@link labelString} renders them in
   * the order of `spec.labelNames`): the hot path, for label text cached across scrapes. Same rules as
   * {@link MetricSink.add}.
   */
  addText(spec: FamilySpec, labelText: string, value: number | undefined): void {
    if (value === undefined || Number.isNaN(value)) return;
    const f = this.#family(spec);
    if (f.seen.has(labelText)) return;
    f.seen.add(labelText);
    f.lines.push(`${spec.name}${labelText} ${formatValue(value)}`);
  }

  /**
   * Appends the families and samples of `other` after this sink's own, with the same rule for a
   * repeated label set (the first sample stays). Collectors write into sinks of their own and are
   * merged in their order, so a scrape's text does not depend on which collector finished first.
   */
  merge(other: MetricSink): void {
    for (const f of other.#families.values()) {
      const mine = this.#families.get(f.name);
      if (mine === undefined) {
        this.#families.set(f.name, f);
        continue;
      }
      // `seen` and `lines` are filled together, so they are in the same order.
      let i = 0;
      for (const ls of f.seen) {
        const line = f.lines[i++];
        if (line === undefined || mine.seen.has(ls)) continue;
        mine.seen.add(ls);
        mine.lines.push(line);
      }
    }
  }

  /** Names of the families written so far. */
  names(): string[] {
    return [...this.#families.keys()];
  }

  /** Renders this sink's families (without the OpenMetrics `# EOF`). */
  render(format: ExpositionFormat): string {
    // NOTE: joined, not appended one by one: tens of thousands of `+=` build a rope that V8 must walk
    // and flatten again when the body is encoded.
    const parts: string[] = [];
    for (const f of this.#families.values())
      parts.push(renderFamily(f.name, f.help, f.type, f.lines, format));
    return parts.join('');
  }
}

function renderFamily(
  name: string,
  help: string,
  type: string,
  lines: readonly string[],
  format: ExpositionFormat,
): string {
  // OpenMetrics names a counter family without `_total`; its samples keep it.
  const family = format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name;
  const head = `# HELP ${family} ${escapeHelp(help)}\n# TYPE ${family} ${type}\n`;
  return lines.length === 0 ? head : `${head}${lines.join('\n')}\n`;
}

/** Renders a prom-client registry (the exporter's own metrics) without letting it format anything. */
export async function renderRegistry(registry: Registry, format: ExpositionFormat): Promise<string> {
  let out = '';
  for (const m of await registry.getMetricsAsJSON()) {
    const names = new Set<string>();
    const lines: string[] = [];
    for (const v of m.values) {
      const labels = v.labels as Labels;
      const sample = (v as { metricName?: string }).metricName ?? m.name;
      const keys = Object.keys(labels).filter((k) => labels[k] !== undefined);
      const ls = labelString(keys, labels);
      const line = `${sample}${ls} ${formatValue(v.value)}`;
      if (names.has(line)) continue;
      names.add(line);
      lines.push(line);
    }
    out += renderFamily(m.name, m.help, String(m.type), lines, format);
  }
  return out;
}

/** The whole response body: the exporter's own metrics, then the scrape's. */
export async function renderResponse(
  self: Registry,
  sink: MetricSink,
  format: ExpositionFormat,
): Promise<string> {
  const body = (await renderRegistry(self, format)) + sink.render(format);
  return format === 'openmetrics' ? `${body}# EOF\n` : body;
}
