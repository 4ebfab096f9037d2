// SPDX-License-Identifier: Apache-2.0
/**
 * {@link LibvirtClient}: the long-lived facade over {@link LibvirtConnection}. It connects lazily,
 * reconnects on the next call after the connection died, moves to a fresh connection when too many
 * abandoned calls pin the current one, re-registers lifecycle subscriptions, and counts what happens.
 *
 * @packageDocumentation
 */
import { LibvirtConnectionError, LibvirtError, abortErrorFor, LibvirtAbortError } from './errors.ts';
import { LibvirtConnection, type ConnectionAnomaly, type LibvirtConnectionOptions } from './connection.ts';
import { withDeadline } from './signals.ts';
import { systemClock, type Clock } from './clock.ts';
import { DomainEventId } from './constants.ts';
import {
  GuestEventProc,
  decodeIoErrorMessage,
  decodeWatchdogMessage,
  type IoErrorEvent,
  type WatchdogEvent,
} from './guest-and-events.ts';
import {
  LibvirtApi,
  type BalloonChangeEvent,
  type CallOptions,
  type Domain,
  type LifecycleEvent,
} from './procedures.ts';

/** Options of {@link LibvirtClient}: connection options plus the client's own policies. */
export interface LibvirtClientOptions extends Omit<LibvirtConnectionOptions, 'signal'> {
  /**
   * Move new calls to a fresh connection once the current one holds this many abandoned calls
   * (default 2). Abandoned calls occupy libvirtd's per-connection request slots until they finish.
   */
  readonly maxAbandonedCalls?: number;
  /** How long a retired connection may wait for its calls to settle before it is closed (default 60000). */
  readonly retireGraceMs?: number;
  /**
   * After a failed connection attempt, calls within this many ms fail at once with the same error
   * instead of trying again (default 0: every call after a failed attempt tries again, so the first
   * call after the daemon returns succeeds; concurrent calls share one attempt either way).
   */
  readonly reconnectDelayMs?: number;
}

/** Why a new connection replaced the previous one. */
export type ReconnectReason = 'closed' | 'rotated';

/** Events of a {@link LibvirtClient}. */
export interface LibvirtClientEvents {
  /** A connection was opened (the first one, or a replacement). */
  connect: [];
  /** A new connection replaced an earlier one: caches keyed on the old connection must be dropped. */
  reconnect: [reason: ReconnectReason];
  /** The current connection died (libvirtd stopped, restarted, froze, or the socket failed). */
  disconnect: [error: LibvirtConnectionError | undefined];
  /** A lifecycle event for one of the client's subscriptions. */
  lifecycle: [event: LifecycleEvent];
  /** A balloon-change event for one of the client's subscriptions. */
  balloon: [event: BalloonChangeEvent];
  /** An I/O error event (with its reason) for one of the client's subscriptions. */
  ioError: [event: IoErrorEvent];
  /** A watchdog event for one of the client's subscriptions. */
  watchdog: [event: WatchdogEvent];
}

/** Counters and state of a client, for metrics. */
export interface LibvirtClientState {
  /** True while a live connection exists. */
  readonly connected: boolean;
  /** Calls in flight on the current connection, abandoned ones included. */
  readonly inFlight: number;
  /** Abandoned calls still in flight on the current connection. */
  readonly abandonedInFlight: number;
  /** Calls made, in total. */
  readonly calls: number;
  /** Calls that failed, in total (libvirt errors, connection errors and aborts). */
  readonly errors: number;
  /** Calls that failed with a LibvirtConnectionError (including failed connection attempts). */
  readonly connectionErrors: number;
  /** Calls given up through their AbortSignal. */
  readonly abandoned: number;
  /** Successful connection attempts after the first one. */
  readonly reconnects: number;
  /** Connections retired because of abandoned calls. */
  readonly rotations: number;
  /** Failed connection attempts. */
  readonly connectFailures: number;
  /** Messages dropped: replies no call waits for, frames of other programs or types, undecodable events. */
  readonly droppedMessages: number;
  /** Connections failed because a reply's procedure, program or version was not its call's. */
  readonly protocolErrors: number;
  /** Exceptions thrown by event listeners (of the client or its connections), caught and counted. */
  readonly listenerErrors: number;
}

/** A lifecycle subscription of a {@link LibvirtClient}. */
export interface LifecycleSubscription {
  readonly id: number;
  /** Removes the subscription (and its server-side registration when connected). */
  unsubscribe(options?: CallOptions): Promise<void>;
}

