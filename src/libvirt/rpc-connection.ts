// SPDX-License-Identifier: Apache-2.0
/**
 * The call machinery of one RPC connection: pipelined calls matched by serial, a cap on calls in
 * flight, abandonable calls whose late replies are dropped, event delivery, and failure and close,
 * over the frames of a {@link FrameChannel}. {@link LibvirtConnection} adds the open handshake on top.
 *
 * @packageDocumentation
 */
import type { Duplex } from 'node:stream';

import { LibvirtApi } from './api.ts';
import { AnomalyLog } from './anomalies.ts';
import { CallSlots } from './call-slots.ts';
import { systemClock, type Clock } from './clock.ts';
import {
  CONNECTION_DEFAULTS as DEFAULTS,
  type ConnectionAnomalyKind,
  type ConnectionTuning,
  type LibvirtConnectionEvents,
} from './connection-types.ts';
import { MessageStatus, MessageType, Proc, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION } from './constants.ts';
import { LibvirtConnectionError, abortErrorFor } from './errors.ts';
import { FrameChannel } from './channel.ts';
import { emitIsolated } from './emit.ts';
import { encodeFrame, type Frame } from './framing.ts';
import { routeFrame } from './frame-routing.ts';
import { PendingCalls, completeCall } from './pending-calls.ts';
import { decodeBalloonChangeMessage, decodeLifecycleMessage } from './procedures.ts';
import { clockDeadline } from './signals.ts';
import type { CallOptions } from './types.ts';
import { describeTarget, type ConnectTarget } from './uri.ts';

/** The events decoded here, by procedure: which event they become and how they decode. */
const DECODED_EVENTS = new Map<number, { readonly event: 'lifecycle' | 'balloon'; readonly what: string }>([
  [Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE, { event: 'lifecycle', what: 'a lifecycle event' }],
  [Proc.DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE, { event: 'balloon', what: 'a balloon-change event' }],
]);

/** One connection's call machinery over a connected byte stream; see {@link LibvirtConnection}. */
export class RpcConnection extends LibvirtApi<LibvirtConnectionEvents> {
  /** Where the socket goes. */
  readonly target: ConnectTarget;
  protected readonly keepaliveIntervalMs: number;
  private readonly channel: FrameChannel;
  private readonly closeTimeoutMs: number;
  private readonly clock: Clock;
  private readonly calls = new PendingCalls();
  private readonly slots: CallSlots;
  private closedError: LibvirtConnectionError | undefined;
  private closing: Promise<void> | undefined;
  private readonly anomalyLog: AnomalyLog;

  /**
   * Wraps an already connected byte stream (a unix/TCP/TLS socket, or any tunnel to libvirtd). The
   * handshake is not done here.
   */
  constructor(socket: Duplex, target: ConnectTarget, tuning: ConnectionTuning = {}) {
    super();
    this.target = target;
    this.keepaliveIntervalMs = tuning.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs;
    this.closeTimeoutMs = tuning.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs;
    this.clock = tuning.clock ?? systemClock;
    this.anomalyLog = new AnomalyLog(tuning.onAnomaly);
    this.slots = new CallSlots(Math.max(1, tuning.maxInFlight ?? DEFAULTS.maxInFlight), () => {
      this.safeEmit('idle');
    });
    const settings = {
      clock: this.clock,
      maxMessageBytes: tuning.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
      maxQueuedWriteBytes: tuning.maxQueuedWriteBytes ?? DEFAULTS.maxQueuedWriteBytes,
      keepaliveIntervalMs: this.keepaliveIntervalMs,
      keepaliveCount: Math.max(1, tuning.keepaliveCount ?? DEFAULTS.keepaliveCount),
    };
    this.channel = new FrameChannel(socket, target, settings, {
      frame: (frame) => {
        this.dispatch(frame);
      },
      failed: (err) => {
        this.fail(err);
      },
      closed: () => {
        // After close() the end of the socket is the expected outcome, not an error.
        const address = describeTarget(target);
        const err = new LibvirtConnectionError('CLOSED', `libvirtd closed the connection ${address}`, {
          address,
        });
        this.fail(this.closing !== undefined ? undefined : err);
      },
    });
  }

  /** Calls in flight, abandoned ones included (each holds a slot in libvirtd until its reply comes). */
  get inFlight(): number {
    return this.slots.inUse;
  }

