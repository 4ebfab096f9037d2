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

import { awaitConfirm } from './confirm-watchdog.ts';
import { AMQP_PROPERTIES } from './notification.ts';
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

/** Opens a reconnecting connection (in the background: this never waits for the broker). */
export function createAmqpTransport(options: AmqpTransportOptions): AmqpTransport {
  const { url, logger } = options;
  const hosts = url.hosts;
  if (hosts.length > 1 && hosts.some((h) => h.hostname.includes(':'))) {
    // NOTE: rabbitmq-client splits "host:port" on ':' for its host list.
    throw new Error(
      `transport_url: IPv6 addresses are supported with a single host only (${describeTransportUrl(url)})`,
    );
  }
  const first = hosts[0];
  if (!first) throw new Error('transport_url has no host');
  const connOptions: ConnectionOptions = {
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
  const shown = describeTransportUrl(url);
  const exchangeParams =
    options.exchangeDeclare === 'passive'
      ? { exchange: options.exchange, type: 'topic', passive: true }
      : {
          exchange: options.exchange,
          type: 'topic',
          durable: options.exchangeDeclare === 'durable',
          autoDelete: false,
        };
  // NOTE: rabbitmq-client stamps `timestamp` unless the key is present; the real agent sends none,
  // so it is set to undefined explicitly (the codec skips null/undefined properties).
  const envelope = {
    exchange: options.exchange,
    routingKey: options.routingKey,
    ...AMQP_PROPERTIES,
    headers: {},
    timestamp: undefined,
  } as unknown as Envelope;

  let wasUp = false;
  let lastError = '';
  let blockedSince: number | undefined;
  let closing = false;
  /** Called on every change that may make the transport ready. */
  const readyListeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...readyListeners]) l();
  };
  const unblocked = (why: string): void => {
    if (blockedSince === undefined) return;
    const seconds = (performance.now() - blockedSince) / 1000;
    blockedSince = undefined;
    logger.info(
      { broker: shown, blocked_seconds: Math.round(seconds * 10) / 10, why },
      'amqp connection unblocked',
    );
  };

  function open(): Link {
    const connection = new Connection(connOptions);
    connection.on('connection', () => {
      if (link?.connection !== connection) return;
      wasUp = true;
      lastError = '';
      // A new connection starts unblocked (the broker blocks it again if the alarm still holds).
      unblocked('reconnected');
      logger.info({ broker: shown }, 'amqp connected');
      notify();
    });
    connection.on('error', (err: unknown) => {
      if (link?.connection !== connection) return;
      // NOTE: while the broker is down every reconnect attempt reports an error; log a change of
      // error at warn and repeats at debug, so an outage does not flood the log.
      const message = err instanceof Error ? err.message : String(err);
      const level = message === lastError ? 'debug' : 'warn';
      lastError = message;
      if (!connection.ready) unblocked('connection lost');
      logger[level](
        { broker: shown, err: message, code: amqpErrorCode(err), was_connected: wasUp },
        'amqp connection error',
      );
    });
    connection.on('connection.blocked', (reason: string) => {
      if (link?.connection !== connection) return;
      blockedSince ??= performance.now();
      logger.warn({ broker: shown, reason }, 'amqp connection blocked by the broker');
    });
    connection.on('connection.unblocked', () => {
      if (link?.connection !== connection) return;
      unblocked('broker');
      notify();
    });
    const publisher = connection.createPublisher({
      confirm: true,
      // Retries are the caller's business: it keeps the order and the bounded queue.
      maxAttempts: 1,
      exchanges: [exchangeParams],
    });
    return { connection, publisher };
  }

  let link: Link | undefined;
  link = open();

  /** Drops the connection with whatever its socket still holds, and opens a new one. */
  function replace(old: Link): void {
    if (link !== old || closing) return;
    old.connection.unsafeDestroy();
    unblocked('connection replaced');
    link = open();
  }

  const isBlocked = (): boolean => blockedSince !== undefined && !(link?.connection.ready ?? false);

  return {
    get connected() {
      // NOTE: rabbitmq-client's `ready` is false while blocked (its socket is corked).
      return link !== undefined && (link.connection.ready || isBlocked());
    },
    get blocked() {
      return isBlocked();
    },
    get ready() {
      return link?.connection.ready ?? false;
    },
    send(body, sendOptions = {}) {
      const current = link;
      if (!current || closing) return Promise.reject(new Error('amqp transport closed'));
      const sent = current.publisher.send(envelope, Buffer.from(body, 'utf8'));
      return awaitConfirm(sent, {
        timeoutMs: options.sendTimeoutMs,
        // Blocked: the broker holds the message and will confirm it. Not connected: the client
        // rejects it itself (lost connection, or acquireTimeout). Either way, wait.
        expectsConfirm: () => current.connection.ready,
        onTimeout: () => {
          logger.warn(
            { broker: shown, timeout_ms: options.sendTimeoutMs },
            'no publisher confirm in time: dropping the connection before retrying',
          );
          replace(current);
        },
        signal: sendOptions.signal,
      });
    },
    async waitReady(timeoutMs, waitOptions = {}) {
      if (link?.connection.ready === true) return true;
      if (waitOptions.signal?.aborted === true) return false;
      return new Promise<boolean>((resolve) => {
        const finish = (value: boolean): void => {
          clearTimeout(timer);
          readyListeners.delete(onChange);
          waitOptions.signal?.removeEventListener('abort', onAbort);
          resolve(value);
        };
        const onChange = (): void => {
          if (link?.connection.ready === true) finish(true);
        };
        const onAbort = (): void => {
          finish(false);
        };
        const timer = setTimeout(() => {
          finish(link?.connection.ready ?? false);
        }, timeoutMs);
        timer.unref();
        readyListeners.add(onChange);
        waitOptions.signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    async close(timeoutMs) {
      closing = true;
      const current = link;
      if (!current) return;
      if (isBlocked()) {
        // Nothing can be flushed through a corked socket: drop it (and what it holds) at once.
        logger.info({ broker: shown }, 'amqp connection blocked at close: destroying it');
        current.connection.unsafeDestroy();
        unblocked('closed');
        return;
      }
      const graceful = (async () => {
        await current.publisher.close().catch(() => undefined);
        await current.connection.close();
      })();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => {
          resolve('timeout');
        }, timeoutMs);
        timer.unref();
      });
      const result = await Promise.race([graceful.then(() => 'closed' as const), timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') {
        logger.warn({ broker: shown }, 'amqp close timed out, destroying the connection');
        current.connection.unsafeDestroy();
        graceful.catch(() => undefined);
      }
    },
  };
}
