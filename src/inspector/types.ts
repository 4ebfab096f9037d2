// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Records returned by the inspector. Field names carry libvirt's raw units (`timeNs`, `currentKiB`,
 * `readBytes`); conversion to base units (Prometheus) or Ceilometer's units happens only at the edges
 * (collectors, meter table). A value libvirt did not report is `undefined`, never 0.
 */

import type { ClientEventName, ConnectionAnomalyKind, NodeInfo } from '../libvirt/index.ts';
import type { GuestPressure } from './cgroups.ts';
import type { DomainEventCount } from './events.ts';
import type { GuestInfoResult } from './guest-agent.ts';

/** libvirt's virDomainState, by name. */
export type DomainStateName =
  'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended';

/** A disk of a domain, from `<devices><disk>` of its XML. Disks without a source are not listed. */
export interface DiskDevice {
  /** `<target dev>`: vda, sda, hdc… */
  readonly target: string;
  /** `<disk device>`: disk, cdrom, floppy, lun. */
  readonly device: string;
  /** `<disk type>`: file, block, network, volume, dir. */
  readonly type: string;
  readonly bus?: string;
  /** `<source file>` (type file). */
  readonly sourceFile?: string;
  /** `<source dev>` (type block). */
  readonly sourceDev?: string;
  /** `<source protocol>` (type network: rbd, iscsi, nbd…). */
  readonly sourceProtocol?: string;
  /** `<source name>` (type network: pool/volume). */
  readonly sourceName?: string;
  /** `<source pool>`/`<source volume>` (type volume), as `pool/volume`. */
  readonly sourceVolume?: string;
  readonly driverName?: string;
  readonly driverType?: string;
  readonly driverCache?: string;
  readonly driverDiscard?: string;
  readonly serial?: string;
}

/** A vNIC of a domain, from `<devices><interface>` of its XML. */
export interface Vnic {
  /** `<interface type>`: bridge, ethernet, network, direct, vhostuser, hostdev… */
  readonly type: string;
  /** `<target dev>`: the host-side tap; libvirt's `net.N.name`. Absent for some types (hostdev). */
  readonly targetDev?: string;
  readonly mac?: string;
  readonly model?: string;
  readonly sourceBridge?: string;
  readonly sourceNetwork?: string;
  readonly sourceDev?: string;
  readonly mtu?: number;
  /** `<filterref filter>` and its `<parameter name value>` pairs (Nova's nwfilter, Ceilometer metadata). */
  readonly filterRef?: { readonly filter: string; readonly parameters: Readonly<Record<string, string>> };
  /** `<virtualport><parameters interfaceid>`: the Neutron port id on OVS. */
  readonly interfaceId?: string;
}

/** A Nova flavor as written into the domain's metadata. */
export interface NovaFlavor {
  readonly name?: string;
  /** Nova 2025.2 and later write the flavor id. */
  readonly id?: string;
  readonly memoryMiB?: number;
  readonly diskGiB?: number;
  readonly swapMiB?: number;
  readonly ephemeralGiB?: number;
  readonly vcpus?: number;
  /** `<nova:extraSpecs><nova:extraSpec name>` (Nova 2025.2 and later); empty when absent. */
  readonly extraSpecs: Readonly<Record<string, string>>;
}

/** The OpenStack identity Nova writes into `<metadata><nova:instance>`. */
export interface NovaMetadata {
  /** Which namespace was found: `http://openstack.org/xmlns/libvirt/nova/<version>`. */
  readonly namespaceVersion: '1.1' | '1.0';
  readonly packageVersion?: string;
  /** `<nova:name>`: the display name. */
  readonly displayName?: string;
  /** `<nova:creationTime>` as written (`YYYY-MM-DD HH:MM:SS`, UTC). */
  readonly creationTime?: string;
  /** The same as seconds since the epoch. */
  readonly creationTimestampSeconds?: number;
  readonly flavor?: NovaFlavor;
  readonly userId?: string;
  readonly userName?: string;
  readonly projectId?: string;
  readonly projectName?: string;
  /** `<nova:root type uuid>`: `image` or `volume`, and its UUID. */
  readonly rootType?: string;
  readonly rootUuid?: string;
  /** Image properties from `<nova:image>` (newer Nova), raw strings. */
  readonly image?: Readonly<Record<string, string>>;
}

