// SPDX-License-Identifier: Apache-2.0
/**
 * Remote procedures this client implements: their numbers, the XDR encoding of their arguments and
 * decoding of their results, and {@link LibvirtApi}, the typed wrappers shared by
 * {@link LibvirtConnection} and {@link LibvirtClient}.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'node:events';

import { RemoteLimits, domainEventName } from './constants.ts';
import { LibvirtError, VIR_ERR, type RemoteErrorFields } from './errors.ts';
import { XdrReader, XdrWriter, uuidToBytes, uuidToString, type TypedParam } from './xdr.ts';

/** Remote procedure numbers (`REMOTE_PROC_*` in remote_protocol.x) used by this client. */
export const Proc = {
  CONNECT_OPEN: 1,
  CONNECT_CLOSE: 2,
  CONNECT_GET_TYPE: 3,
  CONNECT_GET_VERSION: 4,
  NODE_GET_INFO: 6,
  DOMAIN_GET_XML_DESC: 14,
  DOMAIN_GET_INFO: 16,
  DOMAIN_LOOKUP_BY_NAME: 23,
  DOMAIN_LOOKUP_BY_UUID: 24,
  CONNECT_GET_HOSTNAME: 59,
  CONNECT_SUPPORTS_FEATURE: 60,
  AUTH_LIST: 66,
  AUTH_POLKIT: 70,
  CONNECT_GET_URI: 110,
  CONNECT_GET_LIB_VERSION: 157,
  DOMAIN_GET_STATE: 212,
  DOMAIN_GET_METADATA: 265,
  CONNECT_LIST_ALL_DOMAINS: 273,
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 316,
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: 317,
  DOMAIN_EVENT_CALLBACK_LIFECYCLE: 318,
  DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE: 331,
  CONNECT_GET_ALL_DOMAIN_STATS: 344,
} as const;

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

/** Arguments of {@link LibvirtApi.getAllDomainStats}. */
export interface GetAllDomainStatsArgs {
  /** Domains to report; empty or absent means every domain selected by `flags`. */
  readonly domains?: readonly Domain[];
  /** `DomainStatsTypes` bits; 0 means every group the driver supports. */
  readonly stats: number;
  /** `GetAllDomainStatsFlags` bits. */
  readonly flags: number;
}

const STR_MAX = RemoteLimits.STRING_MAX;

/** Reads a `remote_nonnull_domain`. */
export function readDomain(r: XdrReader): Domain {
  const name = r.string(STR_MAX);
  const uuid = uuidToString(r.opaqueFixed(RemoteLimits.UUID_BYTES));
  const id = r.i32();
  return { name, uuid, id };
}

/** Writes a `remote_nonnull_domain`. */
export function writeDomain(w: XdrWriter, d: Domain): void {
  w.string(d.name, STR_MAX).opaqueFixed(uuidToBytes(d.uuid), RemoteLimits.UUID_BYTES).i32(d.id);
}

/** Decodes the `remote_error` payload of an error reply. */
export function decodeRemoteError(payload: Buffer): RemoteErrorFields {
  const r = new XdrReader(payload);
  const optString = (): string | null => r.optional((x) => x.string(STR_MAX));
  const code = r.i32();
  const domain = r.i32();
  const message = optString();
  const level = r.i32();
  r.optional(readDomain); // dom: unused by libvirt, decoded only to reach the next fields
  const str1 = optString();
  const str2 = optString();
  const str3 = optString();
  const int1 = r.i32();
  const int2 = r.i32();
  r.optional((x) => {
    x.string(STR_MAX);
    x.opaqueFixed(RemoteLimits.UUID_BYTES);
  }); // net: unused
  r.expectEnd();
  return { code, domain, message, level, str1, str2, str3, int1, int2 };
}

/** Encodes a `remote_error` (used by test servers). */
export function encodeRemoteError(e: RemoteErrorFields): Buffer {
  const w = new XdrWriter();
  const optString = (s: string | null): void => {
    w.optional(s, (x, v) => x.string(v));
  };
  w.i32(e.code).i32(e.domain);
  optString(e.message);
  w.i32(e.level).u32(0);
  optString(e.str1);
  optString(e.str2);
  optString(e.str3);
  w.i32(e.int1).i32(e.int2).u32(0);
  return w.finish();
}

