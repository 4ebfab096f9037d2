// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The meter table: every numeric quantity this project reads from an inspection, once, with its raw
 * libvirt unit, and how each output names and converts it. The Prometheus collectors and the Ceilometer
 * publisher both read this table, so a quantity cannot mean one thing on /metrics and another on AMQP.
 *
 * Rows read raw values only (the field names of the inspector records say the unit); conversion to
 * Prometheus base units or to Ceilometer's units happens here, at the edge, through `toBase` and
 * `ceilometer.convert`.
 */
import type {
  BlockStats,
  DiskDevice,
  DomainStats,
  Instance,
  InterfaceStats,
  VcpuStats,
  Vnic,
} from '../inspector/types.ts';

/** What a row is measured on; decides the labels (Prometheus) and the resource id (Ceilometer). */
export type Scope = 'domain' | 'vcpu' | 'disk' | 'vnic';

/** Raw units as libvirt reports them. */
export type RawUnit = 'ns' | 'us' | 'KiB' | 'bytes' | 'count' | 'seconds' | 'code';

/** A running domain with its stats. */
export interface DomainSubject {
  readonly instance: Instance;
  readonly stats: DomainStats;
}
/** One vCPU of a domain. */
export interface VcpuSubject extends DomainSubject {
  readonly vcpu: VcpuStats;
}
/** One disk of a domain: its stats and, when the XML lists it, its description. */
export interface DiskSubject extends DomainSubject {
  readonly block: BlockStats;
  readonly disk: DiskDevice | undefined;
}
/** One vNIC of a domain: its stats and, when the XML lists it, its description. */
export interface VnicSubject extends DomainSubject {
  readonly iface: InterfaceStats;
  readonly vnic: Vnic | undefined;
}

/** The subject type of each scope. */
export interface SubjectOf {
  domain: DomainSubject;
  vcpu: VcpuSubject;
  disk: DiskSubject;
  vnic: VnicSubject;
}

/** How a row appears on /metrics. */
export interface PrometheusMetric {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
}

/** How a row appears as a Ceilometer sample (names, types and units of the real compute agent). */
export interface CeilometerMeter {
  readonly name: string;
  readonly type: 'cumulative' | 'gauge' | 'delta';
  /** The unit; `MB` is replaced by `MiB` under the `MiB` unit profile (Ceilometer 2025.2 and later). */
  readonly unit: string;
  /** Whether the volume is a float (Python `str()` then prints `45.0`, which the signature covers). */
  readonly float: boolean;
  /** Raw value → Ceilometer's volume. */
  readonly convert: (raw: number) => number;
}

/** One quantity of the table. */
export interface MeterRow<S extends Scope = Scope> {
  /** Stable key, used in tests and docs. */
  readonly key: string;
  readonly scope: S;
  /** The Prometheus collector that serves it (`cpu`, `vcpu`, `memory`, `block`, `interface`, `domain`, `perf`, `dirtyrate`). */
  readonly collector: string;
  /** The libvirt field(s) read, for HELP text and docs (`cpu.time`, `block.<n>.rd.bytes`). */
  readonly source: string;
  readonly rawUnit: RawUnit;
  /** The raw value, or undefined when libvirt did not report it (then nothing is emitted). */
  readonly read: (subject: SubjectOf[S]) => number | undefined;
  /** The metric with the correct name and type. */
  readonly prometheus?: PrometheusMetric;
  /** The inovex exporter's name for the same value, where it differs (deprecated compatibility alias). */
  readonly inovexAlias?: PrometheusMetric;
  /** Factor from the base unit to the alias' unit (100 for inovex's percentages). */
  readonly inovexScale?: number;
  readonly ceilometer?: CeilometerMeter;
}

/** Converts a raw value to the Prometheus base unit (seconds, bytes). */
export function toBase(unit: RawUnit, raw: number): number {
  switch (unit) {
    case 'ns':
      return raw / 1e9;
    case 'us':
      return raw / 1e6;
    case 'KiB':
      return raw * 1024;
    default:
      return raw;
  }
}

const kibToMB = (raw: number): number => raw / 1024;
const same = (raw: number): number => raw;

function row<S extends Scope>(r: MeterRow<S>): MeterRow<S> {
  return r;
}

/**
 * Ceilometer's `cpu`: the sum of vcpu.N.time + vcpu.N.wait over the vCPUs, falling back to cpu.time
 * when fewer vCPUs than vcpu.current reported both (compute/virt/libvirt/inspector.py inspect_instance).
 */
