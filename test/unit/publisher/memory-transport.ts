// SPDX-License-Identifier: Apache-2.0
/** An in-memory AmqpTransport for the publisher's unit tests: a broker that can be up or down. */
import type { AmqpTransport, AmqpTransportOptions } from '../../../src/publisher/amqp-transport.ts';

/** The fake broker. */
export interface MemoryTransport extends AmqpTransport {
  /** Bodies confirmed, in order. */
  readonly sent: string[];
  /** Whether sends succeed. */
  up: boolean;
  /** Makes the next sends fail with this AMQP code even while up (a refusal). */
  refuse: string | undefined;
  /** The options the publisher created it with. */
  options: AmqpTransportOptions | undefined;
  closed: boolean;
}

/** Creates the fake and the factory to hand to createPublisher's deps. */
export function memoryTransport(): {
  transport: MemoryTransport;
  factory: (o: AmqpTransportOptions) => AmqpTransport;
} {
  const listeners = new Set<() => void>();
  let up = true;
  const t: MemoryTransport = {
    sent: [],
    get up() {
      return up;
    },
    set up(v: boolean) {
      up = v;
      if (v) for (const l of [...listeners]) l();
    },
    refuse: undefined,
    options: undefined,
    closed: false,
    get ready() {
      return up;
    },
    async send(body) {
      await new Promise((r) => setImmediate(r));
      if (!up) throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
      if (t.refuse !== undefined) throw Object.assign(new Error('refused'), { code: t.refuse });
      t.sent.push(body);
    },
    async waitReady(timeoutMs, options = {}) {
      if (up) return true;
      return new Promise<boolean>((resolve) => {
        const done = (v: boolean): void => {
          clearTimeout(timer);
          listeners.delete(onUp);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(v);
        };
        const onUp = (): void => {
          done(true);
        };
        const onAbort = (): void => {
          done(false);
        };
        const timer = setTimeout(() => {
          done(up);
        }, timeoutMs);
        listeners.add(onUp);
        options.signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    close() {
      t.closed = true;
      return Promise.resolve();
    },
  };
  return {
    transport: t,
    factory: (o) => {
      t.options = o;
      return t;
    },
  };
}
