// SPDX-License-Identifier: Apache-2.0
/**
 * One RPC connection to libvirtd: pipelined calls matched by serial, a cap on calls in flight, abortable
 * calls whose late replies are discarded, keepalive in both directions, lifecycle events, and the open
 * handshake (AUTH_LIST, AUTH_POLKIT, CONNECT_OPEN, keepalive negotiation).
 *
 * @packageDocumentation
 */
import type { Duplex } from 'node:stream';

import {
  AuthType,
  ConnectFlags,
  DEFAULT_MAX_MESSAGE_BYTES,
  DrvFeature,
  DomainEventId,
  KEEPALIVE_PROC,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
} from './constants.ts';
import {
  LibvirtAbortError,
  LibvirtConnectionError,
  LibvirtError,
  XdrDecodeError,
  abortErrorFor,
} from './errors.ts';
import { FrameDecoder, decodeFrame, encodeFrame, type Frame } from './framing.ts';
import {
  LibvirtApi,
  Proc,
  decodeAuthListRet,
  decodeAuthPolkitRet,
  decodeBalloonChangeMessage,
  decodeCallbackId,
  decodeLifecycleMessage,
  decodeRemoteError,
  encodeConnectOpenArgs,
  encodeDeregisterArgs,
  encodeRegisterEventArgs,
  type BalloonChangeEvent,
  type CallOptions,
  type Domain,
  type LifecycleEvent,
} from './procedures.ts';
import { connectionErrorFrom, openSocket } from './transport.ts';
import { systemClock, type Clock } from './clock.ts';
import { clockDeadline } from './signals.ts';
import { describeTarget, parseLibvirtUri, type ConnectTarget, type UriOptions } from './uri.ts';

/** Tunables of one connection. Every field has a default. */
export interface ConnectionTuning {
  /** Calls in flight at once, abandoned ones included (libvirtd's max_client_requests; default 5). */
  readonly maxInFlight?: number;
  /** Largest accepted message, header plus payload (default 32 MiB). */
  readonly maxMessageBytes?: number;
  /** Send a keepalive PING after this much silence from the server; 0 disables (default 5000). */
  readonly keepaliveIntervalMs?: number;
  /** Declare the server dead after this many intervals without any traffic (default 5). */
  readonly keepaliveCount?: number;
  /** How long close() waits for CONNECT_CLOSE and for the socket to end (default 2000). */
  readonly closeTimeoutMs?: number;
  /** Time source of every timer of the connection (default: the system clock). */
  readonly clock?: Clock;
}

/** Options of {@link LibvirtConnection.open}. */
export interface LibvirtConnectionOptions extends UriOptions, ConnectionTuning {
  /** Connection URI (default `qemu:///system`). */
  readonly uri?: string;
  /** Open read-only (VIR_CONNECT_RO) and prefer the read-only socket (default true). */
  readonly readOnly?: boolean;
  /** Bound on the whole open sequence: connect, auth, CONNECT_OPEN, keepalive (default 10000). */
  readonly connectTimeoutMs?: number;
  /** Aborts opening. */
  readonly signal?: AbortSignal;
}

/** Events of a {@link LibvirtConnection}. */
export interface LibvirtConnectionEvents {
  /** The connection is closed; the error is undefined after a clean local close(). */
  close: [error: LibvirtConnectionError | undefined];
  /** A domain lifecycle event for a registered callback. */
  lifecycle: [event: LifecycleEvent];
  /** A balloon-change event for a registered callback. */
  balloon: [event: BalloonChangeEvent];
  /** Another asynchronous message (event) from the server that this client does not decode. */
  message: [proc: number, payload: Buffer];
  /** No call is in flight any more (abandoned ones included). */
  idle: [];
}

interface PendingCall {
  readonly proc: number;
  readonly resolve: (payload: Buffer) => void;
  readonly reject: (err: Error) => void;
  abandoned: boolean;
  detach: () => void;
  /** Receives the successful reply of the call after its caller abandoned it, if it still comes. */
  readonly onLateReply?: ((payload: Buffer) => void) | undefined;
}

