// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Serves the meter table's rows of one collector: walks the running domains of the inspection and their
 * vCPUs, disks and vNICs, converts each raw value to base units and writes the correct metric and, when
 * enabled, its inovex alias. Also turns the other declarations of src/meters/ into this scrape's specs.
 */
import type { Family } from '../meters/family.ts';
import type { CollectorName } from '../meters/names.ts';
import {
  meterTable,
  type MeterRow,
  type PrometheusMetric,
  type DomainSubject,
  type Scope,
  type SubjectOf,
} from '../meters/table.ts';
import type { ScrapeContext } from '../scrape/collector.ts';
import { familySpec, labelString, type FamilySpec, type MetricSink } from '../scrape/metric-sink.ts';
import { diskOf, vnicOf } from '../inspector/devices.ts';
import { plainText } from './texts.ts';
import { unitScale } from '../meters/units.ts';

/** Extra labels per scope, after the domain labels. */
const SCOPE_LABELS: Readonly<Record<Scope, readonly string[]>> = {
  domain: [],
  vcpu: ['vcpu'],
  disk: ['target_device'],
  vnic: ['target_device'],
};

function spec(metric: PrometheusMetric, labelNames: readonly string[]): FamilySpec {
  return { name: metric.name, help: metric.help, type: metric.type, labelNames };
}

/** The specs of a set of declared families, by the same keys, with this scrape's domain labels. */
export function familySpecs<K extends string>(
  families: Readonly<Record<K, Family>>,
  domainLabelNames: readonly string[],
): Record<K, FamilySpec> {
  const out = {} as Record<K, FamilySpec>;
  for (const key of Object.keys(families) as K[]) out[key] = familySpec(families[key], domainLabelNames);
  return out;
}

/** Whether a row is served by Prometheus for this collector. */
function served(
  row: Pick<MeterRow, 'collector' | 'prometheus' | 'inovexAlias'>,
  collector: CollectorName,
): boolean {
  return row.collector === collector && (row.prometheus !== undefined || row.inovexAlias !== undefined);
}

/** A row of one collector with its families resolved once per scrape. */
interface Prepared<S extends Scope> {
  readonly row: MeterRow<S>;
  readonly metric: FamilySpec | undefined;
  readonly alias: FamilySpec | undefined;
  /** The raw unit's conversion to the base unit (`raw / div * mul`, as toBase computes it). */
  readonly div: number;
  readonly mul: number;
  /** The inovex alias's factor on the base value. */
  readonly scale: number;
}

type Rows = { readonly [S in Scope]: readonly Prepared<S>[] };

/** The rows of `collector` in `scope`, their families declared (even without samples, for HELP and TYPE). */
function prepare<S extends Scope>(
  ctx: ScrapeContext,
  sink: MetricSink,
  collector: CollectorName,
  scope: S,
): Prepared<S>[] {
  const compat = ctx.config.metrics.inovex_compatibility;
  const labelNames = [...ctx.domainLabelNames, ...SCOPE_LABELS[scope]];
  const out: Prepared<S>[] = [];
  for (const row of meterTable[scope] as unknown as readonly MeterRow<S>[]) {
    if (!served(row, collector)) continue;
    const metric = row.prometheus ? spec(row.prometheus, labelNames) : undefined;
    const alias = compat && row.inovexAlias ? spec(row.inovexAlias, labelNames) : undefined;
    if (metric) sink.declare(metric);
    if (alias) sink.declare(alias);
    if (metric || alias)
      out.push({ row, metric, alias, ...unitScale(row.rawUnit), scale: row.inovexScale ?? 1 });
  }
  return out;
}

/**
 * Writes the prepared rows of one subject (a domain, a vCPU, a disk or a vNIC). The caller writes each
 * label text once: a series is never written twice, so the sink need not check each of its samples
 * ({@link MetricSink.addDistinct}); no two rows share a family (test/unit/collectors/rows.test.ts).
 */
function emit<S extends Scope>(
  sink: MetricSink,
  prepared: readonly Prepared<S>[],
  subject: SubjectOf[S],
  labelText: string,
): void {
  for (const p of prepared) {
    const raw = p.row.read(subject);
    if (raw === undefined) continue;
    const value = (raw / p.div) * p.mul;
    if (p.metric) sink.addDistinct(p.metric, labelText, value);
    if (p.alias) sink.addDistinct(p.alias, labelText, value * p.scale);
  }
}

/** The label names of each scope: the domain labels, then the scope's own. */
type Names = Readonly<Record<Scope, readonly string[]>>;

/** Renders a subject's labels (a miss of the cache): the domain labels and the scope's one label. */
function render(
  ctx: ScrapeContext,
  uuid: string,
  names: readonly string[],
  label: string,
  value: string,
): string {
  return labelString(names, { ...ctx.domainLabels(uuid), [label]: value });
}

