// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';

/** The dirtyrate collector (opt-in): the last memory dirty-rate calculation (virsh domdirtyrate-calc). */
export const dirtyrateCollector: CollectorDefinition<'dirtyrate'> = {
  name: 'dirtyrate',
  enabledByDefault: false,
  description: 'Memory dirty rate, when a calculation was started on the domain.',
  groups: ['dirtyrate'],
  update(ctx, sink) {
    const rate = {
      name: 'libvirt_domain_dirtyrate_bytes_per_second',
      help: 'Memory dirty rate of the last calculation, libvirt dirtyrate.megabytes_per_second converted from MiB/s.',
      type: 'gauge',
      labelNames: [...ctx.domainLabelNames],
    } as const;
    const status = {
      name: 'libvirt_domain_dirtyrate_calculation_status',
      help: 'Status of the last dirty-rate calculation, libvirt dirtyrate.calc_status (0 unstarted, 1 measuring, 2 measured).',
      type: 'gauge',
      labelNames: [...ctx.domainLabelNames],
    } as const;
    sink.declare(rate);
    sink.declare(status);
    for (const [uuid, s] of ctx.inspection.stats) {
      const d = s.dirtyRate;
      if (d === undefined) continue;
      const labels = ctx.domainLabels(uuid);
      sink.add(status, labels, d.calcStatus);
      // Only a finished calculation has a meaningful rate.
      if (d.calcStatus === 2 && d.megabytesPerSecond !== undefined) {
        sink.add(rate, labels, d.megabytesPerSecond * 1024 * 1024);
      }
    }
  },
};
