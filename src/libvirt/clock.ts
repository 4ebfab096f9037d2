// SPDX-License-Identifier: Apache-2.0
/**
 * Time as the connection sees it: the current time and one-shot timers.
 *
 * Every timer of the client (keepalive, open and close deadlines, the reconnect delay) and of the
 * publisher (poll cycles, send and confirm waits, retry delays) goes through a `Clock`, so that tests
 * drive time by hand instead of sleeping: a test that waits for real milliseconds fails on a loaded
 * machine (a keepalive test failed one CI run in three that way).
 */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards within one clock. */
  now(): number;
  /**
   * Calls `fn` once, `ms` milliseconds from now (at once for 0 or less). Returns a function that cancels
   * the timer (idempotent). The timer never keeps the process alive.
   */
  setTimer(fn: () => void, ms: number): () => void;
}

/**
 * The real clock: `performance.now()` (monotonic: a wall-clock step cannot make a duration negative)
 * and unreferenced `setTimeout` timers.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};
