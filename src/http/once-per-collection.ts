// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * A value read once per collection of a prom-client registry, shared by the metrics that need it.
 */

/**
 * `read`, called by the first metric's `collect()` of a collection; the others of the same collection get
 * the same value, and the next collection reads again.
 * NOTE: prom-client calls every metric's collect() synchronously, one after the other, when a registry
 * is collected (it awaits them together afterwards); the value is dropped at the next microtask. So
 * metrics that describe one snapshot cost one read of it, and they all describe the same moment.
 */
export function oncePerCollection<T>(read: () => T): () => T {
  let current: { value: T } | undefined;
  const forget = (): void => {
    current = undefined;
  };
  return () => {
    if (current === undefined) {
      current = { value: read() };
      queueMicrotask(forget);
    }
    return current.value;
  };
}
