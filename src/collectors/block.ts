// SPDX-License-Identifier: Apache-2.0
import type { DiskDevice, Instance } from '../inspector/types.ts';
import type { CollectorDefinition, ScrapeContext } from '../scrape/collector.ts';
import { deviceInfoFamilies } from '../meters/domain.ts';
import { familySpec, labelString } from '../scrape/metric-sink.ts';
import { emitRows } from './rows.ts';

/** The labels of a disk info series (a miss of the cache). */
function diskInfo(ctx: ScrapeContext, i: Instance, d: DiskDevice, names: readonly string[]): string {
  return labelString(names, {
    ...ctx.domainLabels(i.uuid),
    disk_type: d.type,
    target_bus: d.bus ?? '',
    driver_name: d.driverName ?? '',
    driver_type: d.driverType ?? '',
    driver_cache: d.driverCache ?? '',
    driver_discard: d.driverDiscard ?? '',
    source_file: d.sourceFile ?? d.sourceDev ?? d.sourceVolume ?? '',
    source_protocol: d.sourceProtocol ?? '',
    target_device: d.target,
    serial: d.serial ?? '',
  });
}

/** The block collector: per-disk counters and sizes from the meter table, and disk info from the XML. */
export const blockCollector: CollectorDefinition<'block'> = {
  name: 'block',
  enabledByDefault: true,
  description: 'Per-disk I/O counters, latency totals and sizes, and disk info.',
  groups: ['block'],
  update(ctx, sink) {
    emitRows(ctx, sink, 'block');
    const spec = familySpec(deviceInfoFamilies.disk, ctx.domainLabelNames);
    sink.declare(spec);
    for (const instance of ctx.inspection.instances) {
      if (!ctx.inspection.stats.has(instance.uuid)) continue;
      // From the description only: the label texts are cached across scrapes, by the disk's position.
      const t = ctx.textsOf(instance);
      let k = 0;
      for (const d of instance.disks)
        sink.addText(spec, (t.diskInfo[k++] ??= diskInfo(ctx, instance, d, spec.labelNames)), 1);
    }
  },
};
