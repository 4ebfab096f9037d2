// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The guest agent's bulk call (DOMAIN_GET_GUEST_INFO, virDomainGetGuestInfo), a disk's sizes
 * (DOMAIN_GET_BLOCK_INFO, virDomainGetBlockInfo) and the I/O error and watchdog domain events
 * (DOMAIN_EVENT_CALLBACK_WATCHDOG, DOMAIN_EVENT_CALLBACK_IO_ERROR, DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON),
 * as functions over any client's `call()` and decoders of the event messages. Structures from libvirt's
 * remote_protocol.x: each callback message is `int callbackID` followed by the event's own message (the
 * domain, then its fields). Checked against libvirt 9.0's daemon (recorded frames in
 * test/fixtures/libvirt/insight-frames.json).
 */
import { DomainEventId, Proc, RemoteLimits } from './constants.ts';
import { decodeAll, domainArgs, readDomain, writeDomain } from './procedures.ts';
import type { CallOptions, Caller, Domain } from './types.ts';
import { XdrWriter, type TypedParam } from './xdr.ts';

const STRING_MAX = RemoteLimits.STRING_MAX;

/** A watchdog event: the guest's watchdog fired and libvirt took `action`. */
export interface WatchdogEvent {
  readonly callbackId: number;
  readonly domain: Domain;
  /** `DomainEventWatchdogAction` number. */
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
  /** `DomainEventIoErrorAction` number. */
  readonly action: number;
  /** QEMU's reason (`enospc`, `eio`, …); empty for the event without a reason. */
  readonly reason: string;
}

/** virDomainGetBlockInfo: sizes of one disk in bytes, also for a shut-off domain. */
export interface DomainBlockInfo {
  readonly capacity: bigint;
  readonly allocation: bigint;
  readonly physical: bigint;
}

/** Encodes the arguments of DOMAIN_GET_GUEST_INFO. */
export function encodeGuestInfoArgs(dom: Domain, types: number, flags = 0): Buffer {
  return domainArgs(dom).u32(types).u32(flags).finish();
}

/** Decodes the reply of DOMAIN_GET_GUEST_INFO: typed parameters (`fs.0.mountpoint`, `hostname`, …). */
export function decodeGuestInfoRet(payload: Buffer): TypedParam[] {
  return decodeAll(payload, (r) =>
    r.array(RemoteLimits.DOMAIN_GUEST_INFO_PARAMS_MAX, (x) => x.typedParam(STRING_MAX), 12),
  );
}

/**
 * virDomainGetGuestInfo: one agent round trip for the groups in `types` (`GuestInfoTypes` bits).
 * libvirt refuses it on a read-only connection (VIR_ERR_OPERATION_DENIED) and answers
 * VIR_ERR_AGENT_UNRESPONSIVE or VIR_ERR_ARGUMENT_UNSUPPORTED when the guest has no agent.
 */
export async function domainGetGuestInfo(
  c: Caller,
  dom: Domain,
  types: number,
  options: CallOptions = {},
): Promise<TypedParam[]> {
  const args = encodeGuestInfoArgs(dom, types);
  return decodeGuestInfoRet(await c.call(Proc.DOMAIN_GET_GUEST_INFO, args, options));
}

/** Encodes the arguments of DOMAIN_GET_BLOCK_INFO: the domain, the disk (target or path), flags. */
export function encodeBlockInfoArgs(dom: Domain, disk: string, flags = 0): Buffer {
  return domainArgs(dom).string(disk, STRING_MAX).u32(flags).finish();
}

/** Decodes the reply of DOMAIN_GET_BLOCK_INFO. */
export function decodeBlockInfoRet(payload: Buffer): DomainBlockInfo {
  return decodeAll(payload, (r) => ({ allocation: r.u64(), capacity: r.u64(), physical: r.u64() }));
}

/** virDomainGetBlockInfo of one disk (its target name, `vda`, or its source path). */
export async function domainGetBlockInfo(
  c: Caller,
  dom: Domain,
  disk: string,
  options: CallOptions = {},
): Promise<DomainBlockInfo> {
  const args = encodeBlockInfoArgs(dom, disk);
  return decodeBlockInfoRet(await c.call(Proc.DOMAIN_GET_BLOCK_INFO, args, options));
}

/** Decodes a DOMAIN_EVENT_CALLBACK_WATCHDOG message. */
export function decodeWatchdogMessage(payload: Buffer): WatchdogEvent {
  return decodeAll(payload, (r) => ({ callbackId: r.i32(), domain: readDomain(r), action: r.i32() }));
}

/** Decodes a DOMAIN_EVENT_CALLBACK_IO_ERROR or DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON message. */
export function decodeIoErrorMessage(payload: Buffer, withReason: boolean): IoErrorEvent {
  return decodeAll(payload, (r) => ({
    callbackId: r.i32(),
    domain: readDomain(r),
    srcPath: r.string(STRING_MAX),
    devAlias: r.string(STRING_MAX),
    action: r.i32(),
    reason: withReason ? r.string(STRING_MAX) : '',
  }));
}

/** An I/O error (with reason) or watchdog event, with the event id it was registered for. */
export type GuestEvent =
  | { readonly kind: 'ioError'; readonly eventId: number; readonly event: IoErrorEvent }
  | { readonly kind: 'watchdog'; readonly eventId: number; readonly event: WatchdogEvent };

/** Decodes an I/O-error-with-reason or watchdog event message; `undefined` for another procedure. */
export function decodeGuestEvent(proc: number, payload: Buffer): GuestEvent | undefined {
  if (proc === Proc.DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON) {
    return {
      kind: 'ioError',
      eventId: DomainEventId.IO_ERROR_REASON,
      event: decodeIoErrorMessage(payload, true),
    };
  }
  if (proc === Proc.DOMAIN_EVENT_CALLBACK_WATCHDOG) {
    return { kind: 'watchdog', eventId: DomainEventId.WATCHDOG, event: decodeWatchdogMessage(payload) };
  }
  return undefined;
}

/** Encodes a watchdog event message (for test servers). */
export function encodeWatchdogMessage(e: WatchdogEvent): Buffer {
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
export type { Caller } from './types.ts';
