// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { clockDeadline, deadline, withDeadline } from '../../../src/libvirt/signals.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const aborted = (signal: AbortSignal, withinMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (signal.aborted) {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => {
      resolve(false);
    }, withinMs);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      { once: true },
    );
  });

describe('deadline', () => {
  test('fires after its time even when garbage collection runs meanwhile', async () => {
    const parent = new AbortController();
    // Only the returned signal is kept, as in a call that waits on it (no listener yet).
    const { signal } = deadline(80, parent.signal);
    gc();
    await new Promise((r) => setTimeout(r, 20));
    gc();
    // A real timer on purpose (what garbage collection lost was a real timer); the 10 s bound only ends
    // the test when the signal never fires, it does not time the deadline.
    assert.equal(await aborted(signal, 10_000), true);
    assert.equal((signal.reason as Error).name, 'TimeoutError');
  });

  test('follows a parent, with its reason, and detaches from it', () => {
    const parent = new AbortController();
    const d = deadline(10_000, parent.signal, undefined);
    const reason = new Error('caller gone');
    parent.abort(reason);
    assert.equal(d.signal.aborted, true);
    assert.equal(d.signal.reason, reason);
    // An already aborted parent aborts the new signal at once.
    assert.equal(deadline(10_000, parent.signal).signal.reason, reason);
  });

  test('clear() stops the timer: the signal stays unaborted', () => {
    const clock = new ManualClock();
    const d = clockDeadline(clock, 20);
    d.clear();
    d.clear();
    assert.equal(clock.pending, 0);
    clock.advance(1000);
    assert.equal(d.signal.aborted, false);
  });

  test('aborts exactly when its time has elapsed on its clock', () => {
    const clock = new ManualClock();
    const d = clockDeadline(clock, 20);
    clock.advance(19);
    assert.equal(d.signal.aborted, false);
    clock.advance(1);
    assert.equal(d.signal.aborted, true);
    assert.equal((d.signal.reason as Error).name, 'TimeoutError');
  });

  test('withDeadline clears the timer and the parent listener however the work ends', async () => {
    const parent = new AbortController();
    let seen: AbortSignal | undefined;
    await assert.rejects(
      withDeadline(10_000, [parent.signal], (signal) => {
        seen = signal;
        return Promise.reject(new Error('boom'));
      }),
      /boom/,
    );
    parent.abort();
    assert.equal(seen?.aborted, false, 'detached from the parent once the work ended');
    assert.equal(await withDeadline(10_000, [], () => Promise.resolve(7)), 7);
  });
});
