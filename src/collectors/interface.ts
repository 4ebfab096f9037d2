// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { deviceInfoFamilies } from '../meters/domain.ts';
import { familySpec, labelString } from '../scrape/metric-sink.ts';
import { emitRows } from './rows.ts';

/** The interface collector: per-vNIC counters from the meter table, and vNIC info from the XML. */
export const interfaceCollector: CollectorDefinition<'interface'> = {
  name: 'interface',
  enabledByDefault: true,
  description: 'Per-vNIC traffic, errors and drops, and vNIC info.',
  groups: ['interface'],
  update(ctx, sink) {
    emitRows(ctx, sink, 'interface');
    const spec = familySpec(deviceInfoFamilies.vnic, ctx.domainLabelNames);
    sink.declare(spec);
    for (const instance of ctx.inspection.instances) {
      if (!ctx.inspection.stats.has(instance.uuid)) continue;
      for (const v of instance.vnics) {
        const dev = v.targetDev;
        if (dev === undefined) continue;
        // From the description only: the label text is cached across scrapes.
        const text = ctx.labelText(instance.uuid, `vnic_info:${dev}`, () =>
          labelString(spec.labelNames, {
            ...ctx.domainLabels(instance.uuid),
            interface_type: v.type,
            source_bridge: v.sourceBridge ?? '',
            target_device: dev,
            mac_address: v.mac ?? '',
            model_type: v.model ?? '',
            mtu_size: v.mtu === undefined ? '' : String(v.mtu),
          }),
        );
        sink.addText(spec, text, 1);
      }
    }
  },
};