interface Subscription {
  readonly id: number;
  /** `DomainEventId`: lifecycle or balloon change. */
  readonly eventId: number;
  readonly dom: Domain | null;
  conn: LibvirtConnection | undefined;
  callbackId: number | undefined;
}

const DEFAULTS = { maxAbandonedCalls: 2, retireGraceMs: 60000, reconnectDelayMs: 0 } as const;

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortErrorFor(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortErrorFor(signal, what));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * A robust libvirt client. Every method connects when needed and takes `{ signal }` last.
 *
 * @example
 * const client = new LibvirtClient({ uri: 'qemu:///system' });
 * const stats = await client.getAllDomainStats({ stats: 0, flags: GetAllDomainStatsFlags.NOWAIT },
 *   { signal: AbortSignal.timeout(5000) });
 */
export class LibvirtClient extends LibvirtApi<LibvirtClientEvents> {
  private readonly options: LibvirtClientOptions;
  private readonly maxAbandonedCalls: number;
  private readonly retireGraceMs: number;
  private readonly reconnectDelayMs: number;
  private readonly clock: Clock;
  private conn: LibvirtConnection | undefined;
  private connecting: Promise<LibvirtConnection> | undefined;
  private lastFailure: { at: number; error: Error } | undefined;
  private everConnected = false;
  private nextReason: ReconnectReason = 'closed';
  private closedByUser = false;
  private readonly retired = new Set<LibvirtConnection>();
  private readonly subscriptions = new Map<number, Subscription>();
  private subscriptionSeq = 0;
  private readonly counters = {
    calls: 0,
    errors: 0,
    connectionErrors: 0,
    abandoned: 0,
    reconnects: 0,
    rotations: 0,
    connectFailures: 0,
    droppedMessages: 0,
    protocolErrors: 0,
    listenerErrors: 0,
  };

  constructor(options: LibvirtClientOptions = {}) {
    super();
    this.options = options;
    this.maxAbandonedCalls = Math.max(1, options.maxAbandonedCalls ?? DEFAULTS.maxAbandonedCalls);
    this.retireGraceMs = options.retireGraceMs ?? DEFAULTS.retireGraceMs;
    this.reconnectDelayMs = options.reconnectDelayMs ?? DEFAULTS.reconnectDelayMs;
    this.clock = options.clock ?? systemClock;
  }

  /** True while a live connection exists (no connection is opened to find out). */
  get connected(): boolean {
    return this.conn !== undefined && !this.conn.closed;
  }

  /** Counters and connection state, for metrics. */
  get state(): LibvirtClientState {
    const live = this.connected ? this.conn : undefined;
    return {
      connected: live !== undefined,
      inFlight: live?.inFlight ?? 0,
      abandonedInFlight: live?.abandonedInFlight ?? 0,
      ...this.counters,
    };
  }

  /**
   * Calls a remote procedure on the current connection, opening one first when there is none (or when
   * the current one died or was retired).
   */
  async call(proc: number, args?: Uint8Array, options: CallOptions = {}): Promise<Buffer> {
    this.counters.calls++;
    try {
      const conn = await this.connection(options.signal);
      return await conn.call(proc, args, options);
    } catch (err) {
      this.count(err);
      throw err;
    }
  }

  private count(err: unknown): void {
    this.counters.errors++;
    if (err instanceof LibvirtConnectionError) this.counters.connectionErrors++;
    else if (err instanceof LibvirtAbortError) this.counters.abandoned++;
  }

  /**
   * Returns a live connection, opening one when needed. Concurrent callers share one attempt; the
   * caller's signal only ends its own wait, never the shared attempt (which `connectTimeoutMs` bounds).
   */
  async connection(signal?: AbortSignal): Promise<LibvirtConnection> {
    if (this.closedByUser) {
      throw new LibvirtConnectionError('CLOSED_LOCALLY', 'the libvirt client is closed');
    }
    const current = this.conn;
    if (current !== undefined && !current.closed) {
      if (current.abandonedInFlight < this.maxAbandonedCalls) return current;
      this.retire(current);
    }
    if (this.connecting === undefined) {
      const failure = this.lastFailure;
      if (failure !== undefined && this.clock.now() - failure.at < this.reconnectDelayMs) throw failure.error;
      this.connecting = this.openConnection().finally(() => {
        this.connecting = undefined;
      });
    }
    return await raceAbort(this.connecting, signal, 'waiting for the libvirt connection');
  }

