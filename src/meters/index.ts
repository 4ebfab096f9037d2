// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Every metric family the exporter serves on /metrics (apart from the exporter's own process metrics
 * and the `ceilometer_*` families, named after Ceilometer's meters), as one flat list: the meter
 * table's rows and their inovex aliases, then the families declared beside the table.
 */
import { deviceInfoFamilies, domainFamilies } from './domain.ts';
import type { Family, PrometheusMetric } from './family.ts';
import { hostFamilies, storagePoolFamilies } from './host.ts';
import { jobFamilies } from './job.ts';
import type { Producer } from './names.ts';
import { openstackFamilies } from './openstack.ts';
import { perfFamily } from './perf.ts';
import { scrapeFamilies } from './scrape.ts';
import { sideFamilies } from './side.ts';
import { meterTable, type MeterRow } from './table.ts';
import type { RawUnit } from './units.ts';

/** One served family, whatever its declaration's shape. */
export interface DeclaredFamily {
  readonly metric: PrometheusMetric;
  readonly collector: Producer;
  readonly source: string;
  readonly rawUnit: RawUnit;
  /** The inovex name of another family's value (deprecated alias, off with inovex_compatibility: false). */
  readonly alias: boolean;
}

function fromRow(row: MeterRow): DeclaredFamily[] {
  const base = { collector: row.collector, source: row.source, rawUnit: row.rawUnit };
  const out: DeclaredFamily[] = [];
  if (row.prometheus) out.push({ ...base, metric: row.prometheus, alias: false });
  if (row.inovexAlias) out.push({ ...base, metric: row.inovexAlias, alias: true });
  return out;
}

function fromFamily(f: Family): DeclaredFamily {
  return { metric: f.prometheus, collector: f.collector, source: f.source, rawUnit: f.rawUnit, alias: false };
}

/** Every declared family. */
export function declaredFamilies(): DeclaredFamily[] {
  const rows = (Object.values(meterTable) as (readonly MeterRow[])[]).flat();
  const families: Family[] = [
    ...Object.values(scrapeFamilies),
    ...Object.values(domainFamilies),
    ...Object.values(deviceInfoFamilies),
    ...Object.values(openstackFamilies),
    hostFamilies.info,
    ...hostFamilies.values,
    ...storagePoolFamilies,
    ...jobFamilies,
    perfFamily,
    ...sideFamilies,
  ];
  return [...rows.flatMap(fromRow), ...families.map(fromFamily)];
}
