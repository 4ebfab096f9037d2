// SPDX-License-Identifier: Apache-2.0
import type { Inspector } from '../inspector/types.ts';
import { sideFamilies, toBase, type SideFamily } from '../meters/table.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import type { GuestPressure } from '../inspector/cgroups.ts';

/** The raw value of each pressure family, from one guest's cgroup reading (µs or counts). */
const READ: Readonly<Record<string, (p: GuestPressure) => number | undefined>> = {
  pressure_cpu_waiting: (p) => p.cpu.someUs,
  pressure_cpu_stalled: (p) => p.cpu.fullUs,
  pressure_memory_waiting: (p) => p.memory.someUs,
  pressure_memory_stalled: (p) => p.memory.fullUs,
  pressure_io_waiting: (p) => p.io.someUs,
  pressure_io_stalled: (p) => p.io.fullUs,
  cpu_throttled: (p) => p.throttledUs,
  cpu_throttled_periods: (p) => p.throttledPeriods,
};

/** Inspectors whose "cgroups unreadable" line was logged: one line per inspector, not per scrape. */
const told = new WeakSet<Inspector>();

/**
 * The pressure collector: PSI totals and CPU throttling of each running guest's cgroup v2 directory.
 * Where no cgroup v2 hierarchy is readable it serves nothing and logs one line.
 */
export const pressureCollector: CollectorDefinition<'pressure'> = {
  name: 'pressure',
  enabledByDefault: true,
  description:
    "Pressure stall information (CPU, memory, I/O) and CPU throttling of each running guest's cgroup v2 directory (files under /sys/fs/cgroup; no series and one log line where unreadable).",
  groups: [],
  update(ctx, sink) {
    const families = sideFamilies.filter((f) => f.collector === 'pressure');
    const specs = families.map((f: SideFamily) => ({
      family: f,
      spec: {
        name: f.prometheus.name,
        help: f.prometheus.help,
        type: f.prometheus.type,
        labelNames: [...ctx.domainLabelNames],
      },
    }));
    for (const s of specs) sink.declare(s.spec);
    if (ctx.inspector.pressure === undefined) return;
    const running = ctx.inspection.instances.filter((i) => ctx.inspection.stats.has(i.uuid));
    const { unavailable, byUuid } = ctx.inspector.pressure(running, {
      cgroupRoot: ctx.config.collectors.pressure.cgroup_root,
    });
    if (unavailable !== undefined) {
      if (!told.has(ctx.inspector)) {
        told.add(ctx.inspector);
        ctx.log.warn(`pressure collector: ${unavailable}; no pressure series`);
      }
      return;
    }
    for (const [uuid, p] of byUuid) {
      const labels = ctx.domainLabels(uuid);
      for (const { family, spec } of specs) {
        const raw = READ[family.key]?.(p);
        if (raw !== undefined) sink.add(spec, labels, toBase(family.rawUnit, raw));
      }
    }
  },
};
