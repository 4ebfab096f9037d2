// SPDX-License-Identifier: Apache-2.0
/**
 * The call machinery of one RPC connection: pipelined calls matched by serial, a cap on calls in
 * flight, abandonable calls whose late replies are dropped, keepalive answers, event delivery, and
 * failure and close. {@link LibvirtConnection} adds the open handshake on top.
 *
 * @packageDocumentation
 */
import type { Duplex } from 'node:stream';

import { LibvirtApi } from './api.ts';
import { CallSlots } from './call-slots.ts';
import { systemClock, type Clock } from './clock.ts';
import {
  CONNECTION_DEFAULTS as DEFAULTS,
  type ConnectionAnomaly,
  type ConnectionAnomalyKind,
  type ConnectionTuning,
  type LibvirtConnectionEvents,
} from './connection-types.ts';
import {
  KEEPALIVE_PROC,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  MessageStatus,
  MessageType,
  Proc,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
} from './constants.ts';
import { LibvirtConnectionError, abortErrorFor } from './errors.ts';
import { FrameDecoder, decodeFrame, encodeFrame, type Frame } from './framing.ts';
import { Keepalive } from './keepalive.ts';
import { PendingCalls, completeCall } from './pending-calls.ts';
import { decodeBalloonChangeMessage, decodeLifecycleMessage } from './procedures.ts';
import { clockDeadline } from './signals.ts';
import { connectionErrorFrom } from './transport.ts';
import type { CallOptions } from './types.ts';
import { describeTarget, type ConnectTarget } from './uri.ts';
import { WriteQueue } from './write-queue.ts';

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
  private readonly socket: Duplex;
  private readonly decoder: FrameDecoder;
  private readonly closeTimeoutMs: number;
  private readonly clock: Clock;
  private readonly calls = new PendingCalls();
  private readonly slots: CallSlots;
  private readonly writes: WriteQueue;
  private readonly keepalive: Keepalive;
  private closedError: LibvirtConnectionError | undefined;
  private closing: Promise<void> | undefined;
  private lastReceive: number;
  private readonly onAnomaly: ((anomaly: ConnectionAnomaly) => void) | undefined;
  private readonly anomalyCounts: Record<ConnectionAnomalyKind, number> = {
    'unmatched-reply': 0,
    'mismatched-reply': 0,
    'unexpected-frame': 0,
    'undecodable-event': 0,
    'listener-error': 0,
  };

  /**
   * Wraps an already connected byte stream (a unix/TCP/TLS socket, or any tunnel to libvirtd). The
   * handshake is not done here.
   */
  constructor(socket: Duplex, target: ConnectTarget, tuning: ConnectionTuning = {}) {
    super();
    this.socket = socket;
    this.target = target;
    this.keepaliveIntervalMs = tuning.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs;
    this.closeTimeoutMs = tuning.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs;
    this.clock = tuning.clock ?? systemClock;
    this.lastReceive = this.clock.now();
    this.decoder = new FrameDecoder(tuning.maxMessageBytes ?? DEFAULTS.maxMessageBytes);
    this.onAnomaly = tuning.onAnomaly;
    this.slots = new CallSlots(Math.max(1, tuning.maxInFlight ?? DEFAULTS.maxInFlight), () => {
      this.safeEmit('idle');
    });
    this.writes = new WriteQueue(
      socket,
      tuning.maxQueuedWriteBytes ?? DEFAULTS.maxQueuedWriteBytes,
      (max) => {
        this.fail(
          this.connectionError(
            'SOCKET',
            (a) => `${a} does not read its socket: over ${max} bytes wait to be written`,
          ),
        );
      },
    );
    this.keepalive = new Keepalive({
      clock: this.clock,
      intervalMs: this.keepaliveIntervalMs,
      count: Math.max(1, tuning.keepaliveCount ?? DEFAULTS.keepaliveCount),
      lastReceivedAt: () => this.lastReceive,
      ping: () => {
        this.sendKeepalive(KEEPALIVE_PROC.PING);
      },
      timedOut: (silence) => {
        this.fail(
          this.connectionError(
            'KEEPALIVE_TIMEOUT',
            (a) =>
              `no traffic from libvirtd at ${a} for ${silence} ms despite keepalive pings: the daemon looks frozen`,
          ),
        );
      },
    });
    this.listen(socket);
  }

  private listen(socket: Duplex): void {
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('error', (err: Error) => {
      this.fail(connectionErrorFrom(err, this.target));
    });
    socket.on('close', () => {
      // After close() the end of the socket is the expected outcome, not an error.
      const address = describeTarget(this.target);
      const err = new LibvirtConnectionError('CLOSED', `libvirtd closed the connection ${address}`, {
        address,
      });
      this.fail(this.closing !== undefined ? undefined : err);
    });
    socket.on('end', () => {
      // The server half-closed: nothing more will come, so finish our side too.
      socket.end();
    });
  }

  /** A LibvirtConnectionError whose message names the peer's address. */
  private connectionError(
    reason: LibvirtConnectionError['reason'],
    message: (address: string) => string,
  ): LibvirtConnectionError {
    const address = describeTarget(this.target);
    return new LibvirtConnectionError(reason, message(address), { address });
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
    return this.lastReceive;
  }

  /** True when keepalive was negotiated with the daemon. */
  get keepaliveEnabled(): boolean {
    return this.keepalive.enabled;
  }

  /** How many of each {@link ConnectionAnomalyKind} this connection met. */
  get anomalies(): Readonly<Record<ConnectionAnomalyKind, number>> {
    return { ...this.anomalyCounts };
  }

  /** Bytes of frames waiting for the socket to drain. */
  get queuedWrites(): number {
    return this.writes.queuedBytes;
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
        if (this.writes.unqueue(serial)) {
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
      this.writes.send(
        encodeFrame({ ...header, type: MessageType.CALL, status: MessageStatus.OK }, args),
        serial,
      );
    });
  }

  /** Counts an anomaly and reports it to `onAnomaly` (whose own exceptions are ignored). */
  private anomaly(kind: ConnectionAnomalyKind, message: string, error?: unknown): void {
    this.anomalyCounts[kind]++;
    if (this.onAnomaly === undefined) return;
    try {
      this.onAnomaly(error === undefined ? { kind, message } : { kind, message, error });
    } catch {
      // The hook is for logging and counting: its failure must not reach the socket's handlers.
    }
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
    for (const listener of this.rawListeners(event) as ((...a: unknown[]) => unknown)[]) {
      try {
        listener.apply(this, args);
      } catch (err) {
        this.anomaly('listener-error', `a '${event}' listener threw: ${String(err)}`, err);
      }
    }
  }

  private throwIfClosed(internal: boolean, holdsSlot = false): void {
    const err =
      this.closedError ?? (this.closing !== undefined && !internal ? this.localCloseError() : undefined);
    if (err === undefined) return;
    if (holdsSlot) this.slots.release();
    throw err;
  }

  private localCloseError(): LibvirtConnectionError {
    return this.connectionError('CLOSED_LOCALLY', (a) => `connection to ${a} is closed`);
  }

  private onData(chunk: Buffer): void {
    this.lastReceive = this.clock.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const address = describeTarget(this.target);
      const message = `invalid frame from ${address}: ${(err as Error).message}`;
      this.fail(new LibvirtConnectionError('FRAME_INVALID', message, { cause: err, address }));
      return;
    }
    for (const raw of frames) {
      if (this.closedError !== undefined) return;
      this.dispatch(decodeFrame(raw));
    }
  }

  private dispatch(frame: Frame): void {
    if (frame.prog === KEEPALIVE_PROGRAM && frame.vers === KEEPALIVE_PROTOCOL_VERSION) {
      if (frame.proc === KEEPALIVE_PROC.PING) this.sendKeepalive(KEEPALIVE_PROC.PONG);
      return;
    }
    const isReply = frame.type === MessageType.REPLY || frame.type === MessageType.REPLY_WITH_FDS;
    if (isReply && this.calls.has(frame.serial) && frame.prog === REMOTE_PROGRAM) {
      this.settle(frame);
    } else if (isReply) {
      // Not ours (another program, a serial never sent, or a call already failed): never deliver by
      // guesswork, not even to a call of the same serial on another program.
      this.anomaly(
        'unmatched-reply',
        `dropped a reply for serial ${frame.serial} (program 0x${frame.prog.toString(16)}, procedure ${frame.proc}) that no call waits for`,
      );
    } else if (
      frame.prog === REMOTE_PROGRAM &&
      frame.vers === REMOTE_PROTOCOL_VERSION &&
      frame.type === MessageType.MESSAGE
    ) {
      this.onEvent(frame);
    } else {
      // Another program (qemu, lxc) or version this client never calls, a server-side CALL, or a STREAM
      // frame (those only follow stream calls, which this client does not make).
      this.anomaly(
        'unexpected-frame',
        `dropped a message of program 0x${frame.prog.toString(16)} version ${frame.vers} type ${frame.type} procedure ${frame.proc}`,
      );
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
      this.anomaly('mismatched-reply', message, err);
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
      this.anomaly('undecodable-event', `dropped ${decoded.what}: ${String(err)}`, err);
    }
  }

  private sendKeepalive(proc: number): void {
    // While the socket does not drain, a PING or PONG would only queue behind calls the peer is not
    // reading either: skip it (the keepalive timeout still watches what the peer sends).
    if (this.closedError !== undefined || this.writes.isBlocked) return;
    const header = { prog: KEEPALIVE_PROGRAM, vers: KEEPALIVE_PROTOCOL_VERSION, proc, serial: 0 };
    this.writes.send(encodeFrame({ ...header, type: MessageType.MESSAGE, status: MessageStatus.OK }));
  }

  /** Starts keepalive (once the daemon said it supports it). */
  protected startKeepalive(): void {
    if (this.closedError !== undefined) return;
    if (!this.keepalive.enabled) this.lastReceive = this.clock.now();
    this.keepalive.start();
  }

  /** Fails the connection: rejects every pending and queued call with `err` and emits 'close'. */
  private fail(err: LibvirtConnectionError | undefined): void {
    if (this.closedError !== undefined) return;
    const reported = err ?? this.localCloseError();
    this.closedError = reported;
    this.keepalive.stop();
    this.decoder.reset();
    this.writes.close();
    for (const call of this.calls.drain()) {
      call.detach();
      if (!call.abandoned) call.reject(reported);
    }
    this.slots.clear(reported);
    this.socket.destroy();
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
    this.socket.end();
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