/** Decodes the payload of GET_ALL_DOMAIN_STATS (64-bit values as bigint unless `int64AsNumber`). */
export function decodeGetAllDomainStatsRet(payload: Buffer, int64AsNumber = false): DomainStatsRecord[] {
  const r = new XdrReader(payload);
  const records = r.array(
    RemoteLimits.DOMAIN_LIST_MAX,
    (x) => ({
      domain: readDomain(x),
      params: x.array(
        RemoteLimits.CONNECT_GET_ALL_DOMAIN_STATS_MAX,
        (y) => y.typedParam(STR_MAX, int64AsNumber),
        12,
      ),
    }),
    28,
  );
  r.expectEnd();
  return records;
}

/** Encodes the arguments of GET_ALL_DOMAIN_STATS. */
export function encodeGetAllDomainStatsArgs(args: GetAllDomainStatsArgs): Buffer {
  const w = new XdrWriter();
  w.array(args.domains ?? [], RemoteLimits.DOMAIN_LIST_MAX, writeDomain);
  return w.u32(args.stats).u32(args.flags).finish();
}

/** Decodes the payload of CONNECT_LIST_ALL_DOMAINS. */
export function decodeListAllDomainsRet(payload: Buffer): Domain[] {
  const r = new XdrReader(payload);
  const domains = r.array(RemoteLimits.DOMAIN_LIST_MAX, readDomain, 24);
  r.u32(); // ret: the count, equal to domains.length
  r.expectEnd();
  return domains;
}

/** Decodes the payload of NODE_GET_INFO. */
export function decodeNodeInfo(payload: Buffer): NodeInfo {
  const r = new XdrReader(payload);
  // `char model[32]` is a fixed XDR array of chars, and XDR widens each char to 4 bytes.
  const bytes: number[] = [];
  for (let i = 0; i < 32; i++) bytes.push(r.i32() & 0xff);
  const nul = bytes.indexOf(0);
  const model = Buffer.from(nul < 0 ? bytes : bytes.slice(0, nul)).toString('utf8');
  const memory = Number(r.u64());
  const info = {
    model,
    memory,
    cpus: r.i32(),
    mhz: r.i32(),
    nodes: r.i32(),
    sockets: r.i32(),
    cores: r.i32(),
    threads: r.i32(),
  };
  r.expectEnd();
  return info;
}

/** Decodes the payload of DOMAIN_GET_INFO. */
export function decodeDomainInfo(payload: Buffer): DomainInfo {
  const r = new XdrReader(payload);
  // `unsigned char` and `unsigned short` travel as 4-byte XDR integers.
  const info = {
    state: r.u32() & 0xff,
    maxMemoryKiB: Number(r.u64()),
    memoryKiB: Number(r.u64()),
    virtCpus: r.u32() & 0xffff,
    cpuTimeNs: r.u64(),
  };
  r.expectEnd();
  return info;
}

/** Decodes a DOMAIN_EVENT_CALLBACK_LIFECYCLE message. */
export function decodeLifecycleMessage(payload: Buffer): LifecycleEvent {
  const r = new XdrReader(payload);
  const callbackId = r.i32();
  const domain = readDomain(r);
  const event = r.i32();
  const detail = r.i32();
  r.expectEnd();
  return { callbackId, domain, event, eventName: domainEventName(event), detail };
}

/** Decodes a DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE message. */
export function decodeBalloonChangeMessage(payload: Buffer): BalloonChangeEvent {
  const r = new XdrReader(payload);
  const callbackId = r.i32();
  const domain = readDomain(r);
  const actualKiB = Number(r.u64());
  r.expectEnd();
  return { callbackId, domain, actualKiB };
}

/** Decodes a payload that is a single string (hostname, type, uri, xml, metadata). */
export function decodeString(payload: Buffer): string {
  const r = new XdrReader(payload);
  const s = r.string(STR_MAX);
  r.expectEnd();
  return s;
}

function decodeI32(payload: Buffer): number {
  const r = new XdrReader(payload);
  const v = r.i32();
  r.expectEnd();
  return v;
}

function decodeU64(payload: Buffer): bigint {
  const r = new XdrReader(payload);
  const v = r.u64();
  r.expectEnd();
  return v;
}