export function ceilometerCpuNs(stats: DomainStats): number | undefined {
  let total = 0;
  let complete = 0;
  for (const v of stats.vcpus) {
    if (v.timeNs !== undefined && v.waitNs !== undefined) {
      total += v.timeNs + v.waitNs;
      complete += 1;
    }
  }
  const current = stats.vcpuCurrent ?? 0;
  if (complete > 0 && complete >= current) return total;
  return stats.cpu?.timeNs;
}

/** Guest memory in use, KiB: available − usable when both exist, else available − unused (Ceilometer memory.usage). */
export function memoryUsedKiB(stats: DomainStats): number | undefined {
  const b = stats.balloon;
  if (b?.availableKiB === undefined) return undefined;
  if (b.usableKiB !== undefined) return b.availableKiB - b.usableKiB;
  if (b.unusedKiB !== undefined) return b.availableKiB - b.unusedKiB;
  return undefined;
}

/** Domain-scope rows. */
export const domainRows = [
  row({
    key: 'cpu_time',
    scope: 'domain',
    collector: 'cpu',
    source: 'cpu.time',
    rawUnit: 'ns',
    read: (s) => s.stats.cpu?.timeNs,
    prometheus: {
      name: 'libvirt_domain_info_cpu_time_seconds_total',
      type: 'counter',
      help: 'CPU time used by the domain (vCPUs and emulator threads), libvirt cpu.time converted from ns.',
    },
  }),
  row({
    key: 'cpu_user_time',
    scope: 'domain',
    collector: 'cpu',
    source: 'cpu.user',
    rawUnit: 'ns',
    read: (s) => s.stats.cpu?.userNs,
    prometheus: {
      name: 'libvirt_domain_cpu_user_seconds_total',
      type: 'counter',
      help: 'User-mode CPU time of the domain on the host, libvirt cpu.user converted from ns.',
    },
  }),
  row({
    key: 'cpu_system_time',
    scope: 'domain',
    collector: 'cpu',
    source: 'cpu.system',
    rawUnit: 'ns',
    read: (s) => s.stats.cpu?.systemNs,
    prometheus: {
      name: 'libvirt_domain_cpu_system_seconds_total',
      type: 'counter',
      help: 'Kernel-mode CPU time of the domain on the host, libvirt cpu.system converted from ns.',
    },
  }),
  row({
    key: 'ceilometer_cpu',
    scope: 'domain',
    collector: 'cpu',
    source: 'sum of vcpu.<n>.time + vcpu.<n>.wait, else cpu.time',
    rawUnit: 'ns',
    read: (s) => ceilometerCpuNs(s.stats),
    ceilometer: { name: 'cpu', type: 'cumulative', unit: 'ns', float: false, convert: same },
  }),
  row({
    key: 'vcpus',
    scope: 'domain',
    collector: 'vcpu',
    source: 'vcpu.current',
    rawUnit: 'count',
    read: (s) => s.stats.vcpuCurrent,
    prometheus: {
      name: 'libvirt_domain_vcpu_current',
      type: 'gauge',
      help: 'Number of vCPUs currently online in the domain, libvirt vcpu.current.',
    },
    ceilometer: { name: 'vcpus', type: 'gauge', unit: 'vcpu', float: false, convert: same },
  }),
  row({
    key: 'vcpus_maximum',
    scope: 'domain',
    collector: 'vcpu',
    source: 'vcpu.maximum',
    rawUnit: 'count',
    read: (s) => s.stats.vcpuMaximum,
    prometheus: {
      name: 'libvirt_domain_vcpu_maximum',
      type: 'gauge',
      help: 'Maximum number of vCPUs of the domain, libvirt vcpu.maximum.',
    },
  }),
  row({
    key: 'balloon_current',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.current',
    rawUnit: 'KiB',
    read: (s) => s.stats.balloon?.currentKiB,
    prometheus: {
      name: 'libvirt_domain_memory_stats_current_balloon_bytes',
      type: 'gauge',
      help: 'Memory currently given to the domain by the balloon, libvirt balloon.current converted from KiB.',
    },
    ceilometer: { name: 'memory', type: 'gauge', unit: 'MB', float: true, convert: kibToMB },
  }),
  row({
    key: 'balloon_maximum',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.maximum',
    rawUnit: 'KiB',
    read: (s) => s.stats.balloon?.maximumKiB,
    prometheus: {
      name: 'libvirt_domain_memory_stats_maximum_bytes',
      type: 'gauge',
      help: 'Maximum memory the balloon can give the domain, libvirt balloon.maximum converted from KiB.',
    },
  }),
  row({
    key: 'balloon_swap_in',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.swap_in',
    rawUnit: 'KiB',
    read: (s) => s.stats.balloon?.swapInKiB,
    prometheus: {
      name: 'libvirt_domain_memory_stats_swap_in_bytes_total',
      type: 'counter',
      help: 'Memory the guest swapped in since it booted, libvirt balloon.swap_in converted from KiB.',
    },
    inovexAlias: {
      name: 'libvirt_domain_memory_stats_swap_in_bytes',
      type: 'gauge',
      help: 'Deprecated inovex-compatible alias of libvirt_domain_memory_stats_swap_in_bytes_total (cumulative, typed gauge).',
    },
    ceilometer: { name: 'memory.swap.in', type: 'cumulative', unit: 'MB', float: true, convert: kibToMB },
  }),
  row({
    key: 'balloon_swap_out',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.swap_out',
    rawUnit: 'KiB',
    read: (s) => s.stats.balloon?.swapOutKiB,
    prometheus: {
      name: 'libvirt_domain_memory_stats_swap_out_bytes_total',
      type: 'counter',
      help: 'Memory the guest swapped out since it booted, libvirt balloon.swap_out converted from KiB.',
    },
    inovexAlias: {
      name: 'libvirt_domain_memory_stats_swap_out_bytes',
      type: 'gauge',
      help: 'Deprecated inovex-compatible alias of libvirt_domain_memory_stats_swap_out_bytes_total (cumulative, typed gauge).',
    },
    ceilometer: { name: 'memory.swap.out', type: 'cumulative', unit: 'MB', float: true, convert: kibToMB },
  }),
  row({
    key: 'balloon_major_fault',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.major_fault',
    rawUnit: 'count',
    read: (s) => s.stats.balloon?.majorFaults,
    prometheus: {
      name: 'libvirt_domain_memory_stats_major_fault_total',
      type: 'counter',
      help: 'Page faults in the guest that needed disk I/O, libvirt balloon.major_fault.',
    },
  }),
  row({
    key: 'balloon_minor_fault',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.minor_fault',
    rawUnit: 'count',
    read: (s) => s.stats.balloon?.minorFaults,
    prometheus: {
      name: 'libvirt_domain_memory_stats_minor_fault_total',
      type: 'counter',
      help: 'Page faults in the guest served without disk I/O, libvirt balloon.minor_fault.',
    },
  }),
  row({
    key: 'balloon_unused',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.unused',
    rawUnit: 'KiB',
    read: (s) => s.stats.balloon?.unusedKiB,
    prometheus: {
      name: 'libvirt_domain_memory_stats_unused_bytes',
      type: 'gauge',
      help: 'Memory the guest leaves unused (MemFree), libvirt balloon.unused converted from KiB.',
    },
  }),
  row({
    key: 'balloon_available',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.available',
    rawUnit: 'KiB',
    read: (s) => s.stats.balloon?.availableKiB,
    prometheus: {
      name: 'libvirt_domain_memory_stats_available_bytes',
      type: 'gauge',
      help: 'Memory the guest sees as total (MemTotal), libvirt balloon.available converted from KiB.',
    },
    ceilometer: { name: 'memory.available', type: 'gauge', unit: 'MB', float: true, convert: kibToMB },
  }),
  row({
    key: 'balloon_usable',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.usable',
    rawUnit: 'KiB',
    read: (s) => s.stats.balloon?.usableKiB,
    prometheus: {
      name: 'libvirt_domain_memory_stats_usable_bytes',
      type: 'gauge',
      help: 'Memory the guest could use without swapping (MemAvailable), libvirt balloon.usable converted from KiB.',
    },
  }),
  row({
    key: 'balloon_disk_caches',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.disk_caches',
    rawUnit: 'KiB',
    read: (s) => s.stats.balloon?.diskCachesKiB,
    prometheus: {
      name: 'libvirt_domain_memory_stats_disk_caches_bytes',
      type: 'gauge',
      help: 'Guest memory used by the page cache, libvirt balloon.disk_caches converted from KiB.',
    },
  }),
  row({
    key: 'balloon_hugetlb_pgalloc',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.hugetlb_pgalloc',
    rawUnit: 'count',
    read: (s) => s.stats.balloon?.hugetlbPgalloc,
    prometheus: {
      name: 'libvirt_domain_memory_stats_hugetlb_page_allocations_total',
      type: 'counter',
      help: 'Successful huge page allocations in the guest, libvirt balloon.hugetlb_pgalloc.',
    },
    inovexAlias: {
      name: 'libvirt_domain_memory_stats_hugetlb_pgalloc_total',
      type: 'gauge',
      help: 'Deprecated inovex-compatible alias of libvirt_domain_memory_stats_hugetlb_page_allocations_total (typed gauge).',
    },
  }),
  row({
    key: 'balloon_hugetlb_pgfail',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.hugetlb_pgfail',
    rawUnit: 'count',
    read: (s) => s.stats.balloon?.hugetlbPgfail,
    prometheus: {
      name: 'libvirt_domain_memory_stats_hugetlb_page_allocation_failures_total',
      type: 'counter',
      help: 'Failed huge page allocations in the guest, libvirt balloon.hugetlb_pgfail.',
    },
    inovexAlias: {
      name: 'libvirt_domain_memory_stats_hugetlb_pgfail_total',
      type: 'gauge',
      help: 'Deprecated inovex-compatible alias of libvirt_domain_memory_stats_hugetlb_page_allocation_failures_total (typed gauge).',
    },
  }),
  row({
    key: 'balloon_rss',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.rss',
    rawUnit: 'KiB',
    read: (s) => s.stats.balloon?.rssKiB,
    prometheus: {
      name: 'libvirt_domain_memory_stats_rss_bytes',
      type: 'gauge',
      help: 'Resident memory of the QEMU process on the host, libvirt balloon.rss converted from KiB.',
    },
    ceilometer: { name: 'memory.resident', type: 'gauge', unit: 'MB', float: true, convert: kibToMB },
  }),
  row({
    key: 'balloon_last_update',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.last-update',
    rawUnit: 'seconds',
    // NOTE: 0 means the guest never sent statistics: unknown, so absent.
    read: (s) => (s.stats.balloon?.lastUpdateSeconds ? s.stats.balloon.lastUpdateSeconds : undefined),
    prometheus: {
      name: 'libvirt_domain_memory_stats_last_update_timestamp_seconds',
      type: 'gauge',
      help: 'When the guest last updated its memory statistics, libvirt balloon.last-update (seconds since the epoch).',
    },
  }),
  row({
    key: 'memory_used',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.available - balloon.usable (else - balloon.unused)',
    rawUnit: 'KiB',
    read: (s) => memoryUsedKiB(s.stats),
    prometheus: {
      name: 'libvirt_domain_memory_stats_used_bytes',
      type: 'gauge',
      help: 'Guest memory in use, libvirt balloon.available minus balloon.usable (or balloon.unused), converted from KiB.',
    },
    ceilometer: { name: 'memory.usage', type: 'gauge', unit: 'MB', float: true, convert: kibToMB },
  }),
  row({
    key: 'memory_used_ratio',
    scope: 'domain',
    collector: 'memory',
    source: '(balloon.available - balloon.usable) / balloon.available',
    rawUnit: 'count',
    read: (s) => {
      const used = memoryUsedKiB(s.stats);
      const total = s.stats.balloon?.availableKiB;
      return used === undefined || !total ? undefined : used / total;
    },
    prometheus: {
      name: 'libvirt_domain_memory_stats_used_ratio',
      type: 'gauge',
      help: 'Share of guest memory in use (0 to 1), from libvirt balloon.available and balloon.usable.',
    },
    inovexAlias: {
      name: 'libvirt_domain_memory_stats_used_percent',
      type: 'gauge',
      help: 'Deprecated inovex-compatible alias of libvirt_domain_memory_stats_used_ratio, in percent.',
    },
    inovexScale: 100,
  }),
] as const;

