// SPDX-License-Identifier: Apache-2.0
import type { Instance, Vnic } from '../inspector/types.ts';
import type { CollectorDefinition, ScrapeContext } from '../scrape/collector.ts';
import { deviceInfoFamilies } from '../meters/domain.ts';
import { familySpec, labelString } from '../scrape/metric-sink.ts';
import { emitRows } from './rows.ts';

/** The labels of a vNIC info series (a miss of the cache). */
function vnicInfo(ctx: ScrapeContext, i: Instance, v: Vnic, dev: string, names: readonly string[]): string {
  return labelString(names, {
    ...ctx.domainLabels(i.uuid),
    interface_type: v.type,
    source_bridge: v.sourceBridge ?? '',
    target_device: dev,
    mac_address: v.mac ?? '',
    model_type: v.model ?? '',
    mtu_size: v.mtu === undefined ? '' : String(v.mtu),
  });
}

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
      // From the description only: the label texts are cached across scrapes, by the vNIC's position.
      const t = ctx.textsOf(instance);
      let k = -1;
      for (const v of instance.vnics) {
        k++;
        if (v.targetDev === undefined) continue;
        sink.addText(spec, (t.vnicInfo[k] ??= vnicInfo(ctx, instance, v, v.targetDev, spec.labelNames)), 1);
      }
    }
  },
};
