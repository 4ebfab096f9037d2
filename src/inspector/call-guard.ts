// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Every libvirt call of the inspector goes through a {@link CallGuard}: client errors become the
 * inspector's taxonomy (errors.ts), and the outcome of the last call says whether libvirt is reachable.
 */
import { LibvirtConnectionError, LibvirtError } from '../libvirt/index.ts';
import { DisconnectedError, InspectorError, InspectorTimeoutError, LibvirtCallError } from './errors.ts';

/** Why `signal` aborted, as an Error. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

/** Maps a client error into the inspector's taxonomy. */
export function classify(err: unknown, what: string, signal?: AbortSignal): InspectorError {
  if (err instanceof InspectorError) return err;
  if (signal?.aborted === true) {
    return new InspectorTimeoutError(`${what}: deadline exceeded`, { cause: abortReason(signal) });
  }
  if (err instanceof LibvirtConnectionError)
    return new DisconnectedError(`${what}: ${err.message}`, { cause: err });
  if (err instanceof LibvirtError) return new LibvirtCallError(`${what}: ${err.message}`, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new InspectorError(`${what}: ${message}`, { cause: err });
}

/** Runs libvirt calls, classifying their errors and tracking whether libvirt answers. */
export class CallGuard {
  #connected = false;

  /** Whether the last call reached libvirt (a timeout tells nothing either way). */
  get connected(): boolean {
    return this.#connected;
  }

  /** Runs `fn` (calls that describe themselves as `what`, under `signal`), classifying its error. */
  async run<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      this.#connected = true;
      return result;
    } catch (err) {
      const e = classify(err, what, signal);
      if (e instanceof DisconnectedError) this.#connected = false;
      else if (!(e instanceof InspectorTimeoutError)) this.#connected = true;
      throw e;
    }
  }
}