/** What a domain's XML says: identity, OS, devices, Nova metadata. Cached until the domain changes. */
export interface DomainDescription {
  readonly name: string;
  readonly uuid: string;
  /** `<domain type>`: qemu, kvm. */
  readonly hypervisorType: string;
  readonly title?: string;
  readonly osType?: string;
  readonly osArch?: string;
  readonly osMachine?: string;
  /** `<memory>` in KiB (maximum). */
  readonly maxMemoryKiB?: number;
  /** `<currentMemory>` in KiB. */
  readonly currentMemoryKiB?: number;
  /** `<vcpu>` (the maximum). */
  readonly maxVcpus?: number;
  /** `<vcpu current>`, or `<vcpu>` when absent. */
  readonly vcpus?: number;
  readonly disks: readonly DiskDevice[];
  readonly vnics: readonly Vnic[];
  readonly nova?: NovaMetadata;
}

/** A domain known to libvirt (running, paused or shut off), with its description and state. */
export interface Instance extends DomainDescription {
  /** libvirt's domain id; -1 when the domain is not running. */
  readonly id: number;
  readonly state: DomainStateName;
  /** virDomainState number. */
  readonly stateCode: number;
  /** The state's reason code (virDomainRunningReason, virDomainPausedReason, …). */
  readonly stateReason: number;
}

/** `cpu.*` of the bulk stats call. */
export interface CpuStats {
  readonly timeNs?: number;
  readonly userNs?: number;
  readonly systemNs?: number;
  readonly haltpollSuccessNs?: number;
  readonly haltpollFailNs?: number;
}

/** `balloon.*`: KiB unless the name says otherwise. Guest statistics need a balloon driver in the guest. */
export interface BalloonStats {
  readonly currentKiB?: number;
  readonly maximumKiB?: number;
  readonly swapInKiB?: number;
  readonly swapOutKiB?: number;
  readonly majorFaults?: number;
  readonly minorFaults?: number;
  readonly unusedKiB?: number;
  readonly availableKiB?: number;
  readonly usableKiB?: number;
  readonly diskCachesKiB?: number;
  readonly hugetlbPgalloc?: number;
  readonly hugetlbPgfail?: number;
  readonly rssKiB?: number;
  /** `balloon.last-update`: epoch seconds of the guest's last statistics update; 0 means never. */
  readonly lastUpdateSeconds?: number;
}

/** `vcpu.N.*`. */
export interface VcpuStats {
  readonly index: number;
  /** virVcpuState: 0 offline, 1 running, 2 blocked. */
  readonly state?: number;
  readonly timeNs?: number;
  readonly waitNs?: number;
  /** Time the vCPU was runnable but waited for a host CPU (steal, seen from the guest). */
  readonly delayNs?: number;
  readonly halted?: boolean;
}

/** `net.N.*`, from the guest's point of view for tap devices (rx = received by the guest). */
export interface InterfaceStats {
  readonly index: number;
  readonly name: string;
  readonly rxBytes?: number;
  readonly rxPackets?: number;
  readonly rxErrors?: number;
  readonly rxDrops?: number;
  readonly txBytes?: number;
  readonly txPackets?: number;
  readonly txErrors?: number;
  readonly txDrops?: number;
}

/** `block.N.*`. */
export interface BlockStats {
  readonly index: number;
  /** The target device (vda). */
  readonly name: string;
  readonly path?: string;
  /** `block.<n>.backingIndex`: the image's index in libvirt's backing chain (the top image has one too). */
  readonly backingIndex?: number;
  readonly readRequests?: number;
  readonly readBytes?: number;
  readonly readTimeNs?: number;
  readonly writeRequests?: number;
  readonly writeBytes?: number;
  readonly writeTimeNs?: number;
  readonly flushRequests?: number;
  readonly flushTimeNs?: number;
  readonly errors?: number;
  readonly allocationBytes?: number;
  readonly capacityBytes?: number;
  readonly physicalBytes?: number;
  readonly thresholdBytes?: number;
}

/** `dirtyrate.*`. */
export interface DirtyRateStats {
  readonly calcStatus?: number;
  readonly calcStartTimeSeconds?: number;
  readonly calcPeriodSeconds?: number;
  readonly megabytesPerSecond?: number;
  readonly calcMode?: string;
}

