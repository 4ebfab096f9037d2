// SPDX-License-Identifier: Apache-2.0
/**
 * The values the remote procedures take and return (domains, stats records, host and domain info,
 * events), and the options every call takes.
 *
 * @packageDocumentation
 */
import type { TypedParam } from './xdr.ts';

/** A libvirt domain reference (`remote_nonnull_domain`). */
export interface Domain {
  readonly name: string;
  /** Canonical lower-case 8-4-4-4-12 UUID. */
  readonly uuid: string;
  /** Hypervisor id while running, -1 when inactive. */
  readonly id: number;
}

/** One record of virConnectGetAllDomainStats: a domain and its stats as typed parameters. */
export interface DomainStatsRecord {
  readonly domain: Domain;
  readonly params: readonly TypedParam[];
}

/** Host information of virNodeGetInfo. */
export interface NodeInfo {
  /** CPU model (architecture), e.g. `x86_64`. */
  readonly model: string;
  /** Host memory in KiB. */
  readonly memory: number;
  /** Number of active CPUs. */
  readonly cpus: number;
  /** Expected CPU frequency in MHz (0 when unknown). */
  readonly mhz: number;
  readonly nodes: number;
  readonly sockets: number;
  readonly cores: number;
  readonly threads: number;
}

/** Domain information of virDomainGetInfo. */
export interface DomainInfo {
  /** `DomainState` number. */
  readonly state: number;
  readonly maxMemoryKiB: number;
  readonly memoryKiB: number;
  readonly virtCpus: number;
  /** CPU time used, nanoseconds. */
  readonly cpuTimeNs: bigint;
}

/** State and reason of virDomainGetState. */
export interface DomainStateInfo {
  /** `DomainState` number. */
  readonly state: number;
  /** Reason code, whose meaning depends on the state. */
  readonly reason: number;
}

/** A domain lifecycle event (VIR_DOMAIN_EVENT_ID_LIFECYCLE). */
export interface LifecycleEvent {
  /** Server-side callback id the event was delivered for. */
  readonly callbackId: number;
  readonly domain: Domain;
  /** `DomainEventType` number, e.g. 3 for suspended. */
  readonly event: number;
  /** Lower-case name of {@link event}, e.g. `suspended`. */
  readonly eventName: string;
  /** Event detail, whose meaning depends on the event type. */
  readonly detail: number;
}

/** A balloon-change event: the memory the guest's balloon now gives it. */
export interface BalloonChangeEvent {
  /** Server-side callback id the event was delivered for. */
  readonly callbackId: number;
  readonly domain: Domain;
  /** Memory now assigned to the guest, in KiB (libvirt's `actual`). */
  readonly actualKiB: number;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call (or its wait for a free slot); the call rejects with a LibvirtAbortError. */
  readonly signal?: AbortSignal | undefined;
  /**
   * For a call abandoned through `signal` after it was sent: receives its reply payload (XDR) if
   * libvirtd still answers it successfully. Exceptions it throws are ignored.
   */
  readonly onLateReply?: ((payload: Buffer) => void) | undefined;
}

/** Options of {@link LibvirtApi.getAllDomainStats}: the late reply comes decoded. */
export interface GetAllDomainStatsOptions extends Omit<CallOptions, 'onLateReply'> {
  /**
   * For a call abandoned through `signal` after it was sent: receives the records if libvirtd still
   * answers (for example once a hung guest's QEMU resumes). Exceptions it throws are ignored.
   */
  readonly onLateReply?: ((records: DomainStatsRecord[]) => void) | undefined;
  /**
   * 64-bit values as numbers (float64, exact up to 2^53 and rounded as `Number(bigint)` rounds above),
   * not bigint: for readers that only need float64, without a bigint per counter. Default false.
   */
  readonly int64AsNumber?: boolean;
}

/** Options of {@link LibvirtApi.readAllDomainStats}: the late reply comes decoded by the same sink. */
export interface ReadAllDomainStatsOptions<R> extends Omit<CallOptions, 'onLateReply'> {
  /** As {@link GetAllDomainStatsOptions.onLateReply}, with the sink's records. */
  readonly onLateReply?: ((records: R[]) => void) | undefined;
}

/** Arguments of {@link LibvirtApi.getAllDomainStats}. */
export interface GetAllDomainStatsArgs {
  /** Domains to report; empty or absent means every domain selected by `flags`. */
  readonly domains?: readonly Domain[];
  /** `DomainStatsTypes` bits; 0 means every group the driver supports. */
  readonly stats: number;
  /** `GetAllDomainStatsFlags` bits. */
  readonly flags: number;
}

/** Anything with libvirt's `call()`: a LibvirtClient or a LibvirtConnection. */
export interface Caller {
  call(proc: number, args?: Uint8Array, options?: CallOptions): Promise<Buffer>;
}