interface SlotWaiter {
  readonly grant: () => void;
  readonly reject: (err: Error) => void;
}

const DEFAULTS = {
  maxInFlight: 5,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  keepaliveIntervalMs: 5000,
  keepaliveCount: 5,
  closeTimeoutMs: 2000,
  connectTimeoutMs: 10000,
} as const;

/**
 * One connection to libvirtd. Open it with {@link LibvirtConnection.open}; prefer {@link LibvirtClient},
 * which adds reconnection, unless you manage connections yourself.
 */
export class LibvirtConnection extends LibvirtApi<LibvirtConnectionEvents> {
  /** Where the socket goes. */
  readonly target: ConnectTarget;
  private readonly socket: Duplex;
  private readonly decoder: FrameDecoder;
  private readonly maxInFlight: number;
  private readonly keepaliveIntervalMs: number;
  private readonly keepaliveCount: number;
  private readonly closeTimeoutMs: number;
  private readonly clock: Clock;

  private serial = 0;
  private readonly pending = new Map<number, PendingCall>();
  private slotsUsed = 0;
  private abandoned = 0;
  private readonly waiters: SlotWaiter[] = [];
  private closedError: LibvirtConnectionError | undefined;
  private closing: Promise<void> | undefined;
  private lastReceive: number;
  private cancelKeepalive: (() => void) | undefined;
  private keepaliveOn = false;
  private readonly callbacks = new Set<number>();

  /**
   * Wraps an already connected byte stream (a unix/TCP/TLS socket, or any tunnel to libvirtd). The
   * handshake is not done: call {@link handshake} next, or use {@link LibvirtConnection.open}.
   */
  constructor(socket: Duplex, target: ConnectTarget, tuning: ConnectionTuning = {}) {
    super();
    this.socket = socket;
    this.target = target;
    this.maxInFlight = Math.max(1, tuning.maxInFlight ?? DEFAULTS.maxInFlight);
    this.keepaliveIntervalMs = tuning.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs;
    this.keepaliveCount = Math.max(1, tuning.keepaliveCount ?? DEFAULTS.keepaliveCount);
    this.closeTimeoutMs = tuning.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs;
    this.clock = tuning.clock ?? systemClock;
    this.lastReceive = this.clock.now();
    this.decoder = new FrameDecoder(tuning.maxMessageBytes ?? DEFAULTS.maxMessageBytes);
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('error', (err: Error) => {
      this.fail(connectionErrorFrom(err, target));
    });
    socket.on('close', () => {
      // After close() the end of the socket is the expected outcome, not an error.
      this.fail(
        this.closing !== undefined
          ? undefined
          : new LibvirtConnectionError('CLOSED', `libvirtd closed the connection ${describeTarget(target)}`, {
              address: describeTarget(target),
            }),
      );
    });
    socket.on('end', () => {
      // The server half-closed: nothing more will come, so finish our side too.
      socket.end();
    });
  }

  /**
   * Connects to libvirtd and opens the hypervisor connection: AUTH_LIST, AUTH_POLKIT when asked,
   * CONNECT_OPEN (read-only unless `readOnly: false`), then keepalive negotiation. The whole sequence is
   * bounded by `connectTimeoutMs` and `signal`.
   */
  static async open(options: LibvirtConnectionOptions = {}): Promise<LibvirtConnection> {
    const uri = options.uri ?? 'qemu:///system';
    const parsed = parseLibvirtUri(uri, options);
    const timeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    // NOTE: not AbortSignal.any([…, AbortSignal.timeout()]), which garbage collection can lose on Node 20.
    const bound = clockDeadline(options.clock ?? systemClock, timeoutMs, options.signal);
    const { signal } = bound;
    const timedOut = (): boolean => signal.aborted && options.signal?.aborted !== true;
    const address = describeTarget(parsed.target);
    const timeoutError = (): LibvirtConnectionError =>
      new LibvirtConnectionError(
        'CONNECT_TIMEOUT',
        `opening ${uri} via ${address} took longer than ${timeoutMs} ms`,
        {
          address,
        },
      );

    let socket;
    try {
      socket = await openSocket(parsed.target, { signal });
    } catch (err) {
      bound.clear();
      if (err instanceof LibvirtAbortError && timedOut()) throw timeoutError();
      throw err;
    }
    const conn = new LibvirtConnection(socket, parsed.target, options);
    try {
      await conn.handshake(parsed.name, { readOnly: options.readOnly ?? true, signal });
    } catch (err) {
      conn.destroy();
      if (err instanceof LibvirtAbortError && timedOut()) throw timeoutError();
      throw err;
    } finally {
      bound.clear();
    }
    return conn;
  }

