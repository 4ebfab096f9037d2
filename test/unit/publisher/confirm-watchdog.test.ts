// SPDX-License-Identifier: Apache-2.0
/**
 * The publisher-confirm wait (issue 15, item 12): a send is never abandoned while the broker blocks or
 * the connection is down (the client would still deliver it later, and a retry would deliver it twice);
 * it is cut only when a connected, unblocked broker does not confirm in time, after the caller made the
 * message undeliverable. Fake timers.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';

import { awaitConfirm } from '../../../src/publisher/confirm-watchdog.ts';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** How a watched send ended, seen from outside. */
function watch(p: Promise<void>): { state: () => string } {
  let state = 'pending';
  p.then(
    () => (state = 'confirmed'),
    (e: unknown) => {
      const err = e as Error & { code?: string };
      state = `failed:${err.code ?? err.message}`;
    },
  );
  return { state: () => state };
}

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout'] });
});
afterEach(() => {
  mock.timers.reset();
});

test('while the broker blocks, the confirm is waited for however long it takes', async () => {
  const sent = deferred();
  let timeouts = 0;
  const w = watch(
    awaitConfirm(sent.promise, { timeoutMs: 5000, expectsConfirm: () => false, onTimeout: () => timeouts++ }),
  );
  for (let i = 0; i < 120; i++) {
    mock.timers.tick(5000);
    await flush();
  }
  assert.equal(w.state(), 'pending', 'ten minutes of blocking do not abandon the send');
  assert.equal(timeouts, 0);
  sent.resolve();
  await flush();
  assert.equal(w.state(), 'confirmed');
});

test('a connected, unblocked broker that does not confirm: the connection is dropped first, then TIMEOUT', async () => {
  const sent = deferred();
  const order: string[] = [];
  let blocked = true;
  const p = awaitConfirm(sent.promise, {
    timeoutMs: 5000,
    expectsConfirm: () => !blocked,
    onTimeout: () => order.push('connection dropped'),
  });
  const w = watch(p);
  p.catch(() => order.push('send failed'));
  mock.timers.tick(5000);
  await flush();
  assert.equal(w.state(), 'pending');
  blocked = false;
  mock.timers.tick(4999);
  await flush();
  assert.equal(w.state(), 'pending');
  mock.timers.tick(1);
  await flush();
  assert.equal(w.state(), 'failed:TIMEOUT');
  assert.deepEqual(order, ['connection dropped', 'send failed']);
  // The client's own late outcome changes nothing.
  sent.resolve();
  await flush();
  assert.equal(w.state(), 'failed:TIMEOUT');
});

test("the client's rejection (connection lost) and the shutdown signal end the wait at once", async () => {
  const lost = deferred();
  const w1 = watch(
    awaitConfirm(lost.promise, { timeoutMs: 5000, expectsConfirm: () => false, onTimeout: () => undefined }),
  );
  lost.reject(Object.assign(new Error('socket closed'), { code: 'CONN_CLOSE' }));
  await flush();
  assert.equal(w1.state(), 'failed:CONN_CLOSE');

  const stop = new AbortController();
  const w2 = watch(
    awaitConfirm(deferred().promise, {
      timeoutMs: 5000,
      expectsConfirm: () => false,
      onTimeout: () => undefined,
      signal: stop.signal,
    }),
  );
  stop.abort(new Error('publisher stopped'));
  await flush();
  assert.equal(w2.state(), 'failed:publisher stopped');
});