/** Per-vCPU rows. */
export const vcpuRows = [
  row({
    key: 'vcpu_state',
    scope: 'vcpu',
    collector: 'vcpu',
    source: 'vcpu.<n>.state',
    rawUnit: 'code',
    read: (s) => s.vcpu.state,
    prometheus: {
      name: 'libvirt_domain_vcpu_state',
      type: 'gauge',
      help: 'State of the vCPU, libvirt vcpu.<n>.state (0 offline, 1 running, 2 blocked).',
    },
  }),
  row({
    key: 'vcpu_time',
    scope: 'vcpu',
    collector: 'vcpu',
    source: 'vcpu.<n>.time',
    rawUnit: 'ns',
    read: (s) => s.vcpu.timeNs,
    prometheus: {
      name: 'libvirt_domain_vcpu_time_seconds_total',
      type: 'counter',
      help: 'Time the vCPU ran on a host CPU, libvirt vcpu.<n>.time converted from ns.',
    },
  }),
  row({
    key: 'vcpu_wait',
    scope: 'vcpu',
    collector: 'vcpu',
    source: 'vcpu.<n>.wait',
    rawUnit: 'ns',
    read: (s) => s.vcpu.waitNs,
    prometheus: {
      name: 'libvirt_domain_vcpu_wait_seconds_total',
      type: 'counter',
      help: 'Time the vCPU waited on I/O outside the guest, libvirt vcpu.<n>.wait converted from ns.',
    },
  }),
  row({
    key: 'vcpu_delay',
    scope: 'vcpu',
    collector: 'vcpu',
    source: 'vcpu.<n>.delay',
    rawUnit: 'ns',
    read: (s) => s.vcpu.delayNs,
    prometheus: {
      name: 'libvirt_domain_vcpu_delay_seconds_total',
      type: 'counter',
      help: 'Time the vCPU was runnable but waited for a host CPU (steal), libvirt vcpu.<n>.delay converted from ns.',
    },
  }),
] as const;