  /**
   * Runs the open sequence on a fresh socket: authentication, CONNECT_OPEN with `name` (null lets the
   * daemon choose), then turns keepalive on when the daemon supports it.
   */
  async handshake(
    name: string | null,
    options: { readOnly?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    const callOptions = { signal: options.signal };
    const types = await this.authList(callOptions);
    if (types.length > 0 && !types.includes(AuthType.NONE)) {
      if (types.includes(AuthType.POLKIT)) {
        const complete = await this.authPolkit(callOptions);
        if (!complete) {
          throw new LibvirtConnectionError('AUTH_UNSUPPORTED', 'polkit authentication did not complete', {
            address: describeTarget(this.target),
          });
        }
      } else {
        throw new LibvirtConnectionError(
          'AUTH_UNSUPPORTED',
          `SASL authentication is not supported; use the read-only unix socket or TLS (server offers auth types ${types.join(',')})`,
          { address: describeTarget(this.target) },
        );
      }
    }
    await this.connectOpen(name, (options.readOnly ?? true) ? ConnectFlags.RO : 0, callOptions);
    if (
      this.keepaliveIntervalMs > 0 &&
      (await this.supportsFeature(DrvFeature.PROGRAM_KEEPALIVE, callOptions))
    ) {
      this.startKeepalive();
    }
  }

  /** Calls in flight, abandoned ones included (each holds a slot in libvirtd until its reply comes). */
  get inFlight(): number {
    return this.slotsUsed;
  }

  /** Calls given up by their callers whose replies have not arrived yet. */
  get abandonedInFlight(): number {
    return this.abandoned;
  }

  /** Calls waiting locally for a free slot. */
  get queued(): number {
    return this.waiters.length;
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
    return this.keepaliveOn;
  }

  /** Returns the authentication types the daemon accepts (AUTH_LIST). */
  async authList(options: CallOptions = {}): Promise<number[]> {
    return decodeAuthListRet(await this.call(Proc.AUTH_LIST, undefined, options));
  }

  /** Asks the daemon to authorise this client through polkit (AUTH_POLKIT). */
  async authPolkit(options: CallOptions = {}): Promise<boolean> {
    return decodeAuthPolkitRet(await this.call(Proc.AUTH_POLKIT, undefined, options));
  }

  /** Opens the hypervisor connection (CONNECT_OPEN); `flags` are `ConnectFlags` bits. */
  async connectOpen(name: string | null, flags: number, options: CallOptions = {}): Promise<void> {
    await this.call(Proc.CONNECT_OPEN, encodeConnectOpenArgs(name, flags), options);
  }

  /** Closes the hypervisor connection on the daemon side (CONNECT_CLOSE); prefer {@link close}. */
  async connectClose(options: CallOptions = {}): Promise<void> {
    await this.call(Proc.CONNECT_CLOSE, undefined, options);
  }

  /**
   * Registers for lifecycle events of one domain, or of all when `dom` is null. Events arrive as
   * 'lifecycle' events carrying the returned callback id.
   */
  async registerLifecycleEvents(dom: Domain | null, options: CallOptions = {}): Promise<number> {
    return this.registerDomainEvents(DomainEventId.LIFECYCLE, dom, options);
  }

  /**
   * Registers for domain events of `eventId` (`DomainEventId`) of one domain, or of all when `dom` is
   * null. Lifecycle and balloon-change events are decoded ('lifecycle', 'balloon'); others arrive as
   * 'message' events. Resolves with the callback id the events carry.
   */
  async registerDomainEvents(
    eventId: number,
    dom: Domain | null,
    options: CallOptions = {},
  ): Promise<number> {
    const payload = await this.call(
      Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
      encodeRegisterEventArgs(eventId, dom),
      options,
    );
    const id = decodeCallbackId(payload);
    this.callbacks.add(id);
    return id;
  }

  /** Removes a registration (lifecycle or another event id). */
  async deregisterLifecycleEvents(callbackId: number, options: CallOptions = {}): Promise<void> {
    this.callbacks.delete(callbackId);
    await this.call(
      Proc.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
      encodeDeregisterArgs(callbackId),
      options,
    );
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
    if (!internal) await this.acquireSlot(signal, proc);
    else this.slotsUsed++; // CONNECT_CLOSE during close() must not queue behind stuck calls
    this.throwIfClosed(internal, true);
    // (A function call, because TypeScript narrows `signal.aborted` across the await above.)
    if (signal !== undefined && isAborted(signal)) {
      // Aborted in the moment between being granted a slot and sending: nothing was sent.
      this.releaseSlot();
      throw abortErrorFor(signal, `call of procedure ${proc}`);
    }

    // Serials are u32; after wrapping, skip any still held by a (possibly abandoned) call.
    do {
      this.serial = this.serial >= 0xffffffff ? 1 : this.serial + 1;
    } while (this.pending.has(this.serial));
    const serial = this.serial;
    return await new Promise<Buffer>((resolve, reject) => {
      const onAbort = (): void => {
        const call = this.pending.get(serial);
        if (call === undefined || call.abandoned || signal === undefined) return;
        call.abandoned = true;
        this.abandoned++;
        reject(abortErrorFor(signal, `call of procedure ${proc}`));
      };
      const call: PendingCall = {
        proc,
        resolve,
        reject,
        abandoned: false,
        detach: () => signal?.removeEventListener('abort', onAbort),
        onLateReply,
      };
      this.pending.set(serial, call);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.socket.write(
        encodeFrame(
          {
            prog: REMOTE_PROGRAM,
            vers: REMOTE_PROTOCOL_VERSION,
            proc,
            type: MessageType.CALL,
            serial,
            status: MessageStatus.OK,
          },
          args,
        ),
      );
    });
  }

  private throwIfClosed(internal: boolean, holdsSlot = false): void {
    const err =
      this.closedError ?? (this.closing !== undefined && !internal ? this.localCloseError() : undefined);
    if (err === undefined) return;
    if (holdsSlot) this.releaseSlot();
    throw err;
  }

  private localCloseError(): LibvirtConnectionError {
    const address = describeTarget(this.target);
    return new LibvirtConnectionError('CLOSED_LOCALLY', `connection to ${address} is closed`, { address });
  }

  private async acquireSlot(signal: AbortSignal | undefined, proc: number): Promise<void> {
    if (this.slotsUsed < this.maxInFlight) {
      this.slotsUsed++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        if (signal !== undefined)
          reject(abortErrorFor(signal, `call of procedure ${proc} (waiting for a free slot)`));
      };
      const waiter: SlotWaiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private releaseSlot(): void {
    const next = this.waiters.shift();
    if (next !== undefined) {
      next.grant(); // the slot passes straight to the next waiter
      return;
    }
    this.slotsUsed--;
    if (this.slotsUsed === 0) this.emit('idle');
  }

  private onData(chunk: Buffer): void {
    this.lastReceive = this.clock.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const address = describeTarget(this.target);
      this.fail(
        new LibvirtConnectionError(
          'FRAME_INVALID',
          `invalid frame from ${address}: ${(err as Error).message}`,
          {
            cause: err,
            address,
          },
        ),
      );
      return;
    }
    for (const raw of frames) {
      if (this.closedError !== undefined) return;
      this.dispatch(decodeFrame(raw));
    }
  }

  private dispatch(frame: Frame): void {
    if (frame.prog === KEEPALIVE_PROGRAM) {
      if (frame.proc === KEEPALIVE_PROC.PING) this.sendKeepalive(KEEPALIVE_PROC.PONG);
      return;
    }
    if (frame.prog !== REMOTE_PROGRAM) return; // another program (qemu, lxc) this client never calls
    if (frame.type === MessageType.REPLY || frame.type === MessageType.REPLY_WITH_FDS) {
      this.settle(frame);
    } else if (frame.type === MessageType.MESSAGE) {
      this.onEvent(frame);
    }
    // STREAM frames only follow stream calls, which this client does not make.
  }

  private settle(frame: Frame): void {
    const call = this.pending.get(frame.serial);
    if (call === undefined) return; // not ours (or already failed): never deliver by guesswork
    this.pending.delete(frame.serial);
    call.detach();
    if (call.abandoned) this.abandoned--;
    this.releaseSlot();
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

  private onEvent(frame: Frame): void {
    if (frame.proc === Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE) {
      let event: LifecycleEvent;
      try {
        event = decodeLifecycleMessage(frame.payload);
      } catch {
        return; // an undecodable event must not take the connection down
      }
      this.emit('lifecycle', event);
      return;
    }
    if (frame.proc === Proc.DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE) {
      let event: BalloonChangeEvent;
      try {
        event = decodeBalloonChangeMessage(frame.payload);
      } catch {
        return; // as above
      }
      this.emit('balloon', event);
      return;
    }
    this.emit('message', frame.proc, frame.payload);
  }

  private sendKeepalive(proc: number): void {
    if (this.closedError !== undefined) return;
    this.socket.write(
      encodeFrame({
        prog: KEEPALIVE_PROGRAM,
        vers: KEEPALIVE_PROTOCOL_VERSION,
        proc,
        type: MessageType.MESSAGE,
        serial: 0,
        status: MessageStatus.OK,
      }),
    );
  }

  private startKeepalive(): void {
    if (this.keepaliveOn || this.closedError !== undefined) return;
    this.keepaliveOn = true;
    this.lastReceive = this.clock.now();
    const interval = this.keepaliveIntervalMs;
    const tick = (): void => {
      if (this.closedError !== undefined) return;
      const silence = this.clock.now() - this.lastReceive;
      if (silence >= interval * this.keepaliveCount) {
        const address = describeTarget(this.target);
        this.fail(
          new LibvirtConnectionError(
            'KEEPALIVE_TIMEOUT',
            `no traffic from libvirtd at ${address} for ${silence} ms despite keepalive pings: the daemon looks frozen`,
            { address },
          ),
        );
        return;
      }
      if (silence >= interval) this.sendKeepalive(KEEPALIVE_PROC.PING);
      this.cancelKeepalive = this.clock.setTimer(tick, interval);
    };
    this.cancelKeepalive = this.clock.setTimer(tick, interval);
  }

  /** Fails the connection: rejects every pending and queued call with `err` and emits 'close'. */
  private fail(err: LibvirtConnectionError | undefined): void {
    if (this.closedError !== undefined) return;
    const reported = err ?? this.localCloseError();
    this.closedError = reported;
    this.cancelKeepalive?.();
    this.decoder.reset();
    const calls = [...this.pending.values()];
    this.pending.clear();
    this.abandoned = 0;
    this.slotsUsed = 0;
    const waiters = this.waiters.splice(0);
    for (const call of calls) {
      call.detach();
      if (!call.abandoned) call.reject(reported);
    }
    for (const waiter of waiters) waiter.reject(reported);
    this.socket.destroy();
    this.emit('close', err);
  }

  private failed(): boolean {
    return this.closedError !== undefined;
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
    const timeout = bound.signal;
    // Reject the callers' pending calls now; CONNECT_CLOSE goes out regardless of the in-flight cap.
    const localErr = this.localCloseError();
    for (const waiter of this.waiters.splice(0)) waiter.reject(localErr);
    for (const call of this.pending.values()) {
      if (!call.abandoned) {
        call.abandoned = true;
        this.abandoned++;
        call.detach();
        call.reject(localErr);
      }
    }
    try {
      await this.callInternal(Proc.CONNECT_CLOSE, undefined, timeout, true);
    } catch {
      // The daemon may be gone or stuck; the socket is closed below either way.
    } finally {
      bound.clear();
    }
    if (!this.failed()) {
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
}

/** Whether a signal has fired (read fresh, after an await). */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
