// SPDX-License-Identifier: Apache-2.0
/**
 * An in-memory AmqpTransport for the publisher's unit tests: a broker that can be up or down, and that
 * can block publishing (a resource alarm) the way RabbitMQ and rabbitmq-client do: a message sent while
 * blocked is held and delivered when the broker unblocks, even if the sender gave up waiting for it.
 * Its timers run on the clock the publisher passes in its options (the system clock otherwise).
 */
import { systemClock } from '../../../src/libvirt/clock.ts';
import type { AmqpTransport, AmqpTransportOptions } from '../../../src/publisher/amqp-transport.ts';

/** The fake broker. */
export interface MemoryTransport extends AmqpTransport {
  /** Bodies confirmed, in order. */
  readonly sent: string[];
  /** Whether sends succeed. */
  up: boolean;
  /** Whether the broker blocks publishing: sends are held until it unblocks. */
  blocked: boolean;
  /** Bodies written while blocked, waiting for the unblock. */
  readonly held: string[];
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
  const heldSends: (() => void)[] = [];
  let up = true;
  let blocked = false;
  const changed = (): void => {
    for (const l of [...listeners]) l();
  };
  const t: MemoryTransport = {
    sent: [],
    held: [],
    get up() {
      return up;
    },
    set up(v: boolean) {
      up = v;
      if (v) changed();
    },
    get blocked() {
      return blocked && up;
    },
    set blocked(v: boolean) {
      blocked = v;
      if (!v) {
        // The corked socket flushes: everything written meanwhile is delivered, in order.
        for (const release of heldSends.splice(0)) release();
        changed();
      }
    },
    refuse: undefined,
    options: undefined,
    closed: false,
    get connected() {
      return up;
    },
    get ready() {
      return up && !blocked;
    },
    async send(body, options = {}) {
      await new Promise((r) => setImmediate(r));
      if (!up) throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
      if (blocked) {
        t.held.push(body);
        // As the real transport: the wait for the confirm ends at once at shutdown (the signal).
        await new Promise<void>((resolve, reject) => {
          heldSends.push(resolve);
          options.signal?.addEventListener(
            'abort',
            () => {
              reject(new Error('send aborted'));
            },
            { once: true },
          );
        });
        t.held.splice(t.held.indexOf(body), 1);
      }
      if (t.refuse !== undefined) throw Object.assign(new Error('refused'), { code: t.refuse });
      t.sent.push(body);
    },
    async waitReady(timeoutMs, options = {}) {
      if (t.ready) return true;
      if (options.signal?.aborted === true) return false;
      return new Promise<boolean>((resolve) => {
        const done = (v: boolean): void => {
          cancelTimer();
          listeners.delete(onChange);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(v);
        };
        const onChange = (): void => {
          if (t.ready) done(true);
        };
        const onAbort = (): void => {
          done(false);
        };
        const cancelTimer = (t.options?.clock ?? systemClock).setTimer(() => {
          done(t.ready);
        }, timeoutMs);
        listeners.add(onChange);
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
