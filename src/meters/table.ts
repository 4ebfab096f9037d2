// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The meter table: every numeric quantity this project reads from a domain's bulk stats, per domain,
 * vCPU, disk or vNIC, once, with its libvirt field and raw unit, and how each output names and converts
 * it. The Prometheus collectors (cpu, vcpu, memory, block, interface, dirtyrate) and the Ceilometer
 * publisher both read this table, so a quantity cannot mean one thing on /metrics and another on AMQP.
 * The families read elsewhere (domain description, host, pools, jobs, cgroups, agent, events, the
 * scrape) are declared next to it in src/meters/; src/meters/index.ts lists them all.
 *
 * Rows read raw values only (the field names of the inspector records say the unit); conversion to
 * Prometheus base units or to Ceilometer's units happens here, at the edge, through `toBase` and
 * `ceilometer.convert`. A row's HELP is derived from its `source` and `rawUnit` (src/meters/family.ts).
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
import { deriveHelp, type HelpSpec, type PrometheusMetric } from './family.ts';
import type { CollectorName } from './names.ts';
import type { RawUnit } from './units.ts';

export type { PrometheusMetric } from './family.ts';
export { toBase, type RawUnit } from './units.ts';
export { sideFamilies, sideFamily, type SideFamily } from './side.ts';

/** What a row is measured on; decides the labels (Prometheus) and the resource id (Ceilometer). */
export type Scope = 'domain' | 'vcpu' | 'disk' | 'vnic';

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
  /** The Prometheus collector that serves it. */
  readonly collector: CollectorName;
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

/**
 * Why inovex's name is kept as an alias: it types a `cumulative` value or a `count` as a gauge, or
 * serves a ratio in `percent`. The alias is always a gauge; its HELP names the correct metric.
 */
type AliasKind = 'cumulative' | 'count' | 'percent';

const ALIAS_NOTE: Readonly<Record<AliasKind, string>> = {
  cumulative: ' (cumulative, typed gauge)',
  count: ' (typed gauge)',
  percent: ', in percent',
};

/** A row as written below: HELP derived from `source` and `rawUnit`, the alias from its kind. */
type RowInput<S extends Scope> = Omit<MeterRow<S>, 'prometheus' | 'inovexAlias' | 'inovexScale'> & {
  readonly prometheus?: {
    readonly name: string;
    readonly type: 'counter' | 'gauge';
    readonly help: HelpSpec;
  };
  readonly inovexAlias?: { readonly name: string; readonly kind: AliasKind };
};

function row<S extends Scope>(r: RowInput<S>): MeterRow<S> {
  const { prometheus: p, inovexAlias: a, ...rest } = r;
  const prometheus = p && { name: p.name, type: p.type, help: deriveHelp(r.source, r.rawUnit, p.help) };
  if (a === undefined || prometheus === undefined) return prometheus ? { ...rest, prometheus } : rest;
  return {
    ...rest,
    prometheus,
    inovexAlias: {
      name: a.name,
      type: 'gauge',
      help: `Deprecated inovex-compatible alias of ${prometheus.name}${ALIAS_NOTE[a.kind]}.`,
    },
    ...(a.kind === 'percent' ? { inovexScale: 100 } : {}),
  };
}

