// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Families of the job collector: virDomainGetJobInfo of each running domain, under inovex's names, in
 * base units.
 */
import type { JobInfo } from '../inspector/types.ts';
import { family, type Family } from './family.ts';
import type { RawUnit } from './units.ts';

function job(
  name: string,
  field: string,
  about: string,
  read: (j: JobInfo) => number,
  rawUnit: RawUnit = 'bytes',
  codes?: readonly string[],
): Family<JobInfo> {
  return family<JobInfo>({
    key: `job_${field}`,
    collector: 'job',
    source: `virDomainGetJobInfo ${field}`,
    rawUnit,
    name: `libvirt_domain_job_info_${name}`,
    type: 'gauge',
    help: codes === undefined ? { about, cite: 'api' } : { about, cite: 'api', codes },
    read,
  });
}

/** Families of the job collector, in the order they are served. */
export const jobFamilies: readonly Family<JobInfo>[] = [
  job('type', 'type', 'Type of the current job', (j) => j.type, 'code', [
    'none',
    'bounded',
    'unbounded',
    'completed',
    'failed',
    'cancelled',
  ]),
  job('time_elapsed_seconds', 'timeElapsed', 'Time the current job has run', (j) => j.timeElapsedMs, 'ms'),
  job(
    'time_remaining_seconds',
    'timeRemaining',
    'Estimated time left for the current job',
    (j) => j.timeRemainingMs,
    'ms',
  ),
  job('data_total_bytes', 'dataTotal', 'Data the job has to process', (j) => j.dataTotalBytes),
  job('data_processed_bytes', 'dataProcessed', 'Data the job has processed', (j) => j.dataProcessedBytes),
  job('data_remaining_bytes', 'dataRemaining', 'Data the job has left', (j) => j.dataRemainingBytes),
  job('memory_total_bytes', 'memTotal', 'Memory the job has to process', (j) => j.memoryTotalBytes),
  job(
    'memory_processed_bytes',
    'memProcessed',
    'Memory the job has processed',
    (j) => j.memoryProcessedBytes,
  ),
  job('memory_remaining_bytes', 'memRemaining', 'Memory the job has left', (j) => j.memoryRemainingBytes),
  job('file_total_bytes', 'fileTotal', 'File data the job has to process', (j) => j.fileTotalBytes),
  job(
    'file_processed_bytes',
    'fileProcessed',
    'File data the job has processed',
    (j) => j.fileProcessedBytes,
  ),
  job('file_remaining_bytes', 'fileRemaining', 'File data the job has left', (j) => j.fileRemainingBytes),
];