/** Whether one of the first `k` device slots already has `text` (two disks with one target name). */
function seenBefore(
  slots: readonly ({ readonly text: string } | undefined)[],
  k: number,
  text: string,
): boolean {
  for (let j = 0; j < k; j++) if (slots[j]?.text === text) return true;
  return false;
}

/**
 * Writes the rows of one running domain and of its vCPUs, disks and vNICs.
 * NOTE: label texts come from the domain's texts cached across scrapes (ScrapeContext.textsOf), by vCPU
 * index or device position: no key string, closure or label object is made per subject unless its text is
 * missing (a new description, a hot-plugged device). They depend on the domain labels and the subject's
 * name (or index) only.
 * NOTE: a label text is written once per scrape. Every text holds the domain's name, which libvirt keeps
 * unique on a host, so only the subjects of one domain can share one: a vCPU index is unique in the stats,
 * and a disk or vNIC is checked against the domain's earlier ones (a few comparisons, where one set of
 * every text of the scrape cost a hash per subject and its growth, about 7000 a scrape at 1000 guests).
 */
function emitDomain(
  ctx: ScrapeContext,
  sink: MetricSink,
  rows: Rows,
  names: Names,
  domain: DomainSubject,
): void {
  const { instance, stats: s } = domain;
  const uuid = instance.uuid;
  const t = ctx.textsOf(instance);
  if (rows.domain.length > 0) {
    emit(sink, rows.domain, domain, plainText(ctx, instance, t, names.domain));
  }
  if (rows.vcpu.length > 0) {
    for (const vcpu of s.vcpus) {
      const i = vcpu.index;
      const labels = (t.vcpu[i] ??= render(ctx, uuid, names.vcpu, 'vcpu', String(i)));
      emit(sink, rows.vcpu, { instance, stats: s, vcpu }, labels);
    }
  }
  if (rows.disk.length > 0) {
    let k = 0;
    for (const block of s.blocks) {
      // NOTE: backing-chain entries only appear with the BACKING flag, which the inspector never sets.
      let slot = t.disk[k];
      if (slot?.name !== block.name) {
        const text = render(ctx, uuid, names.disk, 'target_device', block.name);
        slot = t.disk[k] = { name: block.name, index: k, text, device: diskOf(instance, block.name) };
      }
      if (!seenBefore(t.disk, k, slot.text))
        emit(sink, rows.disk, { instance, stats: s, block, disk: slot.device }, slot.text);
      k++;
    }
  }
  if (rows.vnic.length > 0) {
    let k = 0;
    for (const iface of s.interfaces) {
      let slot = t.vnic[k];
      if (slot?.name !== iface.name || slot.index !== iface.index) {
        // NOTE: an SR-IOV NIC can have no name; label it by index rather than collide (Tinkoff#35).
        const device = iface.name === '' ? `#${iface.index}` : iface.name;
        const text = render(ctx, uuid, names.vnic, 'target_device', device);
        slot = t.vnic[k] = {
          name: iface.name,
          index: iface.index,
          text,
          device: vnicOf(instance, iface.name),
        };
      }
      if (!seenBefore(t.vnic, k, slot.text))
        emit(sink, rows.vnic, { instance, stats: s, iface, vnic: slot.device }, slot.text);
      k++;
    }
  }
}

/** Writes every table row of `collector` for every running domain. */
export function emitRows(ctx: ScrapeContext, sink: MetricSink, collector: CollectorName): void {
  // Resolved once per scrape: the rows are written for every guest, vCPU, disk and vNIC (hot path).
  const rows: Rows = {
    domain: prepare(ctx, sink, collector, 'domain'),
    vcpu: prepare(ctx, sink, collector, 'vcpu'),
    disk: prepare(ctx, sink, collector, 'disk'),
    vnic: prepare(ctx, sink, collector, 'vnic'),
  };
  if (rows.domain.length + rows.vcpu.length + rows.disk.length + rows.vnic.length === 0) return;
  const names: Names = {
    domain: [...ctx.domainLabelNames, ...SCOPE_LABELS.domain],
    vcpu: [...ctx.domainLabelNames, ...SCOPE_LABELS.vcpu],
    disk: [...ctx.domainLabelNames, ...SCOPE_LABELS.disk],
    vnic: [...ctx.domainLabelNames, ...SCOPE_LABELS.vnic],
  };
  // NOTE: forEach, not for…of: a Map's for…of made an entry array and an iterator result per guest
  // (sampled: a tenth of the collectors' garbage at 50 guests).
  ctx.inspection.stats.forEach((stats, uuid) => {
    const instance = ctx.instanceOf(uuid);
    if (instance !== undefined) emitDomain(ctx, sink, rows, names, { instance, stats });
  });
}
