// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The bounded, in-order queue of notifications waiting for the broker. Bounded in samples: when a
 * new batch would exceed the bound, the oldest samples are dropped first (Ceilometer's notifier
 * publisher `_check_queue_length` drops the oldest too), except the batch being sent right now.
 */
import type { PyDict } from '../ceilometer/python-format.ts';

/** One future notification: samples of one meter from one cycle. */
export interface QueuedBatch {
  readonly meter: string;
  /** Mutable only by the queue (trimmed from the front when the bound is hit). */
  samples: PyDict[];
}

/** Why samples were dropped (the `reason` label of the dropped counter). */
export type DropReason = 'queue_full' | 'broker_unavailable' | 'rejected' | 'shutdown';

/** Options of {@link DeliveryQueue}. */
export interface DeliveryQueueOptions {
  /** Most samples held (queued plus in flight). */
  readonly maxSamples: number;
  /** Told about every drop, with the number of samples. */
  readonly onDrop: (count: number, reason: DropReason) => void;
}

/** FIFO of batches with a sample bound. The head may be "in flight": it is then never trimmed. */
export class DeliveryQueue {
  readonly #items: QueuedBatch[] = [];
  #head = 0;
  #samples = 0;
  #inFlight = false;
  readonly #options: DeliveryQueueOptions;

  constructor(options: DeliveryQueueOptions) {
    this.#options = options;
  }

  /** Samples held, including the batch in flight. */
  get samples(): number {
    return this.#samples;
  }

  /** Batches held, including the batch in flight. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Appends a batch, then drops the oldest samples beyond the bound (never from the batch in flight). */
  push(batch: QueuedBatch): void {
    if (batch.samples.length === 0) return;
    this.#items.push(batch);
    this.#samples += batch.samples.length;
    let excess = this.#samples - this.#options.maxSamples;
    if (excess <= 0) return;
    let dropped = 0;
    let i = this.#head + (this.#inFlight ? 1 : 0);
    while (excess > 0 && i < this.#items.length) {
      const item = this.#items[i];
      if (!item) break;
      const n = Math.min(excess, item.samples.length);
      item.samples.splice(0, n);
      excess -= n;
      dropped += n;
      i++;
    }
    // Remove emptied batches (they are contiguous right after the head / in-flight batch).
    const start = this.#head + (this.#inFlight ? 1 : 0);
    let end = start;
    while (end < this.#items.length && this.#items[end]?.samples.length === 0) end++;
    this.#items.splice(start, end - start);
    this.#samples -= dropped;
    if (dropped > 0) this.#options.onDrop(dropped, 'queue_full');
  }

  /** Marks the oldest batch as in flight and returns it; undefined when empty. */
  take(): QueuedBatch | undefined {
    const item = this.#items[this.#head];
    if (!item) return undefined;
    this.#inFlight = true;
    return item;
  }

  /** The in-flight batch was delivered (or given up): removes it. */
  done(): void {
    if (!this.#inFlight) return;
    const item = this.#items[this.#head];
    this.#inFlight = false;
    if (!item) return;
    this.#samples -= item.samples.length;
    this.#items[this.#head] = undefined as unknown as QueuedBatch;
    this.#head++;
    // Compact now and then, so that a long-lived queue does not grow its array forever.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** The in-flight batch will be retried later: it stays at the head. */
  release(): void {
    this.#inFlight = false;
  }

  /** Drops everything not in flight (policy `drop`, or shutdown), counting it under `reason`. */
  dropAll(reason: DropReason): void {
    const keep = this.#inFlight ? this.#items[this.#head] : undefined;
    let dropped = 0;
    for (let i = this.#head + (keep ? 1 : 0); i < this.#items.length; i++)
      dropped += this.#items[i]?.samples.length ?? 0;
    this.#items.length = 0;
    this.#head = 0;
    if (keep) this.#items.push(keep);
    this.#samples = keep ? keep.samples.length : 0;
    if (dropped > 0) this.#options.onDrop(dropped, reason);
  }

  /** Drops the in-flight batch (it cannot be delivered), counting it under `reason`. */
  dropInFlight(reason: DropReason): void {
    if (!this.#inFlight) return;
    const n = this.#items[this.#head]?.samples.length ?? 0;
    this.done();
    if (n > 0) this.#options.onDrop(n, reason);
  }
}
