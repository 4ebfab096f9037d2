// SPDX-License-Identifier: Apache-2.0
/**
 * The cap on calls in flight of one connection: libvirtd serves a bounded number of requests per
 * client, so calls beyond the cap wait here, in order, for a slot.
 *
 * @packageDocumentation
 */
import { abortErrorFor } from './errors.ts';

interface SlotWaiter {
  readonly grant: () => void;
  readonly reject: (err: Error) => void;
}

/** Slots of calls in flight; `onIdle` runs when the last one is released. */
export class CallSlots {
  private used = 0;
  private readonly waiters: SlotWaiter[] = [];

  constructor(
    private readonly max: number,
    private readonly onIdle: () => void,
  ) {}

  /** Slots held, abandoned calls included. */
  get inUse(): number {
    return this.used;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.waiters.length;
  }

  /** Takes a slot regardless of the cap (CONNECT_CLOSE during close() must not queue behind stuck calls). */
  force(): void {
    this.used++;
  }

  /** Takes a slot, waiting for one while `max` are held; rejects when `signal` aborts meanwhile. */
  async acquire(signal: AbortSignal | undefined, proc: number): Promise<void> {
    if (this.used < this.max) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        if (signal !== undefined)
          reject(abortErrorFor(signal, `call of procedure ${proc} (waiting for a free slot)`));
      };
      const waiter: SlotWaiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Gives a slot back: straight to the next waiter, if any. */
  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) {
      next.grant();
      return;
    }
    this.used--;
    if (this.used === 0) this.onIdle();
  }

  /** Rejects every waiter with `err`. */
  rejectWaiters(err: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }

  /** Forgets every slot (the connection is gone) and rejects the waiters. */
  clear(err: Error): void {
    this.used = 0;
    this.rejectWaiters(err);
  }
}