  /** Calls given up by their callers whose replies have not arrived yet. */
  get abandonedInFlight(): number {
    return this.calls.abandoned;
  }

  /** Calls waiting locally for a free slot. */
  get queued(): number {
    return this.slots.queued;
  }

  /** True once the connection is closed or closing; calls then reject at once. */
  get closed(): boolean {
    return this.closedError !== undefined || this.closing !== undefined;
  }

  /** When the last bytes from the daemon arrived, on the connection's clock (ms). */
  get lastReceivedAt(): number {
    return this.channel.lastReceivedAt;
  }

  /** True when keepalive was negotiated with the daemon. */
  get keepaliveEnabled(): boolean {
    return this.channel.keepaliveEnabled;
  }

  /** How many of each {@link ConnectionAnomalyKind} this connection met. */
  get anomalies(): Readonly<Record<ConnectionAnomalyKind, number>> {
    return this.anomalyLog.snapshot;
  }

  /** Bytes of frames waiting for the socket to drain. */
  get queuedWrites(): number {
    return this.channel.queuedBytes;
  }

  /**
   * Calls a remote procedure. Waits for a free slot when `maxInFlight` calls are out. When the signal
   * aborts, the call rejects at once with LibvirtAbortError and becomes abandoned: it keeps its slot
   * until libvirtd answers, and that late reply is dropped.
   */
  call(proc: number, args?: Uint8Array, options: CallOptions = {}): Promise<Buffer> {
    return this.callInternal(proc, args, options.signal, false, options.onLateReply);
  }

  private async callInternal(
    proc: number,
    args: Uint8Array | undefined,
    signal: AbortSignal | undefined,
    internal: boolean,
    onLateReply?: (payload: Buffer) => void,
  ): Promise<Buffer> {
    if (signal?.aborted === true) throw abortErrorFor(signal, `call of procedure ${proc}`);
    this.throwIfClosed(internal);
    if (!internal) await this.slots.acquire(signal, proc);
    else this.slots.force();
    this.throwIfClosed(internal, true);
    // (A function call, because TypeScript narrows `signal.aborted` across the await above.)
    if (signal !== undefined && isAborted(signal)) {
      // Aborted in the moment between being granted a slot and sending: nothing was sent.
      this.slots.release();
      throw abortErrorFor(signal, `call of procedure ${proc}`);
    }
    const serial = this.calls.nextSerial();
    return await new Promise<Buffer>((resolve, reject) => {
      const onAbort = (): void => {
        if (signal === undefined || !this.calls.isLive(serial)) return;
        if (this.channel.unqueue(serial)) {
          // Still waiting for the socket to drain: nothing was sent, so no slot is held in libvirtd.
          this.calls.take(serial);
          this.slots.release();
        } else {
          this.calls.abandon(serial);
        }
        reject(abortErrorFor(signal, `call of procedure ${proc}`));
      };
      const detach = (): void => signal?.removeEventListener('abort', onAbort);
      this.calls.add(serial, { proc, resolve, reject, abandoned: false, detach, onLateReply });
      signal?.addEventListener('abort', onAbort, { once: true });
      const header = { prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, proc, serial };
      this.channel.send(
        encodeFrame({ ...header, type: MessageType.CALL, status: MessageStatus.OK }, args),
        serial,
      );
    });
  }

  /**
   * Emits an event to each listener in turn, each isolated from the others and from the socket's data
   * handler (issue 15, item 8): a listener that throws is counted as a `listener-error` anomaly and the
   * connection carries on, instead of the exception escaping into the socket's 'data' event and
   * ending the process.
   */
  protected safeEmit<K extends keyof LibvirtConnectionEvents>(
    event: K,
    ...args: LibvirtConnectionEvents[K]
  ): void {
    emitIsolated(this, event, args, (err) => {
      this.anomalyLog.record('listener-error', `a '${event}' listener threw: ${String(err)}`, err, event);
    });
  }

  private throwIfClosed(internal: boolean, holdsSlot = false): void {
    const err =
      this.closedError ?? (this.closing !== undefined && !internal ? this.localCloseError() : undefined);
    if (err === undefined) return;
    if (holdsSlot) this.slots.release();
    throw err;
  }

  private localCloseError(): LibvirtConnectionError {
    const address = describeTarget(this.target);
    return new LibvirtConnectionError('CLOSED_LOCALLY', `connection to ${address} is closed`, { address });
  }

