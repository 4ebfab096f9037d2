// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The guest agent's bulk call (REMOTE_PROC_DOMAIN_GET_GUEST_INFO 418, virDomainGetGuestInfo) and the I/O
 * error and watchdog domain events (REMOTE_PROC_DOMAIN_EVENT_CALLBACK_WATCHDOG 321,
 * DOMAIN_EVENT_CALLBACK_IO_ERROR 322, DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON 324), as functions over any
 * client's `call()` and decoders of the event messages. Structures from libvirt's remote_protocol.x:
 * each callback message is `int callbackID` followed by the event's own message (the domain, then
 * its fields). The numbers were checked against libvirt 9.0's daemon (recorded frames in
 * test/fixtures/libvirt/insight-frames.json).
 */
import { RemoteLimits } from './constants.ts';
import { readDomain, writeDomain } from './procedures.ts';
import type { CallOptions, Domain } from './procedures.ts';
import { XdrReader, XdrWriter, type TypedParam } from './xdr.ts';

const STRING_MAX = RemoteLimits.STRING_MAX;
/** REMOTE_DOMAIN_GUEST_INFO_PARAMS_MAX of remote_protocol.x. */
const GUEST_INFO_PARAMS_MAX = 2048;

/** Procedure numbers used here. */
export const GuestEventProc = {
  DOMAIN_EVENT_CALLBACK_WATCHDOG: 321,
  DOMAIN_EVENT_CALLBACK_IO_ERROR: 322,
  DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON: 324,
  DOMAIN_GET_GUEST_INFO: 418,
} as const;

/** Info groups of virDomainGetGuestInfo (`virDomainGuestInfoTypes`); 0 asks for every group. */
export const GuestInfoTypes = {
  USERS: 1 << 0,
  OS: 1 << 1,
  TIMEZONE: 1 << 2,
  HOSTNAME: 1 << 3,
  FILESYSTEM: 1 << 4,
  DISKS: 1 << 5,
  INTERFACES: 1 << 6,
} as const;

/** Watchdog actions (`virDomainEventWatchdogAction`), by number. */
export const WATCHDOG_ACTION_NAMES: readonly string[] = [
  'none',
  'pause',
  'reset',
  'poweroff',
  'shutdown',
  'debug',
  'inject_nmi',
];

/** I/O error actions (`virDomainEventIOErrorAction`), by number. */
export const IO_ERROR_ACTION_NAMES: readonly string[] = ['none', 'pause', 'report'];

/** A watchdog event: the guest's watchdog fired and libvirt took `action`. */
export interface WatchdogEvent {
  readonly callbackId: number;
  readonly domain: Domain;
  /** `virDomainEventWatchdogAction` number. */
  readonly action: number;
}

/** An I/O error event (with or without a reason, depending on the registration). */
export interface IoErrorEvent {
  readonly callbackId: number;
  readonly domain: Domain;
  /** The disk's source path. */
  readonly srcPath: string;
  /** The disk's device alias (`virtio-disk0`). */
  readonly devAlias: string;
  /** `virDomainEventIOErrorAction` number. */
  readonly action: number;
  /** QEMU's reason (`enospc`, `eio`, …); empty for the event without a reason. */
  readonly reason: string;
}

/** Anything with libvirt's `call()` (a LibvirtClient or a LibvirtConnection). */
export interface Caller {
  call(proc: number, args?: Uint8Array, options?: CallOptions): Promise<Buffer>;
}

/** Encodes the arguments of DOMAIN_GET_GUEST_INFO. */
export function encodeGuestInfoArgs(dom: Domain, types: number, flags = 0): Buffer {
  const w = new XdrWriter();
  writeDomain(w, dom);
  return w.u32(types).u32(flags).finish();
}

/** Decodes the reply of DOMAIN_GET_GUEST_INFO: typed parameters (`fs.0.mountpoint`, `hostname`, …). */
export function decodeGuestInfoRet(payload: Buffer): TypedParam[] {
  const r = new XdrReader(payload);
  const params = r.array(GUEST_INFO_PARAMS_MAX, (x) => x.typedParam(STRING_MAX), 12);
  r.expectEnd();
  return params;
}