/** A raw typed-parameter value as libvirt sent it (64-bit integers as bigint). */
export type RawStatValue = number | bigint | string | boolean;

/** What one domain's bulk stats record held, decoded by group. */
export interface DomainStats {
  readonly uuid: string;
  readonly name: string;
  readonly id: number;
  readonly stateCode?: number;
  readonly stateReason?: number;
  readonly cpu?: CpuStats;
  readonly balloon?: BalloonStats;
  readonly vcpuCurrent?: number;
  readonly vcpuMaximum?: number;
  readonly vcpus: readonly VcpuStats[];
  readonly interfaces: readonly InterfaceStats[];
  readonly blocks: readonly BlockStats[];
  /** `perf.*` counters by event name (cpu_cycles, instructions, cache_misses…). */
  readonly perf: Readonly<Record<string, number>>;
  readonly dirtyRate?: DirtyRateStats;
  /** Every typed parameter of the record, unchanged, for fields not decoded above. */
  readonly raw: ReadonlyMap<string, RawStatValue>;
}

/**
 * Why a running domain's stats are incomplete or missing in this cycle.
 * - `busy`: libvirt answered without the groups that need the domain's job (NOWAIT: a migration,
 *   a shutdown or a stuck QEMU monitor holds it); the record is partial.
 * - `timeout`: the bulk call holding this domain did not answer before the deadline; no record.
 * - `error`: the bulk call holding this domain failed; no record.
 */
export type SkipReason = 'busy' | 'timeout' | 'error';

/** A domain whose stats are partial or missing in this cycle, never dropped silently. */
export interface SkippedDomain {
  readonly uuid: string;
  readonly name: string;
  readonly reason: SkipReason;
  readonly message?: string;
}

/** Bit flags of the stats groups (virDomainStatsTypes). */
export type StatsGroup =
  'state' | 'cpu' | 'balloon' | 'vcpu' | 'interface' | 'block' | 'perf' | 'iothread' | 'memory' | 'dirtyrate';

/** One inspection cycle: every domain and the stats of the running ones. */
export interface Inspection {
  /** Every domain libvirt knows, in libvirt's order. */
  readonly instances: readonly Instance[];
  /** Stats by domain UUID; running and paused domains only (shut-off domains have no stats). */
  readonly stats: ReadonlyMap<string, DomainStats>;
  /** Domains whose stats are partial or missing this cycle. */
  readonly skipped: readonly SkippedDomain[];
  /** Wall-clock time of the cycle in seconds since the epoch (when the stats calls were sent). */
  readonly timestampSeconds: number;
  /** Duration of the cycle in seconds. */
  readonly durationSeconds: number;
  /** libvirt round trips this cycle (list, stats shards, XML of new or changed domains). */
  readonly roundTrips: number;
}

/**
 * The compute host, from node info and version calls: the node's counts as libvirt's `NodeInfo` has
 * them, its CPU model and memory under names that say what they are.
 */
export interface HostInfo extends Pick<NodeInfo, 'cpus' | 'mhz' | 'nodes' | 'sockets' | 'cores' | 'threads'> {
  readonly hostname: string;
  /** libvirt library version of the daemon, as major*1e6 + minor*1e3 + release. */
  readonly libvirtVersion: number;
  /** Hypervisor (QEMU) version in the same encoding. */
  readonly hypervisorVersion: number;
  /** Hypervisor driver type (`QEMU`). */
  readonly hypervisorType: string;
  readonly cpuModel: NodeInfo['model'];
  /** Total memory of the host in KiB. */
  readonly memoryKiB: NodeInfo['memory'];
}

/** A storage pool (virStoragePoolGetInfo); sizes in bytes. */
export interface StoragePoolInfo {
  readonly name: string;
  readonly uuid: string;
  /** virStoragePoolState: 0 inactive, 1 building, 2 running, 3 degraded, 4 inaccessible. */
  readonly state: number;
  readonly capacityBytes: number;
  readonly allocationBytes: number;
  readonly availableBytes: number;
}

