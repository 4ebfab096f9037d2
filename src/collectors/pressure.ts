// SPDX-License-Identifier: Apache-2.0
import type { Inspector } from '../inspector/types.ts';
import { valueOf } from '../meters/family.ts';
import { pressureFamilies } from '../meters/side.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { familySpec } from '../scrape/metric-sink.ts';
import { plainText } from './texts.ts';

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
    const specs = pressureFamilies.map((family) => ({
      family,
      spec: familySpec(family, ctx.domainLabelNames),
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
    // NOTE: the domain's cached label text, written without the sink's per-sample check: every family here
    // has the domain labels alone, and each guest comes once (a map by UUID; its name is unique on the host).
    // Rendering the labels per family and checking each sample were most of this collector's garbage.
    // (forEach and an indexed loop: no entry array or iterator result per guest and family.)
    byUuid.forEach((p, uuid) => {
      const instance = ctx.instanceOf(uuid);
      if (instance === undefined) return;
      const text = plainText(ctx, instance, ctx.textsOf(instance), ctx.domainLabelNames);
      for (let k = 0; k < specs.length; k++) {
        const s = specs[k];
        if (s !== undefined) sink.addDistinct(s.spec, text, valueOf(s.family, p));
      }
    });
  },
};
