// SPDX-License-Identifier: Apache-2.0
/**
 * Whether a promise has settled, after the I/O and microtasks already queued have run (one turn of the
 * event loop, no timer): with a ManualClock, a test checks that something still waits just before a
 * timeout, then advances the clock to it.
 */
export async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}
