// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import type { JobInfo } from '../inspector/types.ts';

/** Rows of the job collector: inovex's names, libvirt's virDomainGetJobInfo fields, base units. */
const FIELDS: readonly [string, keyof JobInfo, string, number][] = [
  [
    'libvirt_domain_job_info_type',
    'type',
    'Type of the current job, virDomainGetJobInfo type (0 none, 1 bounded, 2 unbounded, 3 completed, 4 failed, 5 cancelled).',
    1,
  ],
  [
    'libvirt_domain_job_info_time_elapsed_seconds',
    'timeElapsedMs',
    'Time the current job has run, virDomainGetJobInfo timeElapsed converted from ms.',
    1e-3,
  ],
  [
    'libvirt_domain_job_info_time_remaining_seconds',
    'timeRemainingMs',
    'Estimated time left for the current job, virDomainGetJobInfo timeRemaining converted from ms.',
    1e-3,
  ],
  [
    'libvirt_domain_job_info_data_total_bytes',
    'dataTotalBytes',
    'Data the job has to process, virDomainGetJobInfo dataTotal.',
    1,
  ],
  [
    'libvirt_domain_job_info_data_processed_bytes',
    'dataProcessedBytes',
    'Data the job has processed, virDomainGetJobInfo dataProcessed.',
    1,
  ],
  [
    'libvirt_domain_job_info_data_remaining_bytes',
    'dataRemainingBytes',
    'Data the job has left, virDomainGetJobInfo dataRemaining.',
    1,
  ],
  [
    'libvirt_domain_job_info_memory_total_bytes',
    'memoryTotalBytes',
    'Memory the job has to process, virDomainGetJobInfo memTotal.',
    1,
  ],
  [
    'libvirt_domain_job_info_memory_processed_bytes',
    'memoryProcessedBytes',
    'Memory the job has processed, virDomainGetJobInfo memProcessed.',
    1,
  ],
  [
    'libvirt_domain_job_info_memory_remaining_bytes',
    'memoryRemainingBytes',
    'Memory the job has left, virDomainGetJobInfo memRemaining.',
    1,
  ],
  [
    'libvirt_domain_job_info_file_total_bytes',
    'fileTotalBytes',
    'File data the job has to process, virDomainGetJobInfo fileTotal.',
    1,
  ],
  [
    'libvirt_domain_job_info_file_processed_bytes',
    'fileProcessedBytes',
    'File data the job has processed, virDomainGetJobInfo fileProcessed.',
    1,
  ],
  [
    'libvirt_domain_job_info_file_remaining_bytes',
    'fileRemainingBytes',
    'File data the job has left, virDomainGetJobInfo fileRemaining.',
    1,
  ],
];

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
    const rows = FIELDS.map(([name, key, help, scale]) => ({
      spec: { name, help, type: 'gauge', labelNames: [...ctx.domainLabelNames] } as const,
      key,
      scale,
    }));
    for (const r of rows) sink.declare(r.spec);
    for (const [uuid, job] of jobs) {
      const labels = ctx.domainLabels(uuid);
      for (const r of rows) sink.add(r.spec, labels, job[r.key] * r.scale);
    }
  },
};