/** Per-disk rows. */
export const diskRows = [
  row({
    key: 'disk_read_requests',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.rd.reqs',
    rawUnit: 'count',
    read: (s) => s.block.readRequests,
    prometheus: {
      name: 'libvirt_domain_block_stats_read_requests_total',
      type: 'counter',
      help: 'Read requests completed by the disk, libvirt block.<n>.rd.reqs.',
    },
    ceilometer: {
      name: 'disk.device.read.requests',
      type: 'cumulative',
      unit: 'request',
      float: false,
      convert: same,
    },
  }),
  row({
    key: 'disk_read_bytes',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.rd.bytes',
    rawUnit: 'bytes',
    read: (s) => s.block.readBytes,
    prometheus: {
      name: 'libvirt_domain_block_stats_read_bytes_total',
      type: 'counter',
      help: 'Bytes read from the disk, libvirt block.<n>.rd.bytes.',
    },
    ceilometer: {
      name: 'disk.device.read.bytes',
      type: 'cumulative',
      unit: 'B',
      float: false,
      convert: same,
    },
  }),
  row({
    key: 'disk_read_time',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.rd.times',
    rawUnit: 'ns',
    read: (s) => s.block.readTimeNs,
    prometheus: {
      name: 'libvirt_domain_block_stats_read_time_seconds_total',
      type: 'counter',
      help: 'Time spent on reads of the disk, libvirt block.<n>.rd.times converted from ns.',
    },
    ceilometer: {
      name: 'disk.device.read.latency',
      type: 'cumulative',
      unit: 'ns',
      float: false,
      convert: same,
    },
  }),
  row({
    key: 'disk_write_requests',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.wr.reqs',
    rawUnit: 'count',
    read: (s) => s.block.writeRequests,
    prometheus: {
      name: 'libvirt_domain_block_stats_write_requests_total',
      type: 'counter',
      help: 'Write requests completed by the disk, libvirt block.<n>.wr.reqs.',
    },
    ceilometer: {
      name: 'disk.device.write.requests',
      type: 'cumulative',
      unit: 'request',
      float: false,
      convert: same,
    },
  }),
  row({
    key: 'disk_write_bytes',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.wr.bytes',
    rawUnit: 'bytes',
    read: (s) => s.block.writeBytes,
    prometheus: {
      name: 'libvirt_domain_block_stats_write_bytes_total',
      type: 'counter',
      help: 'Bytes written to the disk, libvirt block.<n>.wr.bytes.',
    },
    ceilometer: {
      name: 'disk.device.write.bytes',
      type: 'cumulative',
      unit: 'B',
      float: false,
      convert: same,
    },
  }),
  row({
    key: 'disk_write_time',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.wr.times',
    rawUnit: 'ns',
    read: (s) => s.block.writeTimeNs,
    prometheus: {
      name: 'libvirt_domain_block_stats_write_time_seconds_total',
      type: 'counter',
      help: 'Time spent on writes to the disk, libvirt block.<n>.wr.times converted from ns.',
    },
    ceilometer: {
      name: 'disk.device.write.latency',
      type: 'cumulative',
      unit: 'ns',
      float: false,
      convert: same,
    },
  }),
  row({
    key: 'disk_flush_requests',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.fl.reqs',
    rawUnit: 'count',
    read: (s) => s.block.flushRequests,
    prometheus: {
      name: 'libvirt_domain_block_stats_flush_requests_total',
      type: 'counter',
      help: 'Flush requests completed by the disk, libvirt block.<n>.fl.reqs.',
    },
  }),
  row({
    key: 'disk_flush_time',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.fl.times',
    rawUnit: 'ns',
    read: (s) => s.block.flushTimeNs,
    prometheus: {
      name: 'libvirt_domain_block_stats_flush_time_seconds_total',
      type: 'counter',
      help: 'Time spent on flushes of the disk, libvirt block.<n>.fl.times converted from ns.',
    },
  }),
  row({
    key: 'disk_errors',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.errors',
    rawUnit: 'count',
    read: (s) => s.block.errors,
    prometheus: {
      name: 'libvirt_domain_block_stats_errors_total',
      type: 'counter',
      help: 'I/O errors of the disk, libvirt block.<n>.errors (not reported by every hypervisor).',
    },
  }),
  row({
    key: 'disk_capacity',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.capacity',
    rawUnit: 'bytes',
    read: (s) => s.block.capacityBytes,
    prometheus: {
      name: 'libvirt_domain_block_stats_capacity_bytes',
      type: 'gauge',
      help: 'Logical size of the disk as the guest sees it, libvirt block.<n>.capacity.',
    },
  }),
  row({
    key: 'disk_capacity_ceilometer',
    scope: 'disk',
    collector: 'block',
    source: 'max(block.<n>.capacity, block.<n>.physical)',
    rawUnit: 'bytes',
    read: (s) =>
      s.block.capacityBytes === undefined && s.block.physicalBytes === undefined
        ? undefined
        : Math.max(s.block.capacityBytes ?? 0, s.block.physicalBytes ?? 0),
    ceilometer: { name: 'disk.device.capacity', type: 'gauge', unit: 'B', float: false, convert: same },
  }),
  row({
    key: 'disk_allocation',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.allocation',
    rawUnit: 'bytes',
    read: (s) => s.block.allocationBytes,
    prometheus: {
      name: 'libvirt_domain_block_stats_allocation_bytes',
      type: 'gauge',
      help: 'Highest allocated extent of the disk image on the host, libvirt block.<n>.allocation.',
    },
    ceilometer: { name: 'disk.device.allocation', type: 'gauge', unit: 'B', float: false, convert: same },
  }),
  row({
    key: 'disk_physical',
    scope: 'disk',
    collector: 'block',
    source: 'block.<n>.physical',
    rawUnit: 'bytes',
    read: (s) => s.block.physicalBytes,
    prometheus: {
      name: 'libvirt_domain_block_stats_physical_bytes',
      type: 'gauge',
      help: 'Physical size of the disk image on the host, libvirt block.<n>.physical.',
    },
    ceilometer: { name: 'disk.device.usage', type: 'gauge', unit: 'B', float: false, convert: same },
  }),
] as const;

