// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Reads that cost one call per domain (there is no bulk call for them): the current job of running
 * domains, and the disk sizes of shut-off ones. A domain or disk that vanished meanwhile is left out.
 */
import {
  LibvirtError,
  VIR_ERR,
  domainGetBlockInfo,
  domainGetJobInfo,
  type LibvirtClient,
} from '../libvirt/index.ts';
import type { CallGuard } from './call-guard.ts';
import type { BlockStats, Instance, JobInfo } from './types.ts';

/** The current job of each domain (virDomainGetJobInfo), by UUID. */
export async function readJobs(
  client: LibvirtClient,
  guard: CallGuard,
  instances: readonly Instance[],
  signal: AbortSignal | undefined,
): Promise<ReadonlyMap<string, JobInfo>> {
  const o = signal ? { signal } : {};
  const out = new Map<string, JobInfo>();
  await guard.run('reading domain jobs', signal, () =>
    Promise.all(
      instances.map(async (i) => {
        try {
          const j = await domainGetJobInfo(client, { name: i.name, uuid: i.uuid, id: i.id }, o);
          out.set(i.uuid, {
            type: j.type,
            timeElapsedMs: Number(j.timeElapsed),
            timeRemainingMs: Number(j.timeRemaining),
            dataTotalBytes: Number(j.dataTotal),
            dataProcessedBytes: Number(j.dataProcessed),
            dataRemainingBytes: Number(j.dataRemaining),
            memoryTotalBytes: Number(j.memTotal),
            memoryProcessedBytes: Number(j.memProcessed),
            memoryRemainingBytes: Number(j.memRemaining),
            fileTotalBytes: Number(j.fileTotal),
            fileProcessedBytes: Number(j.fileProcessed),
            fileRemainingBytes: Number(j.fileRemaining),
          });
        } catch (err) {
          if (
            err instanceof LibvirtError &&
            (err.code === VIR_ERR.NO_DOMAIN || err.code === VIR_ERR.OPERATION_INVALID)
          )
            return;
          throw err;
        }
      }),
    ),
  );
  return out;
}

/**
 * Disk sizes of the shut-off instances, one virDomainGetBlockInfo per disk with a source (what
 * Ceilometer's inspect_disk_info reads for a SHUTOFF domain), by UUID.
 */
export async function readStoppedDisks(
  client: LibvirtClient,
  guard: CallGuard,
  instances: readonly Instance[],
  signal: AbortSignal | undefined,
): Promise<ReadonlyMap<string, readonly BlockStats[]>> {
  const o = signal ? { signal } : {};
  const out = new Map<string, BlockStats[]>();
  await guard.run('reading the disks of stopped domains', signal, () =>
    Promise.all(
      instances
        .filter((i) => i.state === 'shutoff')
        .map(async (i) => {
          out.set(i.uuid, await stoppedDisks(client, i, o));
        }),
    ),
  );
  return out;
}

/** One shut-off domain's disks, one call at a time. */
async function stoppedDisks(
  client: LibvirtClient,
  i: Instance,
  o: { signal?: AbortSignal },
): Promise<BlockStats[]> {
  const blocks: BlockStats[] = [];
  for (const [index, d] of i.disks.entries()) {
    try {
      const b = await domainGetBlockInfo(client, { name: i.name, uuid: i.uuid, id: -1 }, d.target, o);
      blocks.push({
        index,
        name: d.target,
        capacityBytes: Number(b.capacity),
        allocationBytes: Number(b.allocation),
        physicalBytes: Number(b.physical),
      });
    } catch (err) {
      if (
        err instanceof LibvirtError &&
        (err.code === VIR_ERR.NO_DOMAIN ||
          err.code === VIR_ERR.OPERATION_INVALID ||
          err.code === VIR_ERR.INVALID_ARG)
      )
        continue;
      throw err;
    }
  }
  return blocks;
}
