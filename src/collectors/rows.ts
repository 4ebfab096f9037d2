// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Serves the meter table's rows of one collector: walks the running domains of the inspection and their
 * vCPUs, disks and vNICs, converts each raw value to base units and writes the correct metric and, when
 * enabled, its inovex alias.
 */
import type { CollectorName } from '../config/schema.ts';
import type { Instance } from '../inspector/types.ts';
import { meterTable, toBase, type MeterRow, type PrometheusMetric, type Scope, type SubjectOf } from '../meters/table.ts';
import type { ScrapeContext } from '../scrape/collector.ts';
import type { FamilySpec, MetricSink } from '../scrape/metric-sink.ts';

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

/** Whether a row is served by Prometheus for this collector. */
function served(row: Pick<MeterRow, 'collector' | 'prometheus' | 'inovexAlias'>, collector: CollectorName): boolean {
  return row.collector === collector && (row.prometheus !== undefined || row.inovexAlias !== undefined);
}

/** Writes every table row of `collector` for every running domain. */
export function emitRows(ctx: ScrapeContext, sink: MetricSink, collector: CollectorName): void {
  const compat = ctx.config.metrics.inovex_compatibility;
  const emit = <S extends Scope>(
    rows: readonly MeterRow<S>[],
    subject: SubjectOf[S],
    labels: Record<string, string>,
    labelNames: readonly string[],
  ): void => {
    for (const row of rows) {
      if (!served(row, collector)) continue;
      const raw = row.read(subject);
      if (raw === undefined) continue;
      if (row.prometheus) sink.add(spec(row.prometheus, labelNames), labels, toBase(row.rawUnit, raw));
      if (compat && row.inovexAlias) {
        sink.add(spec(row.inovexAlias, labelNames), labels, toBase(row.rawUnit, raw) * (row.inovexScale ?? 1));
      }
    }
  };

  const { stats, instances } = ctx.inspection;
  const byUuid = new Map<string, Instance>(instances.map((i) => [i.uuid, i]));
  const names = (scope: Scope): readonly string[] => [...ctx.domainLabelNames, ...SCOPE_LABELS[scope]];

  // Declare every family of this collector so HELP/TYPE show even on a host without guests.
  for (const scope of ['domain', 'vcpu', 'disk', 'vnic'] as const) {
    for (const row of meterTable[scope] as readonly MeterRow[]) {
      if (!served(row, collector)) continue;
      if (row.prometheus) sink.declare(spec(row.prometheus, names(scope)));
      if (compat && row.inovexAlias) sink.declare(spec(row.inovexAlias, names(scope)));
    }
  }

  for (const [uuid, s] of stats) {
    const instance = byUuid.get(uuid);
    if (instance === undefined) continue;
    const base = ctx.domainLabels(uuid);
    const subject = { instance, stats: s };
    emit(meterTable.domain, subject, base, names('domain'));
    for (const vcpu of s.vcpus) {
      emit(meterTable.vcpu, { ...subject, vcpu }, { ...base, vcpu: String(vcpu.index) }, names('vcpu'));
    }
    for (const block of s.blocks) {
      // NOTE: backing-chain entries only appear with the BACKING flag, which the inspector never sets.
      const disk = instance.disks.find((d) => d.target === block.name);
      emit(meterTable.disk, { ...subject, block, disk }, { ...base, target_device: block.name }, names('disk'));
    }
    for (const iface of s.interfaces) {
      const vnic = iface.name === '' ? undefined : instance.vnics.find((v) => v.targetDev === iface.name);
      // NOTE: an SR-IOV NIC can have no name; label it by index rather than collide (Tinkoff#35).
      const device = iface.name === '' ? `#${iface.index}` : iface.name;
      emit(meterTable.vnic, { ...subject, iface, vnic }, { ...base, target_device: device }, names('vnic'));
    }
  }
}