function decodeDomainRet(payload: Buffer): Domain {
  const r = new XdrReader(payload);
  const d = readDomain(r);
  r.expectEnd();
  return d;
}

function domainArgs(dom: Domain): XdrWriter {
  const w = new XdrWriter();
  writeDomain(w, dom);
  return w;
}

/**
 * Typed wrappers of the read-only procedures, over an abstract {@link LibvirtApi.call}. The connection
 * implements `call` on its socket; the client implements it with reconnection and rotation.
 */
export abstract class LibvirtApi<
  Events extends Record<keyof Events, unknown[]>,
> extends EventEmitter<Events> {
  /**
   * Calls a remote procedure with an XDR-encoded argument and resolves with the XDR payload of the
   * reply. Rejects with LibvirtError (error reply), LibvirtConnectionError or LibvirtAbortError.
   */
  abstract call(proc: number, args?: Uint8Array, options?: CallOptions): Promise<Buffer>;

  /**
   * Returns stats of many domains in one round trip: virConnectGetAllDomainStats when `domains` is empty,
   * virDomainListGetStats otherwise.
   */
  async getAllDomainStats(
    args: GetAllDomainStatsArgs,
    options: GetAllDomainStatsOptions = {},
  ): Promise<DomainStatsRecord[]> {
    const late = options.onLateReply;
    const asNumber = options.int64AsNumber === true;
    const payload = await this.call(Proc.CONNECT_GET_ALL_DOMAIN_STATS, encodeGetAllDomainStatsArgs(args), {
      signal: options.signal,
      onLateReply:
        late === undefined
          ? undefined
          : (p) => {
              late(decodeGetAllDomainStatsRet(p, asNumber));
            },
    });
    return decodeGetAllDomainStatsRet(payload, asNumber);
  }

  /** Lists domains (virConnectListAllDomains); `flags` are `ListAllDomainsFlags` bits, 0 for all. */
  async listAllDomains(flags = 0, options: CallOptions = {}): Promise<Domain[]> {
    const args = new XdrWriter().i32(1).u32(flags).finish();
    return decodeListAllDomainsRet(await this.call(Proc.CONNECT_LIST_ALL_DOMAINS, args, options));
  }

  /** Returns the domain XML (virDomainGetXMLDesc); `flags` are `DomainXmlFlags` bits. */
  async domainGetXmlDesc(dom: Domain, flags = 0, options: CallOptions = {}): Promise<string> {
    const args = domainArgs(dom).u32(flags).finish();
    return decodeString(await this.call(Proc.DOMAIN_GET_XML_DESC, args, options));
  }

  /**
   * Returns a metadata element, title or description (virDomainGetMetadata), or `null` when the domain
   * has none (VIR_ERR_NO_DOMAIN_METADATA is the normal "absent" answer, not a failure).
   */
  async domainGetMetadata(
    dom: Domain,
    type: number,
    uri: string | null,
    flags = 0,
    options: CallOptions = {},
  ): Promise<string | null> {
    const args = domainArgs(dom)
      .i32(type)
      .optional(uri, (w, v) => w.string(v, STR_MAX))
      .u32(flags)
      .finish();
    try {
      return decodeString(await this.call(Proc.DOMAIN_GET_METADATA, args, options));
    } catch (err) {
      if (err instanceof LibvirtError && err.code === VIR_ERR.NO_DOMAIN_METADATA) return null;
      throw err;
    }
  }

  /** Returns the state and its reason (virDomainGetState). */
  async domainGetState(dom: Domain, options: CallOptions = {}): Promise<DomainStateInfo> {
    const args = domainArgs(dom).u32(0).finish();
    const r = new XdrReader(await this.call(Proc.DOMAIN_GET_STATE, args, options));
    const result = { state: r.i32(), reason: r.i32() };
    r.expectEnd();
    return result;
  }

  /** Returns state, memory, vCPU count and CPU time (virDomainGetInfo). */
  async domainGetInfo(dom: Domain, options: CallOptions = {}): Promise<DomainInfo> {
    return decodeDomainInfo(await this.call(Proc.DOMAIN_GET_INFO, domainArgs(dom).finish(), options));
  }

  /** Looks a domain up by UUID; rejects with LibvirtError code 42 (NO_DOMAIN) when absent. */
  async domainLookupByUuid(uuid: string, options: CallOptions = {}): Promise<Domain> {
    const args = new XdrWriter().opaqueFixed(uuidToBytes(uuid), RemoteLimits.UUID_BYTES).finish();
    return decodeDomainRet(await this.call(Proc.DOMAIN_LOOKUP_BY_UUID, args, options));
  }

  /** Looks a domain up by name; rejects with LibvirtError code 42 (NO_DOMAIN) when absent. */
  async domainLookupByName(name: string, options: CallOptions = {}): Promise<Domain> {
    const args = new XdrWriter().string(name, STR_MAX).finish();
    return decodeDomainRet(await this.call(Proc.DOMAIN_LOOKUP_BY_NAME, args, options));
  }

  /** Returns the host name of the hypervisor host (virConnectGetHostname). */
  async connectGetHostname(options: CallOptions = {}): Promise<string> {
    return decodeString(await this.call(Proc.CONNECT_GET_HOSTNAME, undefined, options));
  }

  /** Returns the libvirt version of the daemon as major * 1e6 + minor * 1e3 + micro (virConnectGetLibVersion). */
  async connectGetLibVersion(options: CallOptions = {}): Promise<number> {
    return Number(decodeU64(await this.call(Proc.CONNECT_GET_LIB_VERSION, undefined, options)));
  }

  /** Returns the hypervisor version, encoded like the lib version (virConnectGetVersion). */
  async connectGetVersion(options: CallOptions = {}): Promise<number> {
    return Number(decodeU64(await this.call(Proc.CONNECT_GET_VERSION, undefined, options)));
  }

  /** Returns the hypervisor driver name, e.g. `QEMU` (virConnectGetType). */
  async connectGetType(options: CallOptions = {}): Promise<string> {
    return decodeString(await this.call(Proc.CONNECT_GET_TYPE, undefined, options));
  }

  /** Returns the canonical URI of the connection as the daemon sees it (virConnectGetURI). */
  async connectGetUri(options: CallOptions = {}): Promise<string> {
    return decodeString(await this.call(Proc.CONNECT_GET_URI, undefined, options));
  }

  /** Returns host CPU and memory information (virNodeGetInfo). */
  async nodeGetInfo(options: CallOptions = {}): Promise<NodeInfo> {
    return decodeNodeInfo(await this.call(Proc.NODE_GET_INFO, undefined, options));
  }

  /** Asks whether the daemon supports a `DrvFeature` (virConnectSupportsFeature). */
  async supportsFeature(feature: number, options: CallOptions = {}): Promise<boolean> {
    const args = new XdrWriter().i32(feature).finish();
    return decodeI32(await this.call(Proc.CONNECT_SUPPORTS_FEATURE, args, options)) !== 0;
  }
}