  private async openConnection(): Promise<LibvirtConnection> {
    let conn: LibvirtConnection;
    try {
      conn = await LibvirtConnection.open({
        ...this.options,
        onAnomaly: (anomaly) => {
          this.onAnomaly(anomaly);
        },
      });
    } catch (err) {
      this.counters.connectFailures++;
      this.lastFailure = { at: this.clock.now(), error: err instanceof Error ? err : new Error(String(err)) };
      throw err;
    }
    if (this.closedByUser) {
      conn.destroy();
      throw new LibvirtConnectionError('CLOSED_LOCALLY', 'the libvirt client is closed');
    }
    this.lastFailure = undefined;
    conn.on('lifecycle', (event) => {
      if (this.isOurs(conn, DomainEventId.LIFECYCLE, event.callbackId)) this.safeEmit('lifecycle', event);
    });
    conn.on('balloon', (event) => {
      if (this.isOurs(conn, DomainEventId.BALLOON_CHANGE, event.callbackId)) this.safeEmit('balloon', event);
    });
    // I/O error and watchdog events reach the connection as raw messages: decoded here.
    conn.on('message', (proc: number, payload: Buffer) => {
      try {
        if (proc === GuestEventProc.DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON) {
          const event = decodeIoErrorMessage(payload, true);
          if (this.isOurs(conn, DomainEventId.IO_ERROR_REASON, event.callbackId)) this.emit('ioError', event);
        } else if (proc === GuestEventProc.DOMAIN_EVENT_CALLBACK_WATCHDOG) {
          const event = decodeWatchdogMessage(payload);
          if (this.isOurs(conn, DomainEventId.WATCHDOG, event.callbackId)) this.emit('watchdog', event);
        }
      } catch {
        // an undecodable event must not take the client down
      }
    });
    conn.on('close', (err) => {
      if (this.conn !== conn) return;
      this.conn = undefined;
      this.nextReason = 'closed';
      this.safeEmit('disconnect', err);
    });
    try {
      await this.registerAll(conn);
    } catch (err) {
      conn.destroy();
      this.counters.connectFailures++;
      this.lastFailure = { at: this.clock.now(), error: err instanceof Error ? err : new Error(String(err)) };
      throw err;
    }
    this.conn = conn;
    if (this.everConnected) {
      this.counters.reconnects++;
      this.safeEmit('reconnect', this.nextReason);
    }
    this.everConnected = true;
    this.safeEmit('connect');
    return conn;
  }

  /** Counts a connection's anomaly and passes it on to the `onAnomaly` option. */
  private onAnomaly(anomaly: ConnectionAnomaly): void {
    if (anomaly.kind === 'listener-error') this.counters.listenerErrors++;
    else if (anomaly.kind === 'mismatched-reply') this.counters.protocolErrors++;
    else this.counters.droppedMessages++;
    try {
      this.options.onAnomaly?.(anomaly);
    } catch {
      // as in the connection: the hook's failure is ignored
    }
  }

  /**
   * Emits to each listener in turn, isolated (issue 15, item 8): a listener that throws is counted in
   * `listenerErrors` and reported to `onAnomaly`, and neither the other listeners nor the connection
   * (whose socket handler delivers the events) see its exception.
   */
  private safeEmit<K extends keyof LibvirtClientEvents>(event: K, ...args: LibvirtClientEvents[K]): void {
    for (const listener of this.rawListeners(event) as ((...a: unknown[]) => unknown)[]) {
      try {
        listener.apply(this, args);
      } catch (err) {
        this.onAnomaly({
          kind: 'listener-error',
          message: `a '${event}' listener threw: ${String(err)}`,
          error: err,
        });
      }
    }
  }

