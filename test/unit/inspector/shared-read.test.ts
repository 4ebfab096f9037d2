// SPDX-License-Identifier: Apache-2.0
/**
 * Issue 15 item 7: the shared storage-pool read runs under its own deadline, so that a caller that
 * gives up early (a client asking for a short scrape deadline) does not fail a concurrent scrape that
 * shares the read, and leaves no abandoned call behind. The recorded lab client is wrapped so that the
 * pool list call waits for the test (and honours its AbortSignal, as the real client does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import { fixtureClient, loadRecording } from '../../helpers/fixture-client.ts';

/** The fixture client, with raw calls held until `release()`; counts calls and aborted calls. */
function heldClient() {
  const inner = fixtureClient(loadRecording());
  const held: (() => void)[] = [];
  const stats = { calls: 0, aborted: 0 };
  const client = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'call') return Reflect.get(target, prop, receiver) as unknown;
      return (proc: number, args?: Uint8Array, options: { signal?: AbortSignal } = {}) => {
        stats.calls += 1;
        return new Promise<Buffer>((resolve, reject) => {
          const onAbort = (): void => {
            stats.aborted += 1;
            reject(new Error('aborted'));
          };
          options.signal?.addEventListener('abort', onAbort, { once: true });
          held.push(() => {
            options.signal?.removeEventListener('abort', onAbort);
            target.call(proc, args).then(resolve, reject);
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
  const inspector = new LibvirtInspector({ client: h.client });
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
