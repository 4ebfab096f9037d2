// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';

/** The perf collector (opt-in): perf event counters enabled in a domain's XML (<perf><event enabled='yes'>). */
export const perfCollector: CollectorDefinition<'perf'> = {
  name: 'perf',
  enabledByDefault: false,
  description: 'perf event counters enabled in the domain XML.',
  groups: ['perf'],
  update(ctx, sink) {
    const spec = {
      name: 'libvirt_domain_perf_events_total',
      help: 'perf event count of the domain, libvirt perf.<event> (event label: cpu_cycles, instructions, cache_misses…).',
      type: 'counter',
      labelNames: [...ctx.domainLabelNames, 'event'],
    } as const;
    sink.declare(spec);
    for (const [uuid, s] of ctx.inspection.stats) {
      for (const [event, value] of Object.entries(s.perf))
        sink.add(spec, { ...ctx.domainLabels(uuid), event }, value);
    }
  },
};