/** A domain's current job (virDomainGetJobInfo): times in ms, sizes in bytes, as libvirt reports them. */
export interface JobInfo {
  /** virDomainJobType: 0 none, 1 bounded, 2 unbounded, 3 completed, 4 failed, 5 cancelled. */
  readonly type: number;
  readonly timeElapsedMs: number;
  readonly timeRemainingMs: number;
  readonly dataTotalBytes: number;
  readonly dataProcessedBytes: number;
  readonly dataRemainingBytes: number;
  readonly memoryTotalBytes: number;
  readonly memoryProcessedBytes: number;
  readonly memoryRemainingBytes: number;
  readonly fileTotalBytes: number;
  readonly fileProcessedBytes: number;
  readonly fileRemainingBytes: number;
}

/** Options every inspector call takes. */
export interface CallOptions {
  /** Aborts the call (deadline). A call never outlives its signal. */
  readonly signal?: AbortSignal;
}

/** Options of {@link Inspector.inspectAll}. */
export interface InspectOptions extends CallOptions {
  /** Stats groups to read; all groups the exporter knows by default. */
  readonly groups?: readonly StatsGroup[];
}

/** Cumulative counters of an inspector's libvirt connection, for the exporter's own metrics. */
export interface InspectorCounters {
  /** Inspection cycles run (a cycle shared by concurrent callers counts once). */
  readonly inspections: number;
  /** libvirt calls made. */
  readonly calls: number;
  /** libvirt calls that failed (libvirt errors, connection errors, deadlines). */
  readonly callErrors: number;
  /** Calls given up at their deadline while libvirt still held them. */
  readonly abandonedCalls: number;
  /** New connections after the first (libvirtd restarted, or a connection retired). */
  readonly reconnects: number;
  /** Calls in flight now, abandoned ones included. */
  readonly callsInFlight: number;
  /** What the client's connections dropped or survived, by kind (every kind, from 0). */
  readonly anomalies: Readonly<Record<ConnectionAnomalyKind, number>>;
  /** Exceptions of the client's event listeners (the inspector's event counting among them), by event. */
  readonly listenerErrors: Readonly<Record<ClientEventName, number>>;
}

/** Reads libvirt for every local instance: the contract between libvirt and every output. */
export interface Inspector {
  /** Every domain, running, paused or shut off, with its description and state. */
  listInstances(options?: CallOptions): Promise<readonly Instance[]>;
  /** Every domain and the bulk stats of the running ones, in a bounded number of round trips. */
  inspectAll(options?: InspectOptions): Promise<Inspection>;
  /** The compute host's identity and capacity. */
  hostInfo(options?: CallOptions): Promise<HostInfo>;
  /** Every storage pool with its state and sizes (one call per pool). */
  storagePools?(options?: CallOptions): Promise<readonly StoragePoolInfo[]>;
  /** The current job of each running domain (one call per domain: opt-in). */
  jobInfo?(instances: readonly Instance[], options?: CallOptions): Promise<ReadonlyMap<string, JobInfo>>;
  /**
   * The guest agent's view of each running domain (virDomainGetGuestInfo over the read-write socket at
   * `uri`, one call per guest), or why it was skipped.
   */
  guestInfo?(
    instances: readonly Instance[],
    options: CallOptions & { readonly uri: string },
  ): Promise<ReadonlyMap<string, GuestInfoResult>>;
  /** Domain events counted since the start (lifecycle, I/O error, watchdog), see {@link DomainEventCounts.snapshot}. */
  domainEvents?(present: ReadonlySet<string>, retentionMs: number): readonly DomainEventCount[];
  /** Pressure and throttling of each running domain's cgroup, by UUID, and whether cgroups are readable. */
  pressure?(
    instances: readonly Instance[],
    options: { readonly cgroupRoot?: string | undefined },
  ): { readonly unavailable?: string; readonly byUuid: ReadonlyMap<string, GuestPressure> };
  /**
   * Disk sizes of each shut-off instance (virDomainGetBlockInfo per disk: bulk stats cover running
   * domains only), by UUID, as block records with only `name`, capacity, allocation and physical.
   */
  stoppedDisks?(
    instances: readonly Instance[],
    options?: CallOptions,
  ): Promise<ReadonlyMap<string, readonly BlockStats[]>>;
  /** Whether the last call reached libvirt. */
  readonly connected: boolean;
  /** Cumulative counters, when the implementation keeps them. */
  counters?(): InspectorCounters;
  /** Closes the libvirt connection; later calls fail. */
  close(): Promise<void>;
}
