// SPDX-License-Identifier: Apache-2.0
/**
 * The XDR encoding of the remote procedures' arguments and the decoding of their results and of the
 * event messages, for the procedures this client makes (their numbers: `Proc`, generated).
 *
 * @packageDocumentation
 */
import { RemoteLimits, domainEventName } from './constants.ts';
import type { RemoteErrorFields } from './errors.ts';
import type {
  BalloonChangeEvent,
  Domain,
  DomainInfo,
  DomainStatsRecord,
  GetAllDomainStatsArgs,
  LifecycleEvent,
  NodeInfo,
} from './types.ts';
import { STATS_FIELD_NAMES } from './name-cache.ts';
import { uuidToBytes, uuidToString } from './uuid.ts';
import { XdrReader, XdrWriter } from './xdr.ts';

const STR_MAX = RemoteLimits.STRING_MAX;
const FIELD_MAX = RemoteLimits.TYPED_PARAM_FIELD_LENGTH - 1;

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
        (y) => y.typedParam(STR_MAX, int64AsNumber, FIELD_MAX, STATS_FIELD_NAMES),
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
  return decodeAll(payload, (r) => {
    const domains = r.array(RemoteLimits.DOMAIN_LIST_MAX, readDomain, 24);
    r.u32(); // ret: the count, equal to domains.length
    return domains;
  });
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
  // `unsigned char` and `unsigned short` travel as 4-byte XDR integers.
  return decodeAll(payload, (r) => ({
    state: r.u32() & 0xff,
    maxMemoryKiB: Number(r.u64()),
    memoryKiB: Number(r.u64()),
    virtCpus: r.u32() & 0xffff,
    cpuTimeNs: r.u64(),
  }));
}

/** Decodes a DOMAIN_EVENT_CALLBACK_LIFECYCLE message. */
export function decodeLifecycleMessage(payload: Buffer): LifecycleEvent {
  return decodeAll(payload, (r) => {
    const callbackId = r.i32();
    const domain = readDomain(r);
    const event = r.i32();
    return { callbackId, domain, event, eventName: domainEventName(event), detail: r.i32() };
  });
}

/** Decodes a DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE message. */
export function decodeBalloonChangeMessage(payload: Buffer): BalloonChangeEvent {
  return decodeAll(payload, (r) => ({
    callbackId: r.i32(),
    domain: readDomain(r),
    actualKiB: Number(r.u64()),
  }));
}

/** Decodes a payload that holds exactly what `read` reads (refusing trailing bytes). */
export function decodeAll<T>(payload: Buffer, read: (r: XdrReader) => T): T {
  const r = new XdrReader(payload);
  const value = read(r);
  r.expectEnd();
  return value;
}

/** Decodes a payload that is a single string (hostname, type, uri, xml, metadata). */
export function decodeString(payload: Buffer): string {
  return decodeAll(payload, (r) => r.string(STR_MAX));
}

/** Decodes a payload that is a single int. */
export function decodeI32(payload: Buffer): number {
  return decodeAll(payload, (r) => r.i32());
}

/** Decodes a payload that is a single unsigned hyper. */
export function decodeU64(payload: Buffer): bigint {
  return decodeAll(payload, (r) => r.u64());
}

/** Decodes a payload that is a single domain. */
export function decodeDomainRet(payload: Buffer): Domain {
  return decodeAll(payload, readDomain);
}

/** Starts the arguments of a per-domain call: a writer holding the domain. */
export function domainArgs(dom: Domain): XdrWriter {
  const w = new XdrWriter();
  writeDomain(w, dom);
  return w;
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
  return decodeAll(payload, (r) => r.array(RemoteLimits.AUTH_TYPE_LIST_MAX, (x) => x.i32()));
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