/**
 * virDomainGetGuestInfo: one agent round trip for the groups in `types` (`GuestInfoTypes` bits).
 * libvirt refuses it on a read-only connection (VIR_ERR_OPERATION_DENIED) and answers
 * VIR_ERR_AGENT_UNRESPONSIVE (86) or VIR_ERR_ARGUMENT_UNSUPPORTED when the guest has no agent.
 */
export async function domainGetGuestInfo(
  c: Caller,
  dom: Domain,
  types: number,
  options: CallOptions = {},
): Promise<TypedParam[]> {
  return decodeGuestInfoRet(
    await c.call(GuestEventProc.DOMAIN_GET_GUEST_INFO, encodeGuestInfoArgs(dom, types), options),
  );
}

/** Decodes a DOMAIN_EVENT_CALLBACK_WATCHDOG message. */
export function decodeWatchdogMessage(payload: Buffer): WatchdogEvent {
  const r = new XdrReader(payload);
  const callbackId = r.i32();
  const domain = readDomain(r);
  const action = r.i32();
  r.expectEnd();
  return { callbackId, domain, action };
}

/** Decodes a DOMAIN_EVENT_CALLBACK_IO_ERROR or DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON message. */
export function decodeIoErrorMessage(payload: Buffer, withReason: boolean): IoErrorEvent {
  const r = new XdrReader(payload);
  const callbackId = r.i32();
  const domain = readDomain(r);
  const srcPath = r.string(STRING_MAX);
  const devAlias = r.string(STRING_MAX);
  const action = r.i32();
  const reason = withReason ? r.string(STRING_MAX) : '';
  r.expectEnd();
  return { callbackId, domain, srcPath, devAlias, action, reason };
}

/** Encodes a watchdog event message (for test servers). */
export function encodeWatchdogMessage(e: Omit<WatchdogEvent, never>): Buffer {
  const w = new XdrWriter().i32(e.callbackId);
  writeDomain(w, e.domain);
  return w.i32(e.action).finish();
}

/** Encodes an I/O error event message, with the reason when `withReason` (for test servers). */
export function encodeIoErrorMessage(e: IoErrorEvent, withReason: boolean): Buffer {
  const w = new XdrWriter().i32(e.callbackId);
  writeDomain(w, e.domain);
  w.string(e.srcPath, STRING_MAX).string(e.devAlias, STRING_MAX).i32(e.action);
  if (withReason) w.string(e.reason, STRING_MAX);
  return w.finish();
}

/** REMOTE_PROC_DOMAIN_GET_BLOCK_INFO (virDomainGetBlockInfo), checked with virsh domblkinfo's debug log. */
export const BLOCK_INFO_PROC = 194;

/** virDomainGetBlockInfo: sizes of one disk in bytes, also for a shut-off domain. */
export interface DomainBlockInfo {
  readonly capacity: bigint;
  readonly allocation: bigint;
  readonly physical: bigint;
}

/** Encodes the arguments of DOMAIN_GET_BLOCK_INFO: the domain, the disk (target or path), flags. */
export function encodeBlockInfoArgs(dom: Domain, disk: string, flags = 0): Buffer {
  const w = new XdrWriter();
  writeDomain(w, dom);
  return w.string(disk, STRING_MAX).u32(flags).finish();
}

/** Decodes the reply of DOMAIN_GET_BLOCK_INFO. */
export function decodeBlockInfoRet(payload: Buffer): DomainBlockInfo {
  const r = new XdrReader(payload);
  const info = { allocation: r.u64(), capacity: r.u64(), physical: r.u64() };
  r.expectEnd();
  return info;
}

/** virDomainGetBlockInfo of one disk (its target name, `vda`, or its source path). */
export async function domainGetBlockInfo(
  c: Caller,
  dom: Domain,
  disk: string,
  options: CallOptions = {},
): Promise<DomainBlockInfo> {
  return decodeBlockInfoRet(await c.call(BLOCK_INFO_PROC, encodeBlockInfoArgs(dom, disk), options));
}