  private dispatch(frame: Frame): void {
    const route = routeFrame(frame, (serial) => this.calls.has(serial));
    if (route.to === 'reply') {
      this.settle(frame);
    } else if (route.to === 'event') {
      this.onEvent(frame);
    } else {
      this.anomalyLog.record(route.kind, route.message);
    }
  }

  private settle(frame: Frame): void {
    const call = this.calls.get(frame.serial);
    if (call === undefined) return;
    if (frame.vers !== REMOTE_PROTOCOL_VERSION || frame.proc !== call.proc) {
      // The serial is a call's, the rest is not: libvirt's own client refuses such a reply too. Which
      // reply belongs to which call is no longer certain, so no call on this connection may trust its
      // reply: fail the connection (the client opens a new one on the next call).
      const message = `reply for serial ${frame.serial} is procedure ${frame.proc} version ${frame.vers}, but that call is procedure ${call.proc} version ${REMOTE_PROTOCOL_VERSION} (${describeTarget(this.target)})`;
      const err = new LibvirtConnectionError('PROTOCOL', message, { address: describeTarget(this.target) });
      this.anomalyLog.record('mismatched-reply', message, err);
      this.fail(err);
      return;
    }
    this.calls.take(frame.serial);
    this.slots.release();
    completeCall(call, frame);
  }

  private onEvent(frame: Frame): void {
    const decoded = DECODED_EVENTS.get(frame.proc);
    if (decoded === undefined) {
      this.safeEmit('message', frame.proc, frame.payload);
      return;
    }
    try {
      if (decoded.event === 'lifecycle') this.safeEmit('lifecycle', decodeLifecycleMessage(frame.payload));
      else this.safeEmit('balloon', decodeBalloonChangeMessage(frame.payload));
    } catch (err) {
      // An undecodable event must not take the connection down (listeners' errors are caught inside).
      this.anomalyLog.record('undecodable-event', `dropped ${decoded.what}: ${String(err)}`, err);
    }
  }

  /** Starts keepalive (once the daemon said it supports it). */
  protected startKeepalive(): void {
    if (this.closedError === undefined) this.channel.startKeepalive();
  }

  /** Fails the connection: rejects every pending and queued call with `err` and emits 'close'. */
  private fail(err: LibvirtConnectionError | undefined): void {
    if (this.closedError !== undefined) return;
    const reported = err ?? this.localCloseError();
    this.closedError = reported;
    this.channel.destroy();
    for (const call of this.calls.drain()) {
      call.detach();
      if (!call.abandoned) call.reject(reported);
    }
    this.slots.clear(reported);
    this.safeEmit('close', err);
  }

  /** Destroys the socket at once, without CONNECT_CLOSE. Pending calls reject. */
  destroy(err?: LibvirtConnectionError): void {
    this.fail(err);
  }

  /**
   * Closes cleanly: CONNECT_CLOSE (bounded by `closeTimeoutMs`), then ends the socket. Idempotent; calls
   * made meanwhile reject, and pending calls reject with a CLOSED_LOCALLY error.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.closedError !== undefined) return;
    const bound = clockDeadline(this.clock, this.closeTimeoutMs);
    // Reject the callers' pending calls now; CONNECT_CLOSE goes out regardless of the in-flight cap.
    const localErr = this.localCloseError();
    this.slots.rejectWaiters(localErr);
    this.calls.abandonAll(localErr);
    try {
      await this.callInternal(Proc.CONNECT_CLOSE, undefined, bound.signal, true);
    } catch {
      // The daemon may be gone or stuck; the socket is closed below either way.
    } finally {
      bound.clear();
    }
    if (!this.failed()) await this.endSocket();
  }

  private failed(): boolean {
    return this.closedError !== undefined;
  }

  /** Ends the socket and waits for 'close', destroying it after `closeTimeoutMs`. */
  private async endSocket(): Promise<void> {
    const ended = new Promise<void>((resolve) => {
      this.once('close', () => {
        resolve();
      });
    });
    this.channel.end();
    const cancel = this.clock.setTimer(() => {
      this.fail(undefined);
    }, this.closeTimeoutMs);
    await ended;
    cancel();
  }
}

/** Whether a signal has fired (read fresh, after an await). */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
