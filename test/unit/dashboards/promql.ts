// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * PromQL of dashboards and rules for tests: every query of a Grafana dashboard (panels, rows,
 * variables), Grafana's variable interpolation, metric names through Prometheus' own PromQL grammar
 * (lezer-promql), and the metric names the exporter really serves.
 */
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { Registry } from 'prom-client';

import { createSelfMetrics } from '../../../src/http/self-metrics.ts';
import { registerPublisherMetrics } from '../../../src/publisher/metrics.ts';
import { sideFamilies } from '../../../src/meters/table.ts';

/** The repository root (with a trailing slash). */
export const ROOT = new URL('../../../', import.meta.url);

/** A query of a dashboard panel. */
export interface PanelQuery {
  readonly panel: string;
  readonly panelType: string;
  readonly refId: string;
  readonly expr: string;
  readonly instant: boolean;
}

/** A query variable of a dashboard. */
export interface DashboardVariable {
  readonly name: string;
  readonly type: string;
  readonly query: string;
  readonly multi: boolean;
  readonly includeAll: boolean;
  readonly allValue: string | undefined;
}

interface JsonPanel {
  type?: string;
  title?: string;
  panels?: JsonPanel[];
  datasource?: unknown;
  targets?: { expr?: unknown; refId?: unknown; instant?: unknown; range?: unknown; datasource?: unknown }[];
}

/** The parts of a dashboard JSON model these tests read. */
export interface JsonDashboard {
  uid?: string;
  title?: string;
  panels?: JsonPanel[];
  rows?: { panels?: JsonPanel[] }[];
  templating?: {
    list?: {
      name: string;
      type: string;
      query?: unknown;
      multi?: boolean;
      includeAll?: boolean;
      allValue?: string;
    }[];
  };
}

/** Reads a dashboard JSON file of the repository. */
export function readDashboard(path: string): JsonDashboard {
  return JSON.parse(readFileSync(new URL(path, ROOT), 'utf8')) as JsonDashboard;
}

/** Every panel of a dashboard, nested ones (collapsed rows, legacy rows) included. */
export function panelsOf(d: JsonDashboard): JsonPanel[] {
  const out: JsonPanel[] = [];
  const walk = (ps: JsonPanel[] | undefined): void => {
    for (const p of ps ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const r of d.rows ?? []) walk(r.panels);
  return out;
}

/** Every PromQL query of the dashboard's panels. */
export function panelQueries(d: JsonDashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const p of panelsOf(d)) {
    for (const t of p.targets ?? []) {
      if (typeof t.expr !== 'string' || t.expr.trim() === '') continue;
      out.push({
        panel: p.title ?? '(untitled)',
        panelType: p.type ?? '',
        refId: typeof t.refId === 'string' ? t.refId : '',
        expr: t.expr,
        instant: t.instant === true && t.range !== true,
      });
    }
  }
  return out;
}

/** The dashboard's variables (query strings of query variables; '' for others). */
export function variablesOf(d: JsonDashboard): DashboardVariable[] {
  return (d.templating?.list ?? []).map((v) => {
    const q = v.query;
    const query =
      typeof q === 'string'
        ? q
        : typeof q === 'object' && q !== null && typeof (q as { query?: unknown }).query === 'string'
          ? (q as { query: string }).query
          : '';
    return {
      name: v.name,
      type: v.type,
      query,
      multi: v.multi === true,
      includeAll: v.includeAll === true,
      allValue: v.allValue,
    };
  });
}

/** A parsed `label_values(selector, label)` variable query. */
export interface LabelValuesQuery {
  readonly selector: string | undefined;
  readonly label: string;
}

/** Parses Grafana's Prometheus variable query `label_values([selector,] label)`. */
export function parseLabelValues(query: string): LabelValuesQuery | undefined {
  const m = /^\s*label_values\(\s*(?:(.*\S)\s*,\s*)?([A-Za-z_]\w*)\s*\)\s*$/s.exec(query);
  if (!m) return undefined;
  return { selector: m[1], label: m[2]! };
}

/** Escapes a value for use inside a PromQL regex matcher, as Grafana does for multi-value variables. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');
}

/**
 * Grafana's interpolation of a query: `$__rate_interval` and friends become `rateInterval`, and each
 * `$name`/`${name}`/`[[name]]` its value. Throws if a variable has no value.
 */
export function interpolate(
  expr: string,
  values: Readonly<Record<string, string>>,
  rateInterval: string,
): string {
  return expr
    .replace(/\$\{?__(rate_interval|interval|range)\}?/g, rateInterval)
    .replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (m, a?: string, b?: string, c?: string) => {
      const name = a ?? b ?? c ?? '';
      const v = values[name];
      if (v === undefined) throw new Error(`no value for variable ${name} in ${expr}`);
      return v;
    });
}