  private async registerAll(conn: LibvirtConnection): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 10000;
    for (const sub of this.subscriptions.values()) {
      if (sub.conn === conn) continue;
      sub.conn = conn;
      sub.callbackId = undefined;
      try {
        sub.callbackId = await withDeadline(
          timeoutMs,
          [],
          (signal) => conn.registerDomainEvents(sub.eventId, sub.dom, { signal }),
          this.clock,
        );
      } catch (err) {
        // A domain-specific subscription whose domain is gone cannot be restored: keep the others.
        if (!(err instanceof LibvirtError)) throw err;
      }
    }
  }

  /** Whether an event belongs to one of our subscriptions on the current connection. */
  private isOurs(conn: LibvirtConnection, eventId: number, callbackId: number): boolean {
    if (this.conn !== conn) return false; // a retired connection still delivers until closed: no duplicates
    for (const sub of this.subscriptions.values()) {
      if (sub.conn === conn && sub.eventId === eventId && sub.callbackId === callbackId) return true;
    }
    return false;
  }

  /** Retires a connection pinned by abandoned calls: close it once its calls settle, or after the grace. */
  private retire(conn: LibvirtConnection): void {
    if (this.conn === conn) this.conn = undefined;
    this.nextReason = 'rotated';
    this.counters.rotations++;
    this.retired.add(conn);
    if (conn.inFlight === 0) {
      this.retired.delete(conn);
      void conn.close();
      return;
    }
    const finish = (): void => {
      cancel();
      conn.off('idle', finish);
      this.retired.delete(conn);
      void conn.close();
    };
    const cancel = this.clock.setTimer(finish, this.retireGraceMs);
    conn.on('idle', finish);
  }

  /**
   * Subscribes to lifecycle events of one domain, or of every domain when `dom` is null. Events come as
   * 'lifecycle' events; the subscription survives reconnections (it is registered again on each new
   * connection, which happens on the next call after a disconnect).
   */
  subscribeLifecycle(dom: Domain | null = null, options: CallOptions = {}): Promise<LifecycleSubscription> {
    return this.subscribe(DomainEventId.LIFECYCLE, dom, options);
  }

  /**
   * Subscribes to balloon-change events (the memory a guest's balloon gives it changed) of one domain, or
   * of every domain when `dom` is null. Events come as 'balloon' events; the subscription survives
   * reconnections, as lifecycle subscriptions do.
   */
  subscribeBalloonChange(
    dom: Domain | null = null,
    options: CallOptions = {},
  ): Promise<LifecycleSubscription> {
    return this.subscribe(DomainEventId.BALLOON_CHANGE, dom, options);
  }

  /**
   * Subscribes to I/O error events with their reason (VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON) of one
   * domain, or of every domain when `dom` is null. Events come as 'ioError' events.
   */
  subscribeIoError(dom: Domain | null = null, options: CallOptions = {}): Promise<LifecycleSubscription> {
    return this.subscribe(DomainEventId.IO_ERROR_REASON, dom, options);
  }

  /** Subscribes to watchdog events of one domain, or of every domain; they come as 'watchdog' events. */
  subscribeWatchdog(dom: Domain | null = null, options: CallOptions = {}): Promise<LifecycleSubscription> {
    return this.subscribe(DomainEventId.WATCHDOG, dom, options);
  }

  private async subscribe(
    eventId: number,
    dom: Domain | null,
    options: CallOptions,
  ): Promise<LifecycleSubscription> {
    const sub: Subscription = {
      id: ++this.subscriptionSeq,
      eventId,
      dom,
      conn: undefined,
      callbackId: undefined,
    };
    this.subscriptions.set(sub.id, sub);
    try {
      const conn = await this.connection(options.signal);
      if (sub.conn !== conn) {
        sub.conn = conn;
        sub.callbackId = await conn.registerDomainEvents(eventId, dom, options);
      }
    } catch (err) {
      this.subscriptions.delete(sub.id);
      throw err;
    }
    return {
      id: sub.id,
      unsubscribe: (opts?: CallOptions) => this.unsubscribe(sub.id, opts),
    };
  }

  private async unsubscribe(id: number, options: CallOptions = {}): Promise<void> {
    const sub = this.subscriptions.get(id);
    if (sub === undefined) return;
    this.subscriptions.delete(id);
    const conn = sub.conn;
    if (conn !== undefined && conn === this.conn && !conn.closed && sub.callbackId !== undefined) {
      await conn.deregisterLifecycleEvents(sub.callbackId, options);
    }
  }

  /** Closes the current and retired connections; later calls reject. Idempotent. */
  async close(): Promise<void> {
    this.closedByUser = true;
    const conns = [...this.retired];
    if (this.conn !== undefined) conns.push(this.conn);
    this.conn = undefined;
    this.retired.clear();
    const opening = this.connecting;
    if (opening !== undefined) {
      try {
        conns.push(await opening);
      } catch {
        // nothing was opened
      }
    }
    await Promise.all(conns.map((c) => c.close()));
  }
}