/** Per-vNIC rows; libvirt reports them from the guest's point of view (rx = received by the guest). */
export const vnicRows = [
  ...(
    [
      ['receive', 'rx', 'incoming'],
      ['transmit', 'tx', 'outgoing'],
    ] as const
  ).flatMap(([dir, short, ceilo]) => [
    row({
      key: `vnic_${short}_bytes`,
      scope: 'vnic',
      collector: 'interface',
      source: `net.<n>.${short}.bytes`,
      rawUnit: 'bytes',
      read: (s) => (short === 'rx' ? s.iface.rxBytes : s.iface.txBytes),
      prometheus: {
        name: `libvirt_domain_interface_stats_${dir}_bytes_total`,
        type: 'counter',
        help: `Bytes ${dir === 'receive' ? 'received' : 'transmitted'} by the guest on the vNIC, libvirt net.<n>.${short}.bytes.`,
      },
      ceilometer: {
        name: `network.${ceilo}.bytes`,
        type: 'cumulative',
        unit: 'B',
        float: false,
        convert: same,
      },
    }),
    row({
      key: `vnic_${short}_packets`,
      scope: 'vnic',
      collector: 'interface',
      source: `net.<n>.${short}.pkts`,
      rawUnit: 'count',
      read: (s) => (short === 'rx' ? s.iface.rxPackets : s.iface.txPackets),
      prometheus: {
        name: `libvirt_domain_interface_stats_${dir}_packets_total`,
        type: 'counter',
        help: `Packets ${dir === 'receive' ? 'received' : 'transmitted'} by the guest on the vNIC, libvirt net.<n>.${short}.pkts.`,
      },
      ceilometer: {
        name: `network.${ceilo}.packets`,
        type: 'cumulative',
        unit: 'packet',
        float: false,
        convert: same,
      },
    }),
    row({
      key: `vnic_${short}_errors`,
      scope: 'vnic',
      collector: 'interface',
      source: `net.<n>.${short}.errs`,
      rawUnit: 'count',
      read: (s) => (short === 'rx' ? s.iface.rxErrors : s.iface.txErrors),
      prometheus: {
        name: `libvirt_domain_interface_stats_${dir}_errors_total`,
        type: 'counter',
        help: `Packet errors on ${dir} at the vNIC, libvirt net.<n>.${short}.errs.`,
      },
      ceilometer: {
        name: `network.${ceilo}.packets.error`,
        type: 'cumulative',
        unit: 'packet',
        float: false,
        convert: same,
      },
    }),
    row({
      key: `vnic_${short}_drops`,
      scope: 'vnic',
      collector: 'interface',
      source: `net.<n>.${short}.drop`,
      rawUnit: 'count',
      read: (s) => (short === 'rx' ? s.iface.rxDrops : s.iface.txDrops),
      prometheus: {
        name: `libvirt_domain_interface_stats_${dir}_drops_total`,
        type: 'counter',
        help: `Packets dropped on ${dir} at the vNIC, libvirt net.<n>.${short}.drop.`,
      },
      ceilometer: {
        name: `network.${ceilo}.packets.drop`,
        type: 'cumulative',
        unit: 'packet',
        float: false,
        convert: same,
      },
    }),
  ]),
];

