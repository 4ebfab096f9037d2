// SPDX-License-Identifier: Apache-2.0
/**
 * Event delivery that a throwing listener cannot break (issue 15, item 8).
 *
 * @packageDocumentation
 */
import type { EventEmitter } from 'node:events';

/**
 * Calls each listener of `event` in turn, each isolated from the others and from the caller (a socket's
 * data handler, usually): what a listener throws goes to `onThrow` instead of up the stack.
 */
export function emitIsolated(
  emitter: EventEmitter,
  event: string,
  args: readonly unknown[],
  onThrow: (err: unknown) => void,
): void {
  for (const listener of emitter.rawListeners(event) as ((...a: unknown[]) => unknown)[]) {
    try {
      Reflect.apply(listener, emitter, args);
    } catch (err) {
      onThrow(err);
    }
  }
}
