// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Families of the host and storage_pool collectors: the compute host's capacity and versions
 * (virNodeGetInfo, version calls) and every libvirt storage pool (virStoragePoolGetInfo).
 */
import type { HostInfo, StoragePoolInfo } from '../inspector/types.ts';
import { family, info, type Family } from './family.ts';
import type { RawUnit } from './units.ts';

/** The numeric node info fields. */
type NodeField = 'cpus' | 'sockets' | 'cores' | 'threads' | 'nodes' | 'mhz' | 'memoryKiB';

function node(
  key: NodeField,
  name: string,
  about: string,
  rawUnit: RawUnit = 'count',
  field: string = key,
): Family<HostInfo> {
  return family<HostInfo>({
    key: `host_${key}`,
    collector: 'host',
    source: `nodeinfo ${field}`,
    rawUnit,
    name,
    type: 'gauge',
    help: { about },
    domainLabels: 'none',
    read: (h) => h[key],
  });
}

/** Families of the host collector, in the order they are served. */
export const hostFamilies = {
  info: info({
    key: 'host_info',
    collector: 'host',
    source: 'virConnectGetHostname, virNodeGetInfo model, virConnectGetType and the version calls',
    name: 'libvirt_host_info',
    help: { template: 'Compute host identity from libvirt (hostname, CPU model, versions): value 1.' },
    domainLabels: 'none',
    extraLabels: ['hostname', 'cpu_model', 'hypervisor_type', 'hypervisor_version', 'libvirt_version'],
  }),
  /** Node info values, served in this order. */
  values: [
    node('cpus', 'libvirt_host_cpus', 'Active host CPUs'),
    node('sockets', 'libvirt_host_cpu_sockets', 'CPU sockets per NUMA node'),
    node('cores', 'libvirt_host_cpu_cores', 'Cores per socket'),
    node('threads', 'libvirt_host_cpu_threads', 'Threads per core'),
    node('nodes', 'libvirt_host_numa_nodes', 'NUMA nodes'),
    node('mhz', 'libvirt_host_cpu_frequency_hertz', 'Expected CPU frequency', 'MHz'),
    node('memoryKiB', 'libvirt_host_memory_bytes', 'Memory of the host', 'KiB', 'memory'),
  ],
} as const;

function pool(
  key: 'state' | 'capacity' | 'allocation' | 'available',
  about: string,
  read: (p: StoragePoolInfo) => number,
  codes?: readonly string[],
): Family<StoragePoolInfo> {
  return family<StoragePoolInfo>({
    key: `storage_pool_${key}`,
    collector: 'storage_pool',
    source: `virStoragePoolGetInfo ${key}`,
    rawUnit: key === 'state' ? 'code' : 'bytes',
    name: key === 'state' ? 'libvirt_storage_pool_state' : `libvirt_storage_pool_${key}_bytes`,
    type: 'gauge',
    help: codes === undefined ? { about, cite: 'api' } : { about, cite: 'api', codes },
    domainLabels: 'none',
    extraLabels: ['storage_pool'],
    read,
  });
}

/** Families of the storage_pool collector, in the order they are served. */
export const storagePoolFamilies: readonly Family<StoragePoolInfo>[] = [
  pool('state', 'State of the storage pool', (p) => p.state, [
    'inactive',
    'building',
    'running',
    'degraded',
    'inaccessible',
  ]),
  pool('capacity', 'Size of the storage pool', (p) => p.capacityBytes),
  pool('allocation', 'Space allocated in the storage pool', (p) => p.allocationBytes),
  pool('available', 'Free space in the storage pool', (p) => p.availableBytes),
  family<StoragePoolInfo>({
    key: 'storage_pool_timed_out',
    collector: 'storage_pool',
    source: 'virStoragePoolGetInfo (answered in time)',
    rawUnit: 'count',
    name: 'libvirt_storage_pool_timed_out',
    type: 'gauge',
    help: {
      template:
        'Whether reading the storage pool timed out this scrape (1); inovex-compatible, always 0 when the pool answered.',
    },
    domainLabels: 'none',
    extraLabels: ['storage_pool'],
    // A pool that is listed answered: inovex's flag is always 0 here.
    read: () => 0,
  }),
];
