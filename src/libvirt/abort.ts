// SPDX-License-Identifier: Apache-2.0
/**
 * Giving up the wait for a promise when a signal aborts: the one helper for it in this code base.
 *
 * @packageDocumentation
 */

/**
 * Settles as `promise` settles, or rejects with `onAbort(signal)` as soon as `signal` aborts (at once
 * when it already has). The promise itself keeps running: only the wait for it ends. A rejection that is
 * not an Error is wrapped in one. Without a signal, returns `promise` as is.
 *
 * @example
 * await raceSignal(connecting, signal, (s) => new Error(`gave up: ${String(s.reason)}`));
 */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: (signal: AbortSignal) => Error,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(onAbort(signal));
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      reject(onAbort(signal));
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
