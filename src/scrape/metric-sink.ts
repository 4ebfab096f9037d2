// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Where collectors write one scrape's metrics, and how a response is rendered.
 *
 * A fresh sink per scrape, so a guest that is gone is gone from the next scrape and no state leaks
 * between scrapes (Prometheus' "Writing exporters"). The sink keeps each family's samples as rendered
 * label texts and values, and writes the text exposition itself, in the Prometheus 0.0.4 format or in
 * OpenMetrics, straight into the UTF-8 bytes of the response (src/scrape/exposition-writer.ts).
 *
 * NOTE: why not prom-client's Registry for this data path (it still instruments the exporter itself):
 * - it hashes and sorts every sample's labels on set() and formats them again on output; with 1000
 *   guests a scrape is about 60 000 samples and that was most of the scrape's CPU time (profiled);
 * - its OpenMetrics output renames counters in place (`metric.name` loses `_total`), so a long-lived
 *   counter answers with the wrong name in every later Prometheus-format response.
 * The exporter's own metrics come from prom-client through `getMetricsAsJSON()` and are rendered here
 * with the same code, so both formats stay consistent.
 */
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import type { Family as Declaration } from '../meters/family.ts';
import { ExpositionWriter, formatValue, samplesBound } from './exposition-writer.ts';

export { formatValue } from './exposition-writer.ts';

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
  /**
   * Each sample's rendered labels (`{a="1"}` or empty), in the order written: the first `size` entries
   * (the array may be longer: made at the size the family had in the last rendered scrape, or kept from it).
   */
  readonly labels: string[];
  /** Each sample's value, same order as `labels`, the first `size` entries. */
  readonly values: number[];
  /** How many samples the family holds. */
  size: number;
  /**
   * The label texts of `labels`, made on the first checked write or merge: families that only the meter
   * table's rows write (unique by construction, see {@link MetricSink.addDistinct}) never need one.
   */
  seen: Set<string> | undefined;
}

