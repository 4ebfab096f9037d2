// SPDX-License-Identifier: Apache-2.0
/**
 * The calls of one connection that wait for their reply, by serial, and how a reply completes one.
 *
 * @packageDocumentation
 */
import { MessageStatus } from './constants.ts';
import { LibvirtError, XdrDecodeError } from './errors.ts';
import type { Frame } from './framing.ts';
import { decodeRemoteError } from './procedures.ts';

/** A call sent (or queued) that waits for its reply. */
export interface PendingCall {
  readonly proc: number;
  readonly resolve: (payload: Buffer) => void;
  readonly reject: (err: Error) => void;
  abandoned: boolean;
  readonly detach: () => void;
  /** Receives the successful reply of the call after its caller abandoned it, if it still comes. */
  readonly onLateReply?: ((payload: Buffer) => void) | undefined;
}

/** Pending calls by serial, and the count of those abandoned by their callers. */
export class PendingCalls {
  private serial = 0;
  private readonly bySerial = new Map<number, PendingCall>();
  private abandonedCount = 0;

  /** Calls given up by their callers whose replies have not arrived yet. */
  get abandoned(): number {
    return this.abandonedCount;
  }

  /** The next serial: u32, wrapping, skipping any still held by a (possibly abandoned) call. */
  nextSerial(): number {
    do {
      this.serial = this.serial >= 0xffffffff ? 1 : this.serial + 1;
    } while (this.bySerial.has(this.serial));
    return this.serial;
  }

  add(serial: number, call: PendingCall): void {
    this.bySerial.set(serial, call);
  }

  has(serial: number): boolean {
    return this.bySerial.has(serial);
  }

  get(serial: number): PendingCall | undefined {
    return this.bySerial.get(serial);
  }

  /** True when a call waits on `serial` and its caller still waits for it. */
  isLive(serial: number): boolean {
    return this.bySerial.get(serial)?.abandoned === false;
  }

  /** Marks a call abandoned by its caller (its reply will be dropped or given to `onLateReply`). */
  abandon(serial: number): void {
    const call = this.bySerial.get(serial);
    if (call === undefined || call.abandoned) return;
    call.abandoned = true;
    this.abandonedCount++;
  }

  /** Abandons every call still awaited and rejects it with `err` (a local close). */
  abandonAll(err: Error): void {
    for (const [serial, call] of this.bySerial) {
      if (call.abandoned) continue;
      this.abandon(serial);
      call.detach();
      call.reject(err);
    }
  }

  /** Removes a call (its reply came, or it was never sent) and detaches it from its signal. */
  take(serial: number): PendingCall | undefined {
    const call = this.bySerial.get(serial);
    if (call === undefined) return undefined;
    this.bySerial.delete(serial);
    call.detach();
    if (call.abandoned) this.abandonedCount--;
    return call;
  }

  /** Removes and returns every call (the connection failed). */
  drain(): PendingCall[] {
    const calls = [...this.bySerial.values()];
    this.bySerial.clear();
    this.abandonedCount = 0;
    return calls;
  }
}

/** Completes a call with its reply frame: resolves, rejects with the libvirt error, or hands a late reply on. */
export function completeCall(call: PendingCall, frame: Frame): void {
  if (call.abandoned) {
    // The late reply of a call its caller gave up on: only a hook that asked for it sees it.
    if (frame.status === MessageStatus.OK && call.onLateReply !== undefined) {
      try {
        call.onLateReply(frame.payload);
      } catch {
        // A hook's failure is the hook's business: the connection carries on.
      }
    }
    return;
  }
  if (frame.status === MessageStatus.OK) {
    call.resolve(frame.payload);
  } else if (frame.status === MessageStatus.ERROR) {
    try {
      call.reject(new LibvirtError(decodeRemoteError(frame.payload), call.proc));
    } catch (err) {
      call.reject(err instanceof XdrDecodeError ? err : new XdrDecodeError(String(err), 0));
    }
  } else {
    call.reject(new XdrDecodeError(`reply with unexpected status ${frame.status}`, 0));
  }
}