/** Encodes CONNECT_OPEN arguments: optional name and `ConnectFlags`. */
export function encodeConnectOpenArgs(name: string | null, flags: number): Buffer {
  return new XdrWriter()
    .optional(name, (w, v) => w.string(v, STR_MAX))
    .u32(flags)
    .finish();
}

/** Decodes AUTH_LIST's result: the authentication types the server accepts. */
export function decodeAuthListRet(payload: Buffer): number[] {
  const r = new XdrReader(payload);
  const types = r.array(RemoteLimits.AUTH_TYPE_LIST_MAX, (x) => x.i32());
  r.expectEnd();
  return types;
}

/** Decodes AUTH_POLKIT's result: whether authentication completed. */
export function decodeAuthPolkitRet(payload: Buffer): boolean {
  return decodeI32(payload) !== 0;
}

/** Encodes the arguments of CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY for an event id. */
export function encodeRegisterEventArgs(eventId: number, dom: Domain | null): Buffer {
  const w = new XdrWriter().i32(eventId);
  w.optional(dom, writeDomain);
  return w.finish();
}

/** Decodes the callback id returned by CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY. */
export function decodeCallbackId(payload: Buffer): number {
  return decodeI32(payload);
}

/** Encodes the arguments of CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY. */
export function encodeDeregisterArgs(callbackId: number): Buffer {
  return new XdrWriter().i32(callbackId).finish();
}
