// SPDX-License-Identifier: Apache-2.0
/**
 * Issue 15 item 7: the shared storage-pool read runs under its own deadline, so that a caller that
 * gives up early (a client asking for a short scrape deadline) does not fail a concurrent scrape that
 * shares the read, and leaves no abandoned call behind. The recorded lab client is wrapped so that its
 * calls wait for the test (and honour their AbortSignal, as the real client does). Deadlines run on a
 * ManualClock: no test here waits for real time (issue 15 item 16).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { InspectorTimeoutError } from '../../../src/inspector/errors.ts';
import { HOST_INFO_TIMEOUT_MS, POOLS_TIMEOUT_MS } from '../../../src/inspector/host-and-pools.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import { fixtureClient, loadRecording } from '../../helpers/fixture-client.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { settled } from '../../helpers/settled.ts';

/** The calls of the host-info and storage-pool reads (pools and their info go through raw `call`). */
const HELD = new Set([
  'call',
  'connectGetHostname',
  'connectGetLibVersion',
  'connectGetVersion',
  'connectGetType',
  'nodeGetInfo',
]);

/** The fixture client, with those calls held until `release()`; counts calls and aborted calls. */
function heldClient() {
  const inner = fixtureClient(loadRecording());
  const held: (() => void)[] = [];
  const stats = { calls: 0, aborted: 0 };
  const client = new Proxy(inner, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !HELD.has(prop) || typeof real !== 'function') return real;
      return (...args: unknown[]) => {
        stats.calls += 1;
        // The call options (with the signal) are the last argument.
        const options = args.at(-1) as { signal?: AbortSignal } | undefined;
        return new Promise<unknown>((resolve, reject) => {
          const onAbort = (): void => {
            stats.aborted += 1;
            reject(new Error('aborted'));
          };
          options?.signal?.addEventListener('abort', onAbort, { once: true });
          held.push(() => {
            options?.signal?.removeEventListener('abort', onAbort);
            (real as (...a: unknown[]) => Promise<unknown>)(...args).then(resolve, reject);
          });
        });
      };
    },
  });
  return {
    client,
    stats,
    releaseAll(): void {
      for (const r of held.splice(0)) r();
    },
  };
}

test('issue 15 item 7: a caller that gives up early does not cancel the storage-pool read it shares', async () => {
  const h = heldClient();
  const inspector = new LibvirtInspector({ client: h.client, clock: new ManualClock() });
  const impatient = new AbortController();
  const first = inspector.storagePools({ signal: impatient.signal });
  const second = inspector.storagePools({ signal: new AbortController().signal });
  impatient.abort(new Error('client deadline'));
  await assert.rejects(first, /deadline exceeded/);
  // Release the list call, then the info calls it leads to.
  for (let i = 0; i < 20; i++) {
    h.releaseAll();
    await tick();
  }
  const pools = await second;
  assert.equal(pools.length, (loadRecording().pools ?? []).length);
  assert.ok(pools.length > 0, 'the recording has pools');
  assert.equal(h.stats.aborted, 0, 'no libvirt call was abandoned');
  await inspector.close();
});

for (const [what, timeoutMs, read] of [
  ['host info', HOST_INFO_TIMEOUT_MS, (i: LibvirtInspector) => i.hostInfo()],
  ['storage pools', POOLS_TIMEOUT_MS, (i: LibvirtInspector) => i.storagePools()],
] as const) {
  test(`the shared ${what} read gives up exactly at its own deadline, and the next caller starts a new read`, async () => {
    const h = heldClient();
    const clock = new ManualClock();
    const inspector = new LibvirtInspector({ client: h.client, clock });
    const first = read(inspector);
    const joined = read(inspector);
    clock.advance(timeoutMs - 1);
    assert.equal(await settled(first), false, 'still waiting 1 ms before the deadline');
    const before = h.stats.calls;
    assert.ok(before > 0);
    clock.advance(1);
    await assert.rejects(
      first,
      (err: unknown) => err instanceof InspectorTimeoutError && /deadline exceeded/.test(err.message),
    );
    await assert.rejects(joined, InspectorTimeoutError, 'a joiner shares the outcome');
    assert.equal(h.stats.aborted, before, "the read's calls are abandoned at its deadline");
    const again = read(inspector);
    for (let i = 0; i < 20; i++) {
      h.releaseAll();
      await tick();
    }
    await again;
    assert.ok(h.stats.calls > before, 'a new read, not the expired one');
    assert.equal(clock.pending, 0, 'its deadline timer is cleared');
    await inspector.close();
  });
}
