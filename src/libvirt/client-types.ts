// SPDX-License-Identifier: Apache-2.0
/**
 * Options, events and counters of a {@link LibvirtClient}, and how the counters count.
 *
 * @packageDocumentation
 */
import {
  newAnomalyCounts,
  type ConnectionAnomalyKind,
  type LibvirtConnectionOptions,
} from './connection-types.ts';
import { LibvirtAbortError, LibvirtConnectionError } from './errors.ts';
import type { IoErrorEvent, WatchdogEvent } from './guest-and-events.ts';
import type { BalloonChangeEvent, CallOptions, LifecycleEvent } from './types.ts';

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

/** The name of an event of a {@link LibvirtClient}. */
export type ClientEventName = keyof LibvirtClientEvents;

/** Every client event at zero (the type makes it list every event). */
export function newEventCounts(): Record<ClientEventName, number> {
  return { connect: 0, reconnect: 0, disconnect: 0, lifecycle: 0, balloon: 0, ioError: 0, watchdog: 0 };
}

/** Every {@link ClientEventName}. */
export const CLIENT_EVENT_NAMES = Object.freeze(Object.keys(newEventCounts()) as ClientEventName[]);

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
  /**
   * Every anomaly of the client's connections by kind, each kind present from the start (the three
   * counts above group them: `droppedMessages`, `protocolErrors`, `listenerErrors`).
   */
  readonly anomalies: Readonly<Record<ConnectionAnomalyKind, number>>;
  /** Exceptions thrown by the client's own listeners, by event (every event, from 0). */
  readonly listenerErrorsByEvent: Readonly<Record<ClientEventName, number>>;
}

/** A lifecycle subscription of a {@link LibvirtClient}. */
export interface LifecycleSubscription {
  readonly id: number;
  /** Removes the subscription (and its server-side registration when connected). */
  unsubscribe(options?: CallOptions): Promise<void>;
}

/** Defaults of the client's own options. */
export const CLIENT_DEFAULTS = { maxAbandonedCalls: 2, retireGraceMs: 60000, reconnectDelayMs: 0 } as const;

/** The client's counters (the counting part of {@link LibvirtClientState}). */
export type ClientCounters = {
  -readonly [
    K in Exclude<
      keyof LibvirtClientState,
      'connected' | 'inFlight' | 'abandonedInFlight' | 'anomalies' | 'listenerErrorsByEvent'
    >
  ]: number;
} & {
  readonly anomalies: Record<ConnectionAnomalyKind, number>;
  readonly listenerErrorsByEvent: Record<ClientEventName, number>;
};

/** Every counter at zero. */
export function newClientCounters(): ClientCounters {
  return {
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
    anomalies: newAnomalyCounts(),
    listenerErrorsByEvent: newEventCounts(),
  };
}

/** Counts a failed call: every error, and connection errors and aborts on their own. */
export function countCallError(counters: ClientCounters, err: unknown): void {
  counters.errors++;
  if (err instanceof LibvirtConnectionError) counters.connectionErrors++;
  else if (err instanceof LibvirtAbortError) counters.abandoned++;
}

/** Counts a connection's anomaly: listener errors, protocol errors, and dropped messages for the rest. */
export function countAnomaly(counters: ClientCounters, kind: ConnectionAnomalyKind): void {
  counters.anomalies[kind]++;
  if (kind === 'listener-error') counters.listenerErrors++;
  else if (kind === 'mismatched-reply') counters.protocolErrors++;
  else counters.droppedMessages++;
}
