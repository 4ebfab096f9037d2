// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * How long a publisher confirm is waited for. A message the AMQP client accepted is never given up
 * while the client may still deliver it (that would let a retry deliver it twice): the wait is only
 * cut, after `timeoutMs`, when the broker is connected and not blocking and still has not confirmed;
 * the caller then drops the connection (and what the client still held for it) in `onTimeout`. While
 * the broker blocks, or while the connection is down (the client rejects the send itself), the wait goes
 * on, checked again every `timeoutMs`.
 */

import { systemClock, type Clock } from '../libvirt/index.ts';

/** Options of {@link awaitConfirm}. */
export interface ConfirmWatch {
  readonly timeoutMs: number;
  /** Whether a missing confirm now means the broker will not send it (connected, not blocking). */
  readonly expectsConfirm: () => boolean;
  /** Called once, when the wait is cut: must make the message undeliverable (drop the connection). */
  readonly onTimeout: () => void;
  /** Shutdown only: rejects at once (the transport is closed right after). */
  readonly signal?: AbortSignal | undefined;
  /** Times the wait (default: the system clock). */
  readonly clock?: Clock | undefined;
}

/** Resolves with `sent`, or rejects with `sent`'s error, a TIMEOUT error, or the signal's reason. */
export function awaitConfirm(sent: Promise<unknown>, watch: ConfirmWatch): Promise<void> {
  const { signal } = watch;
  if (signal?.aborted === true) {
    sent.catch(() => undefined);
    return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('send aborted'));
  }
  return new Promise<void>((resolve, reject) => {
    const clock = watch.clock ?? systemClock;
    let cancelTimer: (() => void) | undefined;
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      cancelTimer?.();
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err instanceof Error ? err : new Error('send failed', { cause: err }));
    };
    const onAbort = (): void => {
      settle(signal?.reason ?? new Error('send aborted'));
    };
    const arm = (): void => {
      cancelTimer = clock.setTimer(() => {
        if (!watch.expectsConfirm()) {
          arm();
          return;
        }
        watch.onTimeout();
        settle(Object.assign(new Error('publisher confirm timed out'), { code: 'TIMEOUT' }));
      }, watch.timeoutMs);
    };
    arm();
    signal?.addEventListener('abort', onAbort, { once: true });
    sent.then(
      () => {
        settle();
      },
      (err: unknown) => {
        settle(err);
      },
    );
  });
}
