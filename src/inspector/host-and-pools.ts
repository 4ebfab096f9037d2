// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The reads that need no guest: the host's identity and size (five small calls) and the storage pools
 * (one list call, one info call per pool). The inspector shares each read between concurrent callers,
 * under the deadlines below, whoever asked first.
 */
import { listAllStoragePools, storagePoolGetInfo, type LibvirtClient } from '../libvirt/index.ts';
import type { CallGuard } from './call-guard.ts';
import type { HostInfo, StoragePoolInfo } from './types.ts';

/** How long the shared read of the host's info may take (five small calls that need no guest). */
export const HOST_INFO_TIMEOUT_MS = 10_000;
/** How long the shared read of the storage pools may take (one list call, one info call per pool). */
export const POOLS_TIMEOUT_MS = 10_000;

/** Reads the host's identity and size (concurrently). */
export async function readHost(
  client: LibvirtClient,
  guard: CallGuard,
  signal: AbortSignal,
): Promise<HostInfo> {
  const o = { signal };
  const [hostname, libvirtVersion, hypervisorVersion, hypervisorType, node] = await guard.run(
    'reading host info',
    signal,
    () =>
      Promise.all([
        client.connectGetHostname(o),
        client.connectGetLibVersion(o),
        client.connectGetVersion(o),
        client.connectGetType(o),
        client.nodeGetInfo(o),
      ]),
  );
  const { model, memory, ...counts } = node;
  return {
    hostname,
    libvirtVersion,
    hypervisorVersion,
    hypervisorType,
    cpuModel: model,
    memoryKiB: memory,
    ...counts,
  };
}

/** Reads every storage pool: one list call, then one info call per pool (concurrently). */
export async function readPools(
  client: LibvirtClient,
  guard: CallGuard,
  signal: AbortSignal,
): Promise<readonly StoragePoolInfo[]> {
  const o = { signal };
  return guard.run('reading storage pools', signal, async () => {
    const pools = await listAllStoragePools(client, 0, o);
    return Promise.all(
      pools.map(async (p) => {
        const i = await storagePoolGetInfo(client, p, o);
        return {
          name: p.name,
          uuid: p.uuid,
          state: i.state,
          capacityBytes: Number(i.capacity),
          allocationBytes: Number(i.allocation),
          availableBytes: Number(i.available),
        };
      }),
    );
  });
}