/** Every row of the table, by scope. */
export const meterTable = {
  domain: domainRows as readonly MeterRow<'domain'>[],
  vcpu: vcpuRows as readonly MeterRow<'vcpu'>[],
  disk: diskRows as readonly MeterRow<'disk'>[],
  vnic: vnicRows as readonly MeterRow<'vnic'>[],
} as const;

/**
 * A family read outside the bulk stats: the guest's cgroup files (pressure), the guest agent
 * (guest_agent) and libvirt's domain events (events). Declared here with its source and raw unit, as
 * the rows above are; its collector reads its name, type and HELP from here.
 */
export interface SideFamily {
  readonly key: string;
  readonly collector: 'pressure' | 'guest_agent' | 'events';
  /** Where the value comes from (file, agent field or event), for HELP text and docs. */
  readonly source: string;
  readonly rawUnit: RawUnit;
  /**
   * Labels before `extraLabels`: `identity` = the domain labels of every per-domain series (`domain`
   * plus the configured identity labels), `domain` = the domain name only (kept after the domain is
   * gone), `none` = not per domain.
   */
  readonly domainLabels: 'identity' | 'domain' | 'none';
  readonly extraLabels: readonly string[];
  readonly prometheus: PrometheusMetric;
}

const psi = (resource: 'cpu' | 'memory' | 'io', kind: 'some' | 'full'): SideFamily => {
  const what = { cpu: 'CPU', memory: 'memory', io: 'I/O' }[resource];
  const waiting = kind === 'some';
  return {
    key: `pressure_${resource}_${waiting ? 'waiting' : 'stalled'}`,
    collector: 'pressure',
    source: `${resource}.pressure ${kind} total`,
    rawUnit: 'us',
    domainLabels: 'identity',
    extraLabels: [],
    prometheus: {
      name: `libvirt_domain_pressure_${resource}_${waiting ? 'waiting' : 'stalled'}_seconds_total`,
      type: 'counter',
      help: waiting
        ? `Time at least one task of the guest's QEMU waited for ${what} on the host (PSI "some" total of ${resource}.pressure in the guest's cgroup v2 directory), converted from µs.`
        : `Time all non-idle tasks of the guest's QEMU were stalled on ${what} at once (PSI "full" total of ${resource}.pressure in the guest's cgroup v2 directory), converted from µs.`,
    },
  };
};

