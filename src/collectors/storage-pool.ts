// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';

/** The storage_pool collector: state and sizes of every libvirt storage pool (inovex-compatible names). */
export const storagePoolCollector: CollectorDefinition<'storage_pool'> = {
  name: 'storage_pool',
  enabledByDefault: true,
  description: 'Storage pool state and sizes (one list call plus one call per pool).',
  groups: [],
  async update(ctx, sink) {
    if (ctx.inspector.storagePools === undefined) throw new Error('this inspector cannot list storage pools');
    const pools = await ctx.inspector.storagePools({ signal: ctx.signal });
    const g = (name: string, help: string) =>
      ({ name, help, type: 'gauge', labelNames: ['storage_pool'] }) as const;
    const state = g(
      'libvirt_storage_pool_state',
      'State of the storage pool, virStoragePoolGetInfo state (0 inactive, 1 building, 2 running, 3 degraded, 4 inaccessible).',
    );
    const capacity = g(
      'libvirt_storage_pool_capacity_bytes',
      'Size of the storage pool, virStoragePoolGetInfo capacity.',
    );
    const allocation = g(
      'libvirt_storage_pool_allocation_bytes',
      'Space allocated in the storage pool, virStoragePoolGetInfo allocation.',
    );
    const available = g(
      'libvirt_storage_pool_available_bytes',
      'Free space in the storage pool, virStoragePoolGetInfo available.',
    );
    const timedOut = g(
      'libvirt_storage_pool_timed_out',
      'Whether reading the storage pool timed out this scrape (1); inovex-compatible, always 0 when the pool answered.',
    );
    for (const spec of [state, capacity, allocation, available, timedOut]) sink.declare(spec);
    for (const p of pools) {
      const labels = { storage_pool: p.name };
      sink.add(state, labels, p.state);
      sink.add(capacity, labels, p.capacityBytes);
      sink.add(allocation, labels, p.allocationBytes);
      sink.add(available, labels, p.availableBytes);
      sink.add(timedOut, labels, 0);
    }
  },
};