const NEEDS_ESCAPE = /[\\"\n]/;

/** Escapes a label value (backslash, double quote, line feed). */
export function escapeLabelValue(v: string): string {
  return NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function escapeHelp(v: string): string {
  return v.includes('\\') || v.includes('\n') ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : v;
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

/**
 * What a family left behind when a sink was last rendered, by name: its size, and (once the sink was
 * released) its two arrays, which the next sink's family of that name takes instead of making its own.
 * NOTE: sized arrays: growing by push copied each array about three times over; at 1000 guests (66 000
 * samples) that was 2.3 MB of garbage per scrape, the largest share of the collectors' (sampled).
 * NOTE: reused arrays: a scrape waits on libvirtd for hundreds of milliseconds, so the young generation
 * is collected while its sink is alive and V8 promotes the sink's arrays to the old generation, where only
 * a full (mark-compact) collection frees them; at 50 guests that was about a fifth of what each scrape
 * promoted (sampled). Arrays that are already old cost no promotion, and a values array already holds
 * doubles (a fresh one starts holding small integers and is copied at the first fraction).
 * Entries past a family's size are never read; they hold label texts of an earlier scrape until
 * overwritten. The names are the declared families', so the map stays small; a sink takes a family's
 * arrays out of it, so concurrent scrapes never share them.
 */
interface Kept {
  size: number;
  labels: string[] | undefined;
  values: number[] | undefined;
}
const KEPT = new Map<string, Kept>();

/** Makes a family with the arrays a released sink left for its name, else arrays of its last size. */
function newFamily(name: string, help: string, type: string): Family {
  const kept = KEPT.get(name);
  let labels = kept?.labels;
  let values = kept?.values;
  if (kept !== undefined && labels !== undefined && values !== undefined) {
    kept.labels = undefined;
    kept.values = undefined;
  } else {
    const hint = kept?.size ?? 0;
    // NOTE: `new Array(n)` has holes up to n; only the first `size` entries are ever read.
    labels = new Array<string>(hint);
    values = new Array<number>(hint);
  }
  return { name, help, type, labels, values, size: 0, seen: undefined };
}

/** Remembers `f`'s size for the next family of its name (and its arrays, when `release`). */
function keep(f: Family, release: boolean): void {
  let kept = KEPT.get(f.name);
  if (kept === undefined) {
    kept = { size: f.size, labels: undefined, values: undefined };
    KEPT.set(f.name, kept);
  }
  kept.size = f.size;
  if (release) {
    kept.labels = f.labels;
    kept.values = f.values;
  }
}

/** Appends one sample to `f`. */
function append(f: Family, labelText: string, value: number): void {
  const i = f.size++;
  f.labels[i] = labelText;
  f.values[i] = value;
}

/** Whether `labelText` is new in `f`, remembering it (the set is made from the samples on first use). */
function isNew(f: Family, labelText: string): boolean {
  if (f.seen === undefined) {
    f.seen = new Set();
    for (let i = 0; i < f.size; i++) f.seen.add(f.labels[i] ?? '');
  }
  if (f.seen.has(labelText)) return false;
  f.seen.add(labelText);
  return true;
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
      f = newFamily(spec.name, spec.help, spec.type);
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
    if (labels !== this.#lastLabels || spec.labelNames !== this.#lastNames) {
      this.#lastLabels = labels;
      this.#lastNames = spec.labelNames;
      this.#lastString = labelString(spec.labelNames, labels);
    }
    this.addText(spec, this.#lastString, value);
  }

  /**
   * Adds one sample whose labels are already rendered (`{a="1"}`, as {@link labelString} renders them in
   * the order of `spec.labelNames`), for label text cached across scrapes. Same rules as
   * {@link MetricSink.add}.
   */
  addText(spec: FamilySpec, labelText: string, value: number | undefined): void {
    if (value === undefined || Number.isNaN(value)) return;
    const f = this.#family(spec);
    if (!isNew(f, labelText)) return;
    append(f, labelText, value);
  }

  /**
   * {@link MetricSink.addText} for a caller that guarantees `labelText` is new in this family: the hot
   * path of the meter table's rows, which skip a repeated subject themselves (src/collectors/rows.ts).
   * NOTE: the per-sample set of label texts cost about 8 ms of a 1000-guest scrape (66 000 samples) and
   * 2 MB of short-lived memory; the rows check their few subjects per domain instead.
   */
  addDistinct(spec: FamilySpec, labelText: string, value: number | undefined): void {
    if (value === undefined || Number.isNaN(value)) return;
    const f = this.#family(spec);
    // A family also written through the checked path keeps its set complete.
    if (f.seen !== undefined && !isNew(f, labelText)) return;
    append(f, labelText, value);
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
      for (let i = 0; i < f.size; i++) {
        const ls = f.labels[i] ?? '';
        if (isNew(mine, ls)) append(mine, ls, f.values[i] ?? Number.NaN);
      }
    }
  }

  /** Names of the families written so far. */
  names(): string[] {
    return [...this.#families.keys()];
  }

  /**
   * The bytes of this sink's text when every label text is ASCII, values counted exactly for integers:
   * the capacity to give an {@link ExpositionWriter} that is to write it.
   */
  byteBound(): number {
    // NOTE: the heads at three bytes a UTF-16 unit, as some HELP texts hold `…`: a few spare kilobytes
    // rather than a body that grows (copied) for its last family.
    let bytes = 0;
    for (const f of this.#families.values())
      bytes +=
        3 * (2 * f.name.length + f.help.length + 24) + samplesBound(f.name, f.labels, f.values, f.size);
    return bytes;
  }

  /** Writes this sink's families into `out`, in order (without the OpenMetrics `# EOF`). */
  writeTo(format: ExpositionFormat, out: ExpositionWriter): void {
    for (const f of this.#families.values()) {
      out.text(cachedHead(f.name, f.help, f.type, format));
      out.samples(f.name, f.labels, f.values, f.size);
      keep(f, false);
    }
  }

  /**
   * Ends this sink: its families' arrays go to the next sink's families of the same names. The sink is
   * empty afterwards. Call it once the response is rendered; a sink never released is simply collected.
   */
  release(): void {
    for (const f of this.#families.values()) keep(f, true);
    this.#families.clear();
    this.#lastLabels = undefined;
    this.#lastNames = undefined;
  }

  /**
   * Renders this sink's families as one string (without the OpenMetrics `# EOF`): the response's bytes
   * decoded, so a lone UTF-16 surrogate in a label value reads as U+FFFD, as it is sent.
   */
  render(format: ExpositionFormat): string {
    const out = new ExpositionWriter(this.byteBound());
    this.writeTo(format, out);
    return out.finish().toString('utf8');
  }
}

/**
 * The heads of the families rendered so far, by format and name, with the help and type they were made
 * for (a family's help can change with a reload): a scrape renders the same hundred heads as the last.
 */
const HEADS: Record<ExpositionFormat, Map<string, { help: string; type: string; text: string }>> = {
  prometheus: new Map(),
  openmetrics: new Map(),
};

/** {@link familyHead} through {@link HEADS}. */
function cachedHead(name: string, help: string, type: string, format: ExpositionFormat): string {
  const heads = HEADS[format];
  const h = heads.get(name);
  if (h !== undefined && h.help === help && h.type === type) return h.text;
  const text = familyHead(name, help, type, format);
  heads.set(name, { help, type, text });
  return text;
}

/** `# HELP` and `# TYPE` of a family. */
function familyHead(name: string, help: string, type: string, format: ExpositionFormat): string {
  // OpenMetrics names a counter family without `_total`; its samples keep it.
  const family = format === 'openmetrics' && type === 'counter' ? name.replace(/_total$/, '') : name;
  return `# HELP ${family} ${escapeHelp(help)}\n# TYPE ${family} ${type}\n`;
}

/** `{a="1"}` of the exporter's own metric's labels in their order, those set only (empty for none). */
function ownLabels(labels: Labels): string {
  let out = '';
  for (const k in labels) {
    const v = labels[k];
    if (v === undefined) continue;
    out += `${out === '' ? '{' : ','}${k}="${escapeLabelValue(String(v))}"`;
  }
  return out === '' ? '' : `${out}}`;
}

/** Appends the text of a prom-client registry's metrics (the exporter's own) without letting it format anything. */
function registryParts(
  metrics: MetricObjectWithValues<MetricValue<string>>[],
  format: ExpositionFormat,
  parts: string[],
): void {
  for (const m of metrics) {
    parts.push(cachedHead(m.name, m.help, String(m.type), format));
    // Samples in order; a repeated line (the same labels twice in prom-client's values) once: looked up
    // among the family's lines, through a set only for the long ones (histograms).
    const first = parts.length;
    const seen = m.values.length > 16 ? new Set<string>() : undefined;
    for (const v of m.values) {
      const line = `${(v as { metricName?: string }).metricName ?? m.name}${ownLabels(v.labels as Labels)} ${formatValue(v.value)}\n`;
      if (seen === undefined ? parts.includes(line, first) : seen.has(line)) continue;
      seen?.add(line);
      parts.push(line);
    }
  }
}

/** Renders a prom-client registry (the exporter's own metrics) without letting it format anything. */
export async function renderRegistry(registry: Registry, format: ExpositionFormat): Promise<string> {
  const parts: string[] = [];
  registryParts(await registry.getMetricsAsJSON(), format, parts);
  return parts.join('');
}

/**
 * The whole response body, UTF-8: the exporter's own metrics (the registries in order, as one merged
 * registry would list them), then the scrape's.
 * NOTE: piece by piece into one allocation, never one joined string: a few HELP texts hold non-Latin-1
 * characters (`…`), and joined with them the 6 MB body of 1000 guests became a two-byte string of 12 MB
 * whose join and encoding took about 130 ms per scrape (profiled).
 */
export async function renderResponse(
  self: Registry | readonly Registry[],
  sink: MetricSink,
  format: ExpositionFormat,
): Promise<Buffer> {
  const registries = Array.isArray(self) ? (self as readonly Registry[]) : [self as Registry];
  // Collected together, as one merged registry collects its metrics.
  const metrics = await Promise.all(registries.map((r) => r.getMetricsAsJSON()));
  const own: string[] = [];
  for (const m of metrics) registryParts(m, format, own);
  let bound = sink.byteBound() + 16;
  for (const p of own) bound += p.length;
  const out = new ExpositionWriter(bound);
  for (const p of own) out.text(p);
  sink.writeTo(format, out);
  if (format === 'openmetrics') out.text('# EOF\n');
  return out.finish();
}
