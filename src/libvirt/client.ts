// SPDX-License-Identifier: Apache-2.0
/**
 * {@link LibvirtClient}: the long-lived facade over {@link LibvirtConnection}. It connects lazily,
 * reconnects on the next call after the connection died, moves to a fresh connection when too many
 * abandoned calls pin the current one, re-registers lifecycle subscriptions, and counts what happens.
 *
 * @packageDocumentation
 */
import { raceSignal } from './abort.ts';
import { LibvirtApi } from './api.ts';
import {
  CLIENT_DEFAULTS as DEFAULTS,
  countAnomaly,
  countCallError,
  newClientCounters,
  type LibvirtClientEvents,
  type LibvirtClientOptions,
  type LibvirtClientState,
  type LifecycleSubscription,
  type ReconnectReason,
} from './client-types.ts';
import { systemClock, type Clock } from './clock.ts';
import { closeWhenIdle } from './retire.ts';
import { CONNECTION_DEFAULTS } from './connection-types.ts';
import type { ConnectionAnomaly } from './connection-types.ts';
import { LibvirtConnection } from './connection.ts';
import { DomainEventId } from './constants.ts';
import { LibvirtConnectionError, abortErrorFor } from './errors.ts';
import { emitIsolated } from './emit.ts';
import { decodeGuestEvent } from './guest-and-events.ts';
import { Subscriptions } from './subscriptions.ts';
import type { CallOptions, Domain } from './types.ts';

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
  private readonly subscriptions = new Subscriptions();
  private readonly counters = newClientCounters();

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
      // A copy: the caller must not see (or change) the live counts.
      anomalies: { ...this.counters.anomalies },
      listenerErrorsByEvent: { ...this.counters.listenerErrorsByEvent },
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
      countCallError(this.counters, err);
      throw err;
    }
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
    return await raceSignal(this.connecting, signal, (s) =>
      abortErrorFor(s, 'waiting for the libvirt connection'),
    );
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
      this.connectFailed(err);
      throw err;
    }
    if (this.closedByUser) {
      conn.destroy();
      throw new LibvirtConnectionError('CLOSED_LOCALLY', 'the libvirt client is closed');
    }
    this.lastFailure = undefined;
    this.listenTo(conn);
    try {
      await this.subscriptions.registerAll(
        conn,
        this.options.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs,
        this.clock,
      );
    } catch (err) {
      conn.destroy();
      this.connectFailed(err);
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

  /** Counts a failed connection attempt and remembers it for `reconnectDelayMs`. */
  private connectFailed(err: unknown): void {
    this.counters.connectFailures++;
    this.lastFailure = { at: this.clock.now(), error: err instanceof Error ? err : new Error(String(err)) };
  }

  /** Passes a connection's events on to the client's listeners, for our subscriptions only. */
  private listenTo(conn: LibvirtConnection): void {
    conn.on('lifecycle', (event) => {
      if (this.isOurs(conn, DomainEventId.LIFECYCLE, event.callbackId)) this.safeEmit('lifecycle', event);
    });
    conn.on('balloon', (event) => {
      if (this.isOurs(conn, DomainEventId.BALLOON_CHANGE, event.callbackId)) this.safeEmit('balloon', event);
    });
    // I/O error and watchdog events reach the connection as raw messages: decoded here.
    conn.on('message', (proc: number, payload: Buffer) => {
      this.onGuestEvent(conn, proc, payload);
    });
    conn.on('close', (err) => {
      if (this.conn !== conn) return;
      this.conn = undefined;
      this.nextReason = 'closed';
      this.safeEmit('disconnect', err);
    });
  }

  /**
   * Decodes an I/O error or watchdog event and emits it. An event that does not decode is dropped and
   * counted (`undecodable-event`), as the connection does for the events it decodes itself; what a
   * listener throws is counted by {@link safeEmit}.
   */
  private onGuestEvent(conn: LibvirtConnection, proc: number, payload: Buffer): void {
    let e: ReturnType<typeof decodeGuestEvent>;
    try {
      e = decodeGuestEvent(proc, payload);
    } catch (err) {
      this.onAnomaly({
        kind: 'undecodable-event',
        message: `dropped an event of procedure ${proc}: ${String(err)}`,
        error: err,
      });
      return;
    }
    if (e === undefined || !this.isOurs(conn, e.eventId, e.event.callbackId)) return;
    if (e.kind === 'ioError') this.safeEmit('ioError', e.event);
    else this.safeEmit('watchdog', e.event);
  }

  /** Counts a connection's anomaly and passes it on to the `onAnomaly` option. */
  private onAnomaly(anomaly: ConnectionAnomaly): void {
    countAnomaly(this.counters, anomaly.kind);
    try {
      this.options.onAnomaly?.(anomaly);
    } catch {
      // as in the connection: the hook's failure is ignored
    }
  }

  /**
   * Emits to each listener in turn, isolated (issue 15, item 8): a listener that throws is counted in
   * `listenerErrors` and `listenerErrorsByEvent` and reported to `onAnomaly`, and neither the other listeners nor the connection
   * (whose socket handler delivers the events) see its exception.
   */
  private safeEmit<K extends keyof LibvirtClientEvents>(event: K, ...args: LibvirtClientEvents[K]): void {
    emitIsolated(this, event, args, (err) => {
      this.counters.listenerErrorsByEvent[event]++;
      this.onAnomaly({
        kind: 'listener-error',
        message: `a '${event}' listener threw: ${String(err)}`,
        error: err,
        event,
      });
    });
  }

  /** Whether an event belongs to one of our subscriptions on the current connection. */
  private isOurs(conn: LibvirtConnection, eventId: number, callbackId: number): boolean {
    // A retired connection still delivers until closed: only the current one counts (no duplicates).
    return this.conn === conn && this.subscriptions.has(conn, eventId, callbackId);
  }

  /** Retires a connection pinned by abandoned calls: close it once its calls settle, or after the grace. */
  private retire(conn: LibvirtConnection): void {
    if (this.conn === conn) this.conn = undefined;
    this.nextReason = 'rotated';
    this.counters.rotations++;
    this.retired.add(conn);
    closeWhenIdle(conn, this.clock, this.retireGraceMs, () => this.retired.delete(conn));
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
    const sub = this.subscriptions.add(eventId, dom);
    try {
      const conn = await this.connection(options.signal);
      if (sub.conn !== conn) {
        sub.conn = conn;
        sub.callbackId = await conn.registerDomainEvents(eventId, dom, options);
      }
    } catch (err) {
      this.subscriptions.remove(sub.id);
      throw err;
    }
    return {
      id: sub.id,
      unsubscribe: (opts?: CallOptions) => this.unsubscribe(sub.id, opts),
    };
  }

  private async unsubscribe(id: number, options: CallOptions = {}): Promise<void> {
    const sub = this.subscriptions.remove(id);
    if (sub === undefined) return;
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
