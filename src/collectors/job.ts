// SPDX-License-Identifier: Apache-2.0
import { valueOf } from '../meters/family.ts';
import { jobFamilies } from '../meters/job.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { familySpec } from '../scrape/metric-sink.ts';

/**
 * The job collector (opt-in): migration and other job progress of every running domain. libvirt has no
 * bulk call for jobs, so this costs one call per running domain per scrape: off by default.
 */
export const jobCollector: CollectorDefinition<'job'> = {
  name: 'job',
  enabledByDefault: false,
  description: 'Migration and other job progress (one call per running domain, hence opt-in).',
  groups: [],
  async update(ctx, sink) {
    if (ctx.inspector.jobInfo === undefined) throw new Error('this inspector cannot read domain jobs');
    const running = ctx.inspection.instances.filter((i) => i.id > 0);
    const jobs = await ctx.inspector.jobInfo(running, { signal: ctx.signal });
    const specs = jobFamilies.map((f) => ({ f, spec: familySpec(f, ctx.domainLabelNames) }));
    for (const { spec } of specs) sink.declare(spec);
    for (const [uuid, job] of jobs) {
      const labels = ctx.domainLabels(uuid);
      for (const { f, spec } of specs) sink.add(spec, labels, valueOf(f, job));
    }
  },
};