/** Families of the pressure, guest_agent and events collectors. */
export const sideFamilies: readonly SideFamily[] = [
  psi('cpu', 'some'),
  psi('cpu', 'full'),
  psi('memory', 'some'),
  psi('memory', 'full'),
  psi('io', 'some'),
  psi('io', 'full'),
  {
    key: 'cpu_throttled',
    collector: 'pressure',
    source: 'cpu.stat throttled_usec',
    rawUnit: 'us',
    domainLabels: 'identity',
    extraLabels: [],
    prometheus: {
      name: 'libvirt_domain_cpu_throttled_seconds_total',
      type: 'counter',
      help: "Time the guest's QEMU was throttled by its CPU quota (cpu.stat throttled_usec of its cgroup v2 directory, when cpu.max sets a quota), converted from µs.",
    },
  },
  {
    key: 'cpu_throttled_periods',
    collector: 'pressure',
    source: 'cpu.stat nr_throttled',
    rawUnit: 'count',
    domainLabels: 'identity',
    extraLabels: [],
    prometheus: {
      name: 'libvirt_domain_cpu_throttled_periods_total',
      type: 'counter',
      help: "Quota periods in which the guest's QEMU was throttled (cpu.stat nr_throttled of its cgroup v2 directory, when cpu.max sets a quota).",
    },
  },
  {
    key: 'filesystem_size',
    collector: 'guest_agent',
    source: 'virDomainGetGuestInfo fs.<n>.total-bytes',
    rawUnit: 'bytes',
    domainLabels: 'identity',
    extraLabels: ['mountpoint', 'fstype', 'device'],
    prometheus: {
      name: 'libvirt_domain_filesystem_size_bytes',
      type: 'gauge',
      help: 'Size of a filesystem mounted in the guest, from the QEMU guest agent (virDomainGetGuestInfo fs.<n>.total-bytes).',
    },
  },
  {
    key: 'filesystem_used',
    collector: 'guest_agent',
    source: 'virDomainGetGuestInfo fs.<n>.used-bytes',
    rawUnit: 'bytes',
    domainLabels: 'identity',
    extraLabels: ['mountpoint', 'fstype', 'device'],
    prometheus: {
      name: 'libvirt_domain_filesystem_used_bytes',
      type: 'gauge',
      help: 'Space used on a filesystem mounted in the guest, from the QEMU guest agent (virDomainGetGuestInfo fs.<n>.used-bytes).',
    },
  },
  {
    key: 'guest_os_info',
    collector: 'guest_agent',
    source: 'virDomainGetGuestInfo hostname, os.*',
    rawUnit: 'count',
    domainLabels: 'identity',
    extraLabels: ['hostname', 'os_id', 'os_name', 'os_pretty_name', 'os_version_id', 'kernel_release', 'machine'],
    prometheus: {
      name: 'libvirt_domain_guest_os_info',
      type: 'gauge',
      help: "The guest's own hostname and OS, from the QEMU guest agent (virDomainGetGuestInfo hostname, os.id, os.name, os.pretty-name, os.version-id, os.kernel-release, os.machine): value 1.",
    },
  },
  {
    key: 'guest_agent_skipped',
    collector: 'guest_agent',
    source: 'virDomainGetGuestInfo errors',
    rawUnit: 'count',
    domainLabels: 'none',
    extraLabels: ['reason'],
    prometheus: {
      name: 'libvirt_guest_agent_skipped_domains',
      type: 'gauge',
      help: 'Running guests whose agent was not read this scrape, by reason: not_configured (no agent channel), unresponsive (agent not running or not answering), timeout (scrape deadline), error.',
    },
  },
  {
    key: 'domain_events',
    collector: 'events',
    source: 'libvirt domain events: lifecycle (detail as named by libvirt), io-error-reason (detail: reason), watchdog (detail: action)',
    rawUnit: 'count',
    domainLabels: 'domain',
    extraLabels: ['event', 'detail'],
    prometheus: {
      name: 'libvirt_domain_events_total',
      type: 'counter',
      help: 'Domain events since the exporter started: lifecycle events (event started, suspended, resumed, stopped, shutdown, crashed, defined, undefined, pmsuspended, with libvirt\'s detail: booted, ioerror, watchdog, destroyed, crashed, failed, migrated, …), io_error (detail: QEMU\'s reason, e.g. enospc) and watchdog (detail: the action). Kept for collectors.events.retention after the domain disappears.',
    },
  },
];

/** The side family of `key`; throws for an unknown key (a programming error). */
export function sideFamily(key: string): SideFamily {
  const f = sideFamilies.find((x) => x.key === key);
  if (f === undefined) throw new Error(`no side family ${key}`);
  return f;
}
