// SPDX-License-Identifier: Apache-2.0
import { valueOf } from '../meters/family.ts';
import { storagePoolFamilies } from '../meters/host.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { familySpec } from '../scrape/metric-sink.ts';

/** The storage_pool collector: state and sizes of every libvirt storage pool (inovex-compatible names). */
export const storagePoolCollector: CollectorDefinition<'storage_pool'> = {
  name: 'storage_pool',
  enabledByDefault: true,
  description: 'Storage pool state and sizes (one list call plus one call per pool).',
  groups: [],
  async update(ctx, sink) {
    if (ctx.inspector.storagePools === undefined) throw new Error('this inspector cannot list storage pools');
    const pools = await ctx.inspector.storagePools({ signal: ctx.signal });
    const specs = storagePoolFamilies.map((f) => ({ f, spec: familySpec(f) }));
    for (const { spec } of specs) sink.declare(spec);
    for (const p of pools) {
      const labels = { storage_pool: p.name };
      for (const { f, spec } of specs) sink.add(spec, labels, valueOf(f, p));
    }
  },
};
