// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The AMQP side: one reconnecting connection and one confirming publisher (rabbitmq-client), the
 * exchange declared passively or with the deployment's durability, and the real agent's message
 * properties. The only file that imports the AMQP library.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

import type { Logger } from 'pino';
import {
  Connection,
  type ConnectionOptions,
  type Envelope,
  type Publisher as AmqpPublisher,
} from 'rabbitmq-client';

import { deadline } from '../libvirt/signals.ts';
import { AMQP_PROPERTIES } from './notification.ts';
import { describeTransportUrl, type TransportUrl } from './transport-url.ts';

/** What the publisher needs from a broker connection. */
export interface AmqpTransport {
  /** Publishes one body and resolves once the broker confirmed it; rejects on failure or timeout. */
  send(body: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Whether the connection is established (and not blocked by the broker). */
  readonly ready: boolean;
  /** Resolves true as soon as the connection is ready, false after `timeoutMs` or on abort. */
  waitReady(timeoutMs: number, options?: { signal?: AbortSignal }): Promise<boolean>;
  /** Closes the publisher and the connection, forcibly after `timeoutMs`. */
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
  /** Longest wait for the connection plus the confirm of one message. */
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
  const connection = new Connection(connOptions);
  const shown = describeTransportUrl(url);
  let wasUp = false;
  let lastError = '';
  connection.on('connection', () => {
    wasUp = true;
    lastError = '';
    logger.info({ broker: shown }, 'amqp connected');
  });
  connection.on('error', (err: unknown) => {
    // NOTE: while the broker is down every reconnect attempt reports an error; log a change of
    // error at warn and repeats at debug, so an outage does not flood the log.
    const message = err instanceof Error ? err.message : String(err);
    const level = message === lastError ? 'debug' : 'warn';
    lastError = message;
    logger[level](
      { broker: shown, err: message, code: amqpErrorCode(err), was_connected: wasUp },
      'amqp connection error',
    );
  });
  connection.on('connection.blocked', (reason: string) => {
    logger.warn({ broker: shown, reason }, 'amqp connection blocked by the broker');
  });

  const exchangeParams =
    options.exchangeDeclare === 'passive'
      ? { exchange: options.exchange, type: 'topic', passive: true }
      : {
          exchange: options.exchange,
          type: 'topic',
          durable: options.exchangeDeclare === 'durable',
          autoDelete: false,
        };
  const publisher: AmqpPublisher = connection.createPublisher({
    confirm: true,
    // Retries are the caller's business: it keeps the order and the bounded queue.
    maxAttempts: 1,
    exchanges: [exchangeParams],
  });

  // NOTE: rabbitmq-client stamps `timestamp` unless the key is present; the real agent sends none,
  // so it is set to undefined explicitly (the codec skips null/undefined properties).
  const envelope = {
    exchange: options.exchange,
    routingKey: options.routingKey,
    ...AMQP_PROPERTIES,
    headers: {},
    timestamp: undefined,
  } as unknown as Envelope;

  return {
    get ready() {
      return connection.ready;
    },
    async send(body, sendOptions = {}) {
      // NOTE: not AbortSignal.any([AbortSignal.timeout(), …]), whose timeout garbage collection can lose.
      const bound = deadline(options.sendTimeoutMs, sendOptions.signal);
      const { signal } = bound;
      if (signal.aborted) {
        bound.clear();
        signal.throwIfAborted();
      }
      const sent = publisher.send(envelope, Buffer.from(body, 'utf8'));
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
          reject(signal.reason instanceof Error ? signal.reason : new Error('send aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
      // A send abandoned on timeout may still settle later: never leave its rejection unhandled.
      sent.catch(() => undefined);
      aborted.catch(() => undefined);
      try {
        await Promise.race([sent, aborted]);
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort);
        bound.clear();
      }
    },
    async waitReady(timeoutMs, waitOptions = {}) {
      if (connection.ready) return true;
      return new Promise<boolean>((resolve) => {
        const finish = (value: boolean): void => {
          clearTimeout(timer);
          connection.off('connection', onConnection);
          waitOptions.signal?.removeEventListener('abort', onAbort);
          resolve(value);
        };
        const onConnection = (): void => {
          finish(true);
        };
        const onAbort = (): void => {
          finish(false);
        };
        const timer = setTimeout(() => {
          finish(connection.ready);
        }, timeoutMs);
        timer.unref();
        connection.on('connection', onConnection);
        waitOptions.signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    async close(timeoutMs) {
      const graceful = (async () => {
        await publisher.close().catch(() => undefined);
        await connection.close();
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
        connection.unsafeDestroy();
        graceful.catch(() => undefined);
      }
    },
  };
}
