// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The AMQP side: one reconnecting connection and one confirming publisher (rabbitmq-client), the
 * exchange declared passively or with the deployment's durability, and the real agent's message
 * properties. The only file that imports the AMQP library.
 *
 * A message handed to the client is never given up while the client may still deliver it: while the
 * broker blocks the connection (`connection.blocked`, a memory or disk alarm) rabbitmq-client corks
 * its socket and keeps every message written to it, to send them all when the alarm clears; a caller
 * that timed out and sent its batch again would have it delivered twice. So a send waits for its
 * confirm for as long as the broker blocks; when the broker is not blocking and the confirm does not
 * come within `sendTimeoutMs`, the connection is torn down (what the client still held is gone with
 * it) before the send fails, and a new connection is opened.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

import type { Logger } from 'pino';
import {
  Connection,
  type ConnectionOptions,
  type Envelope,
  type Publisher as AmqpPublisher,
} from 'rabbitmq-client';

import { systemClock, type Clock } from '../libvirt/index.ts';
import { awaitConfirm } from './confirm-watchdog.ts';
import { AMQP_PROPERTIES } from '../ceilometer/notification.ts';
import { describeTransportUrl, type TransportUrl } from './transport-url.ts';

/** What the publisher needs from a broker connection. */
export interface AmqpTransport {
  /**
   * Publishes one body and resolves once the broker confirmed it. Rejects when it was not delivered or
   * its fate is unknown (connection lost before the confirm: at least once), never while the client may
   * still deliver it later; the `signal` is for shutdown only (the transport is closed right after).
   */
  send(body: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Whether the connection is established (blocked or not). */
  readonly connected: boolean;
  /** Whether the broker blocks publishing on this connection (`connection.blocked`: a resource alarm). */
  readonly blocked: boolean;
  /** Connected and not blocked: a send can go out now. */
  readonly ready: boolean;
  /** Resolves true as soon as the transport is ready, false after `timeoutMs` or on abort. */
  waitReady(timeoutMs: number, options?: { signal?: AbortSignal }): Promise<boolean>;
  /** Closes the publisher and the connection, forcibly after `timeoutMs` (at once while blocked). */
  close(timeoutMs: number): Promise<void>;
}

/** Options of {@link createAmqpTransport}. */
export interface AmqpTransportOptions {
  readonly url: TransportUrl;
  /** Node TLS options (CA, client certificate…) when TLS is on; undefined for plain TCP. */
  readonly tls: TlsConnectionOptions | undefined;
  readonly exchange: string;
  readonly exchangeDeclare: 'passive' | 'durable' | 'transient';
  readonly routingKey: string;
  /** Longest wait for the connection, and for a confirm while the broker is not blocking. */
  readonly sendTimeoutMs: number;
  readonly logger: Logger;
  /** Times the confirm, readiness and close waits (default: the system clock). */
  readonly clock?: Clock;
}

/** An error of the AMQP layer with its AMQP reply code name (NOT_FOUND, NACK, CONNECTION_FORCED…). */
export function amqpErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** One connection and its publisher; replaced as a whole when a confirm never comes. */
interface Link {
  readonly connection: Connection;
  readonly publisher: AmqpPublisher;
}

/** rabbitmq-client's options for a transport URL. */
function connectionOptions(options: AmqpTransportOptions): ConnectionOptions {
  const { url } = options;
  const hosts = url.hosts;
  if (hosts.length > 1 && hosts.some((h) => h.hostname.includes(':'))) {
    // NOTE: rabbitmq-client splits "host:port" on ':' for its host list.
    throw new Error(
      `transport_url: IPv6 addresses are supported with a single host only (${describeTransportUrl(url)})`,
    );
  }
  const first = hosts[0];
  if (!first) throw new Error('transport_url has no host');
  return {
    username: url.username,
    password: url.password,
    vhost: url.vhost,
    hostname: first.hostname,
    port: first.port,
    ...(hosts.length > 1 ? { hosts: hosts.map((h) => `${h.hostname}:${h.port}`) } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    connectionName: 'libvirt-exporter ceilometer publisher',
    connectionTimeout: 10_000,
    acquireTimeout: options.sendTimeoutMs,
    retryLow: 1000,
    retryHigh: 30_000,
  };
}

/** The exchange declaration of the publisher (passive, or with the deployment's durability). */
function exchangeParams(options: AmqpTransportOptions): Record<string, unknown> & { exchange: string } {
  return options.exchangeDeclare === 'passive'
    ? { exchange: options.exchange, type: 'topic', passive: true }
    : {
        exchange: options.exchange,
        type: 'topic',
        durable: options.exchangeDeclare === 'durable',
        autoDelete: false,
      };
}

/** Opens a reconnecting connection (in the background: this never waits for the broker). */
export function createAmqpTransport(options: AmqpTransportOptions): AmqpTransport {
  return new RabbitTransport(options);
}

/**
 * The rabbitmq-client transport. State: the current link (replaced as a whole when a confirm never
 * comes), whether and since when the broker blocks it, and the waiters for readiness.
 */
class RabbitTransport implements AmqpTransport {
  readonly #o: AmqpTransportOptions;
  readonly #clock: Clock;
  readonly #connOptions: ConnectionOptions;
  readonly #shown: string;
  readonly #envelope: Envelope;
  readonly #readyListeners = new Set<() => void>();
  #link: Link;
  #wasUp = false;
  #lastError = '';
  #blockedSince: number | undefined;
  #closing = false;

  constructor(options: AmqpTransportOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#connOptions = connectionOptions(options);
    this.#shown = describeTransportUrl(options.url);
    // NOTE: rabbitmq-client stamps `timestamp` unless the key is present; the real agent sends none,
    // so it is set to undefined explicitly (the codec skips null/undefined properties).
    this.#envelope = {
      exchange: options.exchange,
      routingKey: options.routingKey,
      ...AMQP_PROPERTIES,
      headers: {},
      timestamp: undefined,
    } as unknown as Envelope;
    this.#link = this.#open();
  }

  get connected(): boolean {
    // NOTE: rabbitmq-client's `ready` is false while blocked (its socket is corked).
    return this.#link.connection.ready || this.blocked;
  }

  get blocked(): boolean {
    return this.#blockedSince !== undefined && !this.#link.connection.ready;
  }

  get ready(): boolean {
    return this.#link.connection.ready;
  }

  send(body: string, sendOptions: { signal?: AbortSignal } = {}): Promise<void> {
    const current = this.#link;
    if (this.#closing) return Promise.reject(new Error('amqp transport closed'));
    if (sendOptions.signal?.aborted === true)
      return Promise.reject(new Error('send aborted', { cause: sendOptions.signal.reason }));
    const sent = current.publisher.send(this.#envelope, Buffer.from(body, 'utf8'));
    return awaitConfirm(sent, {
      timeoutMs: this.#o.sendTimeoutMs,
      // Blocked: the broker holds the message and will confirm it. Not connected: the client
      // rejects it itself (lost connection, or acquireTimeout). Either way, wait.
      expectsConfirm: () => current.connection.ready,
      onTimeout: () => {
        this.#o.logger.warn(
          { broker: this.#shown, timeout_ms: this.#o.sendTimeoutMs },
          'no publisher confirm in time: dropping the connection before retrying',
        );
        this.#replace(current);
      },
      signal: sendOptions.signal,
      clock: this.#clock,
    });
  }

  async waitReady(timeoutMs: number, waitOptions: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (this.ready) return true;
    const { signal } = waitOptions;
    if (signal?.aborted === true) return false;
    return new Promise<boolean>((resolve) => {
      const finish = (value: boolean): void => {
        cancelTimer();
        this.#readyListeners.delete(onChange);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onChange = (): void => {
        if (this.ready) finish(true);
      };
      const onAbort = (): void => {
        finish(false);
      };
      const cancelTimer = this.#clock.setTimer(() => {
        finish(this.ready);
      }, timeoutMs);
      this.#readyListeners.add(onChange);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    const current = this.#link;
    if (this.blocked) {
      // Nothing can be flushed through a corked socket: drop it (and what it holds) at once.
      this.#o.logger.info({ broker: this.#shown }, 'amqp connection blocked at close: destroying it');
      current.connection.unsafeDestroy();
      this.#unblocked('closed');
      return;
    }
    const graceful = (async () => {
      await current.publisher.close().catch(() => undefined);
      await current.connection.close();
    })();
    let cancelTimer: (() => void) | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      cancelTimer = this.#clock.setTimer(() => {
        resolve('timeout');
      }, timeoutMs);
    });
    const result = await Promise.race([graceful.then(() => 'closed' as const), timedOut]);
    cancelTimer?.();
    if (result === 'timeout') {
      this.#o.logger.warn({ broker: this.#shown }, 'amqp close timed out, destroying the connection');
      current.connection.unsafeDestroy();
      graceful.catch(() => undefined);
    }
  }

  #notify(): void {
    for (const l of [...this.#readyListeners]) l();
  }

  #unblocked(why: string): void {
    if (this.#blockedSince === undefined) return;
    const seconds = (this.#clock.now() - this.#blockedSince) / 1000;
    this.#blockedSince = undefined;
    this.#o.logger.info(
      { broker: this.#shown, blocked_seconds: Math.round(seconds * 10) / 10, why },
      'amqp connection unblocked',
    );
  }

  /** A new connection and its publisher; events of a replaced connection are ignored. */
  #open(): Link {
    const { logger } = this.#o;
    const broker = this.#shown;
    const connection = new Connection(this.#connOptions);
    const current = (): boolean => this.#link.connection === connection;
    connection.on('connection', () => {
      if (!current()) return;
      this.#wasUp = true;
      this.#lastError = '';
      // A new connection starts unblocked (the broker blocks it again if the alarm still holds).
      this.#unblocked('reconnected');
      logger.info({ broker }, 'amqp connected');
      this.#notify();
    });
    connection.on('error', (err: unknown) => {
      if (!current()) return;
      // NOTE: while the broker is down every reconnect attempt reports an error; log a change of
      // error at warn and repeats at debug, so an outage does not flood the log.
      const message = err instanceof Error ? err.message : String(err);
      const level = message === this.#lastError ? 'debug' : 'warn';
      this.#lastError = message;
      if (!connection.ready) this.#unblocked('connection lost');
      const code = amqpErrorCode(err);
      logger[level]({ broker, err: message, code, was_connected: this.#wasUp }, 'amqp connection error');
    });
    connection.on('connection.blocked', (reason: string) => {
      if (!current()) return;
      this.#blockedSince ??= this.#clock.now();
      logger.warn({ broker, reason }, 'amqp connection blocked by the broker');
    });
    connection.on('connection.unblocked', () => {
      if (!current()) return;
      this.#unblocked('broker');
      this.#notify();
    });
    // Retries are the caller's business: it keeps the order and the bounded queue.
    const publisher = connection.createPublisher({
      confirm: true,
      maxAttempts: 1,
      exchanges: [exchangeParams(this.#o)],
    });
    return { connection, publisher };
  }

  /** Drops the connection with whatever its socket still holds, and opens a new one. */
  #replace(old: Link): void {
    if (this.#link !== old || this.#closing) return;
    old.connection.unsafeDestroy();
    this.#unblocked('connection replaced');
    this.#link = this.#open();
  }
}
