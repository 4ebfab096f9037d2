// SPDX-License-Identifier: Apache-2.0
/**
 * Options, events and anomalies of a {@link LibvirtConnection}, and the defaults of its tunables.
 *
 * @packageDocumentation
 */
import type { Clock } from './clock.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from './constants.ts';
import type { LibvirtConnectionError } from './errors.ts';
import type { BalloonChangeEvent, LifecycleEvent } from './types.ts';
import type { UriOptions } from './uri.ts';

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
  /**
   * Bytes of outgoing frames kept while the socket's write buffer is full (`write()` returned false)
   * and waiting for 'drain' (default 8 MiB). Beyond it the peer is not reading: the connection fails.
   */
  readonly maxQueuedWriteBytes?: number;
  /**
   * Called for every {@link ConnectionAnomaly}: a message dropped or a listener that threw. It must not
   * throw (what it throws is ignored). Anomalies are counted whether or not it is set.
   */
  readonly onAnomaly?: ((anomaly: ConnectionAnomaly) => void) | undefined;
}

/**
 * What the connection dropped or survived instead of handing it to a call:
 * - `unmatched-reply`: a reply whose serial no call waits for (dropped, never given to another call);
 * - `mismatched-reply`: a reply whose serial is a call's but whose program, version or procedure is not
 *   that call's: the reply stream can no longer be trusted, so the connection fails (reason `PROTOCOL`);
 * - `unexpected-frame`: a message of a program, version or type this client never asked for (dropped);
 * - `undecodable-event`: an event message that does not decode (dropped);
 * - `listener-error`: a listener of this connection's events threw (the connection carries on).
 */
export type ConnectionAnomalyKind =
  'unmatched-reply' | 'mismatched-reply' | 'unexpected-frame' | 'undecodable-event' | 'listener-error';

/** Every anomaly kind at zero: the counts start from this (the type makes it list every kind). */
export function newAnomalyCounts(): Record<ConnectionAnomalyKind, number> {
  return {
    'unmatched-reply': 0,
    'mismatched-reply': 0,
    'unexpected-frame': 0,
    'undecodable-event': 0,
    'listener-error': 0,
  };
}

/** Every {@link ConnectionAnomalyKind}, in the order of its description. */
export const CONNECTION_ANOMALY_KINDS = Object.freeze(
  Object.keys(newAnomalyCounts()) as ConnectionAnomalyKind[],
);

/** One anomaly, as passed to `onAnomaly`. */
export interface ConnectionAnomaly {
  readonly kind: ConnectionAnomalyKind;
  readonly message: string;
  /** The listener's exception, the decoding error, or the connection error. */
  readonly error?: unknown;
  /** For a `listener-error`: the event whose listener threw. */
  readonly event?: string;
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

/** Defaults of {@link ConnectionTuning} and of the connect timeout. */
export const CONNECTION_DEFAULTS = {
  maxInFlight: 5,
  maxQueuedWriteBytes: 8 * 1024 * 1024,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  keepaliveIntervalMs: 5000,
  keepaliveCount: 5,
  closeTimeoutMs: 2000,
  connectTimeoutMs: 10000,
} as const;