/** Interpolation for syntax checks only: every variable becomes a harmless label value. */
export function interpolateForSyntax(expr: string): string {
  return interpolate(
    expr,
    new Proxy({}, { get: (_t, p) => (typeof p === 'string' ? 'x' : undefined) }),
    '5m',
  );
}

/** Syntax errors and metric names of one PromQL expression, by Prometheus' own grammar. */
export interface PromqlFacts {
  readonly errors: readonly string[];
  /** Metric names of vector selectors (including `{__name__="…"}` and single-name `=~` forms). */
  readonly metrics: readonly string[];
  /** Metric names used as counters inside rate(), irate() or increase(). */
  readonly ratedMetrics: readonly string[];
  /** Metric names of selectors that are not inside a range function (read as instant vectors). */
  readonly instantMetrics: readonly string[];
}

const RANGE_FUNCTIONS = new Set(['rate', 'irate', 'increase']);

/** Parses `expr` (already interpolated) with lezer-promql. */
export function promqlFacts(expr: string): PromqlFacts {
  const errors: string[] = [];
  const metrics: string[] = [];
  const rated: string[] = [];
  const instant: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter: (n) => {
      if (n.type.isError)
        errors.push(`syntax error at ${n.from}: …${expr.slice(Math.max(0, n.from - 20), n.from + 20)}…`);
      if (n.name !== 'VectorSelector') return;
      let name: string | undefined;
      const id = n.node.getChild('Identifier');
      if (id) name = expr.slice(id.from, id.to);
      else {
        // {__name__="x"} or inovex's {__name__=~"x"} with a plain name.
        const m = /__name__\s*=~?\s*"([A-Za-z_:][\w:]*)"/.exec(expr.slice(n.from, n.to));
        if (m) name = m[1];
      }
      if (name === undefined) return;
      metrics.push(name);
      // Climb: MatrixSelector → FunctionCallBody → FunctionCall(FunctionIdentifier).
      const matrix = n.node.parent?.name === 'MatrixSelector' ? n.node.parent : undefined;
      const call = matrix?.parent?.parent;
      const fn = call?.name === 'FunctionCall' ? call.getChild('FunctionIdentifier') : null;
      if (matrix && fn && RANGE_FUNCTIONS.has(expr.slice(fn.from, fn.to))) rated.push(name);
      else if (!matrix) instant.push(name);
    },
  });
  return { errors, metrics, ratedMetrics: rated, instantMetrics: instant };
}

/** Names of the samples a family of `type` exposes. */
function sampleNames(name: string, type: string): string[] {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

/** A metric the exporter serves: its sample name and its type. */
export interface KnownMetric {
  readonly name: string;
  readonly type: string;
  readonly source: string;
}

/**
 * Every metric name the exporter serves: the recorded exposition of the lab
 * (test/golden/metrics.prom), plus the long-lived registries built from their real definitions:
 * the exporter's self metrics (with prom-client's process and Node.js metrics) and the publisher's.
 */
export async function knownMetrics(): Promise<Map<string, KnownMetric>> {
  const out = new Map<string, KnownMetric>();
  const golden = readFileSync(new URL('test/golden/metrics.prom', ROOT), 'utf8');
  for (const m of golden.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    for (const n of sampleNames(m[1]!, m[2]!))
      out.set(n, { name: n, type: m[2]!, source: 'test/golden/metrics.prom' });
  }
  const self = createSelfMetrics();
  const publisher = new Registry();
  registerPublisherMetrics(publisher, {
    queueSamples: () => 0,
    queueCapacity: () => 1,
    brokerUp: () => true,
  });
  for (const [registry, source] of [
    [self.registry, 'src/http/self-metrics.ts'],
    [self.runtime, 'src/http/self-metrics.ts'],
    [publisher, 'src/publisher/metrics.ts'],
  ] as const) {
    for (const m of await registry.getMetricsAsJSON()) {
      for (const n of sampleNames(m.name, String(m.type)))
        out.set(n, { name: n, type: String(m.type), source });
    }
  }
  // Families the recording has no sample of (events need live libvirt events, the guest agent and
  // pressure are off or unreadable there), declared with their type in the meter table.
  for (const f of sideFamilies)
    for (const n of sampleNames(f.prometheus.name, f.prometheus.type))
      if (!out.has(n)) out.set(n, { name: n, type: f.prometheus.type, source: 'src/meters/table.ts' });
  // collectDefaultMetrics() started timers for its gauges; the test does not need them running.
  self.registry.clear();
  self.runtime.clear();
  return out;
}

/** Metrics Prometheus itself adds to every target. */
export const PROMETHEUS_SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
