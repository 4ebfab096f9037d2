// SPDX-License-Identifier: Apache-2.0
/**
 * A deadline signal that garbage collection cannot lose.
 *
 * On Node 20, `AbortSignal.any([signal, AbortSignal.timeout(ms)])` holds its sources weakly, and the
 * timer of `AbortSignal.timeout()` holds its signal weakly too: after a garbage collection the timeout
 * signal is gone and the combined signal never aborts (reproduced here with `node --expose-gc`; it
 * made a call stuck on a hung guest wait for the caller's whole deadline instead of the soft timeout).
 * Here the timer and the parents' listeners hold the controller strongly until `clear()`.
 */
import { systemClock, type Clock } from './clock.ts';

/** A signal that aborts when `ms` elapse or when any parent aborts, with the timer to clear. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Stops the timer and detaches from the parents (idempotent); the signal keeps its state. */
  clear(): void;
}

/** A `TimeoutError` DOMException, the reason `AbortSignal.timeout()` gives. */
function timeoutReason(ms: number): DOMException {
  return new DOMException(`The operation timed out after ${ms} ms`, 'TimeoutError');
}

/**
 * A signal aborted after `ms` milliseconds (reason: a `TimeoutError` DOMException, as
 * `AbortSignal.timeout()` gives) or as soon as one of `parents` aborts (with that parent's reason).
 * The timer does not keep the process alive. Call `clear()` once the guarded work is over.
 */
export function deadline(ms: number, ...parents: (AbortSignal | undefined)[]): Deadline {
  return clockDeadline(systemClock, ms, ...parents);
}

/** {@link deadline} with the timer on `clock` (tests pass a clock they advance by hand). */
export function clockDeadline(clock: Clock, ms: number, ...parents: (AbortSignal | undefined)[]): Deadline {
  const controller = new AbortController();
  const sources = parents.filter((p): p is AbortSignal => p !== undefined);
  const listeners: [AbortSignal, () => void][] = [];
  let cancelTimer: (() => void) | undefined;
  const clear = (): void => {
    cancelTimer?.();
    cancelTimer = undefined;
    for (const [s, l] of listeners.splice(0)) s.removeEventListener('abort', l);
  };
  const abort = (reason: unknown): void => {
    clear();
    controller.abort(reason);
  };
  const already = sources.find((s) => s.aborted);
  if (already !== undefined) {
    abort(already.reason);
    return { signal: controller.signal, clear };
  }
  for (const s of sources) {
    const l = (): void => {
      abort(s.reason);
    };
    s.addEventListener('abort', l, { once: true });
    listeners.push([s, l]);
  }
  if (Number.isFinite(ms)) {
    cancelTimer = clock.setTimer(() => {
      abort(timeoutReason(ms));
    }, ms);
  }
  return { signal: controller.signal, clear };
}

/** Runs `fn` with a {@link deadline} signal (timed on `clock`) and clears it afterwards, however `fn` ends. */
export async function withDeadline<T>(
  ms: number,
  parents: readonly (AbortSignal | undefined)[],
  fn: (signal: AbortSignal) => Promise<T>,
  clock: Clock = systemClock,
): Promise<T> {
  const d = clockDeadline(clock, ms, ...parents);
  try {
    return await fn(d.signal);
  } finally {
    d.clear();
  }
}
