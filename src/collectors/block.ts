// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { deviceInfoFamilies } from '../meters/domain.ts';
import { familySpec, labelString } from '../scrape/metric-sink.ts';
import { emitRows } from './rows.ts';

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
      for (const d of instance.disks) {
        // From the description only: the label text is cached across scrapes.
        const text = ctx.labelText(instance.uuid, `disk_info:${d.target}`, () =>
          labelString(spec.labelNames, {
            ...ctx.domainLabels(instance.uuid),
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
          }),
        );
        sink.addText(spec, text, 1);
      }
    }
  },
};
