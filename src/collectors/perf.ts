// SPDX-License-Identifier: Apache-2.0
import { valueOf } from '../meters/family.ts';
import { perfFamily } from '../meters/perf.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { familySpec } from '../scrape/metric-sink.ts';

/** The perf collector (opt-in): perf event counters enabled in a domain's XML (<perf><event enabled='yes'>). */
export const perfCollector: CollectorDefinition<'perf'> = {
  name: 'perf',
  enabledByDefault: false,
  description: 'perf event counters enabled in the domain XML.',
  groups: ['perf'],
  update(ctx, sink) {
    const spec = familySpec(perfFamily, ctx.domainLabelNames);
    sink.declare(spec);
    for (const [uuid, s] of ctx.inspection.stats) {
      for (const [event, count] of Object.entries(s.perf))
        sink.add(spec, { ...ctx.domainLabels(uuid), event }, valueOf(perfFamily, count));
    }
  },
};