const kibToMB = (raw: number): number => raw / 1024;
const same = (raw: number): number => raw;

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
      help: { about: 'CPU time used by the domain (vCPUs and emulator threads)' },
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
      help: { about: 'User-mode CPU time of the domain on the host' },
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
      help: { about: 'Kernel-mode CPU time of the domain on the host' },
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
      help: { about: 'Number of vCPUs currently online in the domain' },
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
      help: { about: 'Maximum number of vCPUs of the domain' },
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
      help: { about: 'Memory currently given to the domain by the balloon' },
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
      help: { about: 'Maximum memory the balloon can give the domain' },
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
      help: { about: 'Memory the guest swapped in since it booted' },
    },
    inovexAlias: { name: 'libvirt_domain_memory_stats_swap_in_bytes', kind: 'cumulative' },
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
      help: { about: 'Memory the guest swapped out since it booted' },
    },
    inovexAlias: { name: 'libvirt_domain_memory_stats_swap_out_bytes', kind: 'cumulative' },
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
      help: { about: 'Page faults in the guest that needed disk I/O' },
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
      help: { about: 'Page faults in the guest served without disk I/O' },
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
      help: { about: 'Memory the guest leaves unused (MemFree)' },
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
      help: { about: 'Memory the guest sees as total (MemTotal)' },
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
      help: { about: 'Memory the guest could use without swapping (MemAvailable)' },
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
      help: { about: 'Guest memory used by the page cache' },
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
      help: { about: 'Successful huge page allocations in the guest' },
    },
    inovexAlias: { name: 'libvirt_domain_memory_stats_hugetlb_pgalloc_total', kind: 'count' },
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
      help: { about: 'Failed huge page allocations in the guest' },
    },
    inovexAlias: { name: 'libvirt_domain_memory_stats_hugetlb_pgfail_total', kind: 'count' },
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
      help: { about: 'Resident memory of the QEMU process on the host' },
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
      help: { about: 'When the guest last updated its memory statistics', note: 'seconds since the epoch' },
    },
  }),
  row({
    key: 'memory_used',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.available minus balloon.usable',
    rawUnit: 'KiB',
    read: (s) => memoryUsedKiB(s.stats),
    prometheus: {
      name: 'libvirt_domain_memory_stats_used_bytes',
      type: 'gauge',
      help: { about: 'Guest memory in use', note: 'or balloon.unused' },
    },
    ceilometer: { name: 'memory.usage', type: 'gauge', unit: 'MB', float: true, convert: kibToMB },
  }),
  row({
    key: 'memory_used_ratio',
    scope: 'domain',
    collector: 'memory',
    source: 'balloon.available and balloon.usable',
    rawUnit: 'count',
    read: (s) => {
      const used = memoryUsedKiB(s.stats);
      const total = s.stats.balloon?.availableKiB;
      return used === undefined || !total ? undefined : used / total;
    },
    prometheus: {
      name: 'libvirt_domain_memory_stats_used_ratio',
      type: 'gauge',
      help: { template: 'Share of guest memory in use (0 to 1), from libvirt {source}.' },
    },
    inovexAlias: { name: 'libvirt_domain_memory_stats_used_percent', kind: 'percent' },
  }),
  row({
    key: 'dirtyrate',
    scope: 'domain',
    collector: 'dirtyrate',
    source: 'dirtyrate.megabytes_per_second',
    rawUnit: 'MiB/s',
    // Only a finished calculation (calc_status 2, measured) has a meaningful rate.
    read: (s) => (s.stats.dirtyRate?.calcStatus === 2 ? s.stats.dirtyRate.megabytesPerSecond : undefined),
    prometheus: {
      name: 'libvirt_domain_dirtyrate_bytes_per_second',
      type: 'gauge',
      help: { about: 'Memory dirty rate of the last calculation' },
    },
  }),
  row({
    key: 'dirtyrate_status',
    scope: 'domain',
    collector: 'dirtyrate',
    source: 'dirtyrate.calc_status',
    rawUnit: 'code',
    read: (s) => s.stats.dirtyRate?.calcStatus,
    prometheus: {
      name: 'libvirt_domain_dirtyrate_calculation_status',
      type: 'gauge',
      help: {
        about: 'Status of the last dirty-rate calculation',
        codes: ['unstarted', 'measuring', 'measured'],
      },
    },
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
      help: { about: 'State of the vCPU', codes: ['offline', 'running', 'blocked'] },
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
      help: { about: 'Time the vCPU ran on a host CPU' },
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
      help: { about: 'Time the vCPU waited on I/O outside the guest' },
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
      help: { about: 'Time the vCPU was runnable but waited for a host CPU (steal)' },
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
      help: { about: 'Read requests completed by the disk' },
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
      help: { about: 'Bytes read from the disk' },
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
      help: { about: 'Time spent on reads of the disk' },
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
      help: { about: 'Write requests completed by the disk' },
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
      help: { about: 'Bytes written to the disk' },
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
      help: { about: 'Time spent on writes to the disk' },
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
      help: { about: 'Flush requests completed by the disk' },
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
      help: { about: 'Time spent on flushes of the disk' },
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
      help: { about: 'I/O errors of the disk', note: 'not reported by every hypervisor' },
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
      help: { about: 'Logical size of the disk as the guest sees it' },
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
      help: { about: 'Highest allocated extent of the disk image on the host' },
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
      help: { about: 'Physical size of the disk image on the host' },
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
        help: { about: `Bytes ${dir === 'receive' ? 'received' : 'transmitted'} by the guest on the vNIC` },
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
        help: { about: `Packets ${dir === 'receive' ? 'received' : 'transmitted'} by the guest on the vNIC` },
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
        help: { about: `Packet errors on ${dir} at the vNIC` },
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
        help: { about: `Packets dropped on ${dir} at the vNIC` },
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
