// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The sender: takes the notifications of the delivery queue in order and publishes them, one at a time,
 * each confirmed before the next. Its state is the retry state of the head of the queue (backoff, tries
 * while the broker refuses it) and whether it is running, stopping or stopped.
 *
 * Back-pressure: while the broker blocks publishing (a resource alarm) nothing is sent; samples wait in
 * the queue, within max_queue_length (policy `queue`), or are dropped (policy `drop`). A send in flight
 * is never abandoned for a retry while its message may still be delivered (see amqp-transport.ts).
 */
import type { Logger } from 'pino';

import { systemClock, type Clock } from '../libvirt/index.ts';
import { amqpErrorCode, type AmqpTransport } from './amqp-transport.ts';
import type { DeliveryQueue, QueuedBatch } from './delivery-queue.ts';
import type { PublisherMetrics } from './metrics.ts';
import { buildNotificationBody } from '../ceilometer/notification.ts';

/** Options of {@link Sender}. */
export interface SenderOptions {
  readonly queue: DeliveryQueue;
  readonly transport: AmqpTransport;
  readonly metrics: PublisherMetrics;
  readonly logger: Logger;
  readonly policy: 'queue' | 'drop';
  /** Retry backoff bounds of a failed send, in ms. */
  readonly retryDelayMs: { readonly min: number; readonly max: number };
  /** Told the number of samples of each confirmed notification. */
  readonly onPublished: (samples: number) => void;
  /** Times the retry backoff and the flush bound (default: the system clock). */
  readonly clock?: Clock;
}

/** Tries of one notification the broker keeps refusing while connected before it is dropped. */
const MAX_REFUSALS = 5;

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
const sleep = (clock: Clock, ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const cancel = clock.setTimer(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

/** Publishes the queue's notifications in order; {@link kick} after every push. */
export class Sender {
  readonly #o: SenderOptions;
  readonly #clock: Clock;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #stopped = false;
  #failing = false;
  #backoffMs: number;
  #refusals = 0;
  /** Aborts waits (backoff, broker readiness) when stopping. */
  readonly #wake = new AbortController();
  /** Aborts the send in flight at the hard stop. */
  readonly #abortSend = new AbortController();

  constructor(options: SenderOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#backoffMs = options.retryDelayMs.min;
  }

  /** Starts the loop unless it runs (or the sender stopped). */
  kick(): void {
    if (this.#loop || this.#stopped) return;
    this.#loop = this.#drain().finally(() => {
      this.#loop = undefined;
      // Batches pushed while the loop was finishing would otherwise wait for the next cycle.
      if (this.#o.queue.length > 0 && !this.#stopped && !this.#stopping) this.kick();
    });
  }

  /** Sends what the broker takes within `ms` (only while it is ready), then stops for good. */
  async flush(ms: number): Promise<void> {
    this.#stopping = true;
    this.#wake.abort(new Error('publisher stopping'));
    this.kick();
    const bound = new AbortController();
    await Promise.race([this.#loop ?? Promise.resolve(), sleep(this.#clock, ms, bound.signal)]);
    bound.abort(); // clears the bound's timer when the loop ended first
    this.#stopped = true;
    this.#abortSend.abort(new Error('publisher stopped'));
    await this.#loop?.catch(() => undefined);
  }

  /** Whether nothing can go out now because the broker blocks publishing. */
  get held(): boolean {
    return this.#o.transport.blocked;
  }

  async #drain(): Promise<void> {
    const { queue, transport } = this.#o;
    for (;;) {
      if (this.#stopped) return;
      if (this.#stopping && !transport.ready) return;
      if (queue.length === 0) return;
      if (transport.blocked) {
        if (this.#o.policy === 'drop') {
          queue.dropAll('broker_unavailable');
          continue;
        }
        // Never write to a blocked connection: the client would hold the message outside the queue.
        await transport.waitReady(this.#o.retryDelayMs.max, { signal: this.#wake.signal });
        continue;
      }
      const batch = queue.take();
      if (!batch) return;
      if (this.#o.policy === 'drop' && !transport.ready) {
        // Ceilometer's 'drop' policy: what cannot be sent now is discarded, never held.
        queue.dropInFlight('broker_unavailable');
        queue.dropAll('broker_unavailable');
        continue;
      }
      try {
        await transport.send(buildNotificationBody(batch.samples), { signal: this.#abortSend.signal });
        this.#published(batch);
      } catch (err) {
        if (!(await this.#failed(batch, err))) return;
      }
    }
  }

  #published(batch: QueuedBatch): void {
    const count = batch.samples.length;
    this.#o.queue.done();
    this.#o.metrics.samplesPublished.inc({ meter: batch.meter }, count);
    this.#o.metrics.notificationsPublished.inc();
    this.#o.onPublished(count);
    if (this.#failing) this.#o.logger.info('publishing again');
    this.#failing = false;
    this.#backoffMs = this.#o.retryDelayMs.min;
    this.#refusals = 0;
  }

  /** Handles a failed send; false when the loop must end. */
  async #failed(batch: QueuedBatch, err: unknown): Promise<boolean> {
    const { queue, transport, metrics, logger } = this.#o;
    const count = batch.samples.length;
    metrics.sendFailures.inc();
    const code = amqpErrorCode(err);
    const message = err instanceof Error ? err.message : String(err);
    logger[this.#failing ? 'debug' : 'warn'](
      { err: message, code, meter: batch.meter, samples: count },
      'publish failed',
    );
    this.#failing = true;
    if (this.#stopped) {
      queue.release();
      return false;
    }
    if (this.#o.policy === 'drop') {
      queue.dropInFlight('broker_unavailable');
      queue.dropAll('broker_unavailable');
      return true;
    }
    // A broker that is up but keeps refusing one message (nack, frame or size limit) would block the
    // queue forever: give that message up after a few tries. A missing exchange (passive declare
    // before the notification agent created it) is an outage, not a refusal; a timeout is not a
    // refusal either (the connection was replaced).
    if (transport.ready && code !== 'NOT_FOUND' && code !== 'TIMEOUT' && ++this.#refusals >= MAX_REFUSALS) {
      logger.error(
        { err: message, code, meter: batch.meter, samples: count },
        'broker keeps refusing a notification, dropping it',
      );
      queue.dropInFlight('rejected');
      this.#refusals = 0;
      return true;
    }
    queue.release();
    if (this.#stopping) return false;
    if (transport.ready) await sleep(this.#clock, this.#backoffMs, this.#wake.signal);
    else await transport.waitReady(this.#backoffMs, { signal: this.#wake.signal });
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#o.retryDelayMs.max);
    return true;
  }
}
