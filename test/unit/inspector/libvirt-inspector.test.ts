// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LibvirtConnectionError, type LibvirtClient } from '../../../src/libvirt/index.ts';
import { DisconnectedError } from '../../../src/inspector/errors.ts';
import { LibvirtInspector, splitShards } from '../../../src/inspector/libvirt-inspector.ts';
import type { Inspection } from '../../../src/inspector/types.ts';
import { HungGuest, fixtureClient, loadRecording, withoutJobStats } from '../../helpers/fixture-client.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { settled } from '../../helpers/settled.ts';

// Time is a ManualClock the tests advance by hand: no test here waits for real milliseconds
// (issue 15 item 16: the hung-guest tests ran a 40 ms shard timeout on real timers).

/** A caller's deadline that never passes by itself (the test aborts it when it wants). */
const noDeadline = (): AbortSignal => new AbortController().signal;

/** `client` with every bulk stats call held until `release()`; a held call honours its AbortSignal. */
function holdingStats(client: LibvirtClient): { client: LibvirtClient; release: () => void } {
  const held: (() => void)[] = [];
  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'getAllDomainStats') return Reflect.get(target, prop, receiver) as unknown;
      return (...args: Parameters<LibvirtClient['getAllDomainStats']>) =>
        new Promise((resolve, reject) => {
          const signal = args[1]?.signal;
          signal?.addEventListener('abort', () => {
            reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          });
          held.push(() => {
            target.getAllDomainStats(...args).then(resolve, reject);
          });
        });
    },
  });
  return {
    client: wrapped,
    release: () => {
      for (const r of held.splice(0)) r();
    },
  };
}

/**
 * The lab recording with instance-00000003 scripted to hang, an inspector with a 2000 ms shard
 * timeout on a ManualClock, and the soft timeout of that guest's shard (plus 20 ms per guest of it).
 */
function hungLab() {
  const rec = loadRecording();
  const victim = rec.domains.find((d) => d.name === 'instance-00000003')!;
  const hung = new HungGuest(victim.uuid);
  const clock = new ManualClock();
  const inspector = new LibvirtInspector({
    client: fixtureClient(rec, { hung }),
    shardTimeoutMs: 2000,
    clock,
  });
  const shard = splitShards(rec.domains, 4).find((s) => s.some((d) => d.uuid === victim.uuid));
  assert.ok(shard !== undefined);
  return { victim, hung, clock, inspector, softMs: 2000 + 20 * shard.length };
}

describe('splitShards', () => {
  test('splits into at most n nearly equal shards, in order', () => {
    assert.deepEqual(splitShards([1, 2, 3, 4, 5, 6, 7], 3), [
      [1, 2, 3],
      [4, 5],
      [6, 7],
    ]);
    assert.deepEqual(splitShards([1, 2], 4), [[1], [2]]);
    assert.deepEqual(splitShards([], 4), []);
    assert.equal(
      splitShards(
        Array.from({ length: 200 }, (_, i) => i),
        4,
      ).length,
      4,
    );
  });
});

describe('LibvirtInspector over a recording of the lab', () => {
  test('returns every domain with its state, devices and Nova metadata', async () => {
    const inspector = new LibvirtInspector({ client: fixtureClient() });
    const insp = await inspector.inspectAll();
    const byName = new Map(insp.instances.map((i) => [i.name, i]));
    assert.equal(insp.instances.length, 6);
    assert.equal(byName.get('instance-00000004')?.state, 'paused');
    assert.equal(byName.get('instance-00000005')?.state, 'shutoff');
    assert.equal(byName.get('instance-00000005')?.id, -1);
    assert.equal(byName.get('instance-00000003')?.nova?.namespaceVersion, '1.0');
    assert.equal(byName.get('lab-plain-1')?.nova, undefined);
    assert.deepEqual(
      byName.get('instance-00000002')?.disks.map((d) => d.target),
      ['vda', 'vdb'],
    );
    assert.deepEqual(
      byName.get('lab-plain-1')?.disks.map((d) => d.target),
      ['vda'],
      'the empty CD-ROM is skipped',
    );
    // Stats for running and paused domains only.
    assert.equal(insp.stats.size, 5);
    assert.equal(insp.stats.has(byName.get('instance-00000005')!.uuid), false);
    assert.deepEqual(insp.skipped, []);
    const tiny = insp.stats.get(byName.get('instance-00000001')!.uuid)!;
    assert.ok(tiny.balloon?.usableKiB !== undefined && tiny.balloon.usableKiB > 0);
    const plain = insp.stats.get(byName.get('lab-plain-1')!.uuid)!;
    assert.equal(plain.balloon?.usableKiB, undefined, 'absent, never 0');
  });

  test('reads XML once per domain: later cycles are the list plus the stats shards', async () => {
    const calls = new Map<string, number>();
    const inspector = new LibvirtInspector({
      client: fixtureClient(loadRecording(), { calls }),
      maxShards: 4,
    });
    const first = await inspector.inspectAll();
    assert.equal(first.roundTrips, 1 + 4 + 6);
    const second = await inspector.inspectAll();
    assert.equal(second.roundTrips, 1 + 4);
    assert.equal(calls.get('domainGetXmlDesc'), 6);
    assert.equal(calls.get('getAllDomainStats'), 8);
  });

  test('an unchanged domain keeps its instance from cycle to cycle; a changed one gets a new one', async () => {
    const rec = loadRecording();
    const inspector = new LibvirtInspector({ client: fixtureClient(rec), maxShards: 4 });
    const first = await inspector.inspectAll();
    const second = await inspector.inspectAll();
    assert.equal(second.instances.length, first.instances.length);
    second.instances.forEach((i, k) => {
      assert.equal(i, first.instances[k], `${i.name}: the same object`);
    });
    // The domain restarted under another id: a new instance with the new id, the others kept.
    const moved = rec.domains.find((d) => d.id > 0)!;
    const oldId = moved.id;
    (moved as { id: number }).id = oldId + 100;
    const third = await inspector.inspectAll();
    for (const i of third.instances) {
      const before = first.instances.find((f) => f.uuid === i.uuid)!;
      if (i.uuid === moved.uuid) {
        assert.notEqual(i, before);
        assert.equal(i.id, oldId + 100);
        assert.deepEqual({ ...i, id: oldId }, { ...before }, 'the same fields but the id');
      } else assert.equal(i, before, `${i.name}: the same object`);
    }
  });

  test('concurrent cycles share one set of libvirt calls', async () => {
    const calls = new Map<string, number>();
    const inspector = new LibvirtInspector({
      client: fixtureClient(loadRecording(), { calls }),
      maxShards: 2,
    });
    const [a, b] = await Promise.all([inspector.inspectAll(), inspector.inspectAll()]);
    assert.equal(a, b);
    assert.equal(calls.get('listAllDomains'), 1);
    assert.equal(calls.get('getAllDomainStats'), 2);
  });

  test('a shared cycle runs until the last caller gives up, not the first', async () => {
    const calls = new Map<string, number>();
    const held = holdingStats(fixtureClient(loadRecording(), { calls }));
    const inspector = new LibvirtInspector({ client: held.client, clock: new ManualClock() });
    const short = new AbortController();
    const first = inspector.inspectAll({ signal: short.signal });
    const last = inspector.inspectAll({ signal: noDeadline() });
    assert.equal(await settled(last), false, 'the stats calls are held');
    short.abort(new Error('short deadline'));
    await assert.rejects(first, /deadline/);
    held.release();
    const insp = await last;
    assert.equal(insp.instances.length, 6);
    assert.equal(insp.stats.size, 5, 'no stats call was cancelled by the first caller');
    assert.deepEqual(insp.skipped, []);
    assert.equal(calls.get('listAllDomains'), 1, 'one cycle for both callers');
  });

  test('an unreachable libvirt is a DisconnectedError and connected is false', async () => {
    const fail = new LibvirtConnectionError('ENOENT', 'cannot connect to /nonexistent: no such file');
    const inspector = new LibvirtInspector({ client: fixtureClient(loadRecording(), { fail }) });
    await assert.rejects(inspector.inspectAll(), DisconnectedError);
    assert.equal(inspector.connected, false);
  });

  test('a running domain without its job-bound groups is reported busy, never dropped', async () => {
    const rec = loadRecording();
    const victim = rec.stats.find((s) => s.domain.name === 'instance-00000003')!;
    victim.params = withoutJobStats(victim.params);
    const inspector = new LibvirtInspector({ client: fixtureClient(rec) });
    const insp = await inspector.inspectAll();
    assert.deepEqual(
      insp.skipped.map((s) => [s.name, s.reason]),
      [['instance-00000003', 'busy']],
    );
    assert.ok(insp.stats.get(victim.domain.uuid)?.cpu?.timeNs !== undefined, 'partial stats kept');
  });

  test('a hung guest: waits until exactly the soft timeout, then partial, then back in the first cycle after it resumes', async () => {
    const { victim, hung, clock, inspector, softMs } = hungLab();
    const reasons = (i: Inspection): string[][] => i.skipped.map((s) => [s.name, s.reason]);
    const hasCounters = (i: Inspection): boolean =>
      i.stats.get(victim.uuid)?.blocks.some((b) => b.readRequests !== undefined) ?? false;

    hung.hung = false;
    assert.equal(hasCounters(await inspector.inspectAll()), true, 'complete before the hang');
    hung.hung = true;
    try {
      const cycle = inspector.inspectAll({ signal: noDeadline() });
      assert.equal(await settled(cycle), false);
      assert.equal(clock.pending, 1, "only the hung guest's shard is still waiting");
      clock.advance(softMs - 1);
      assert.equal(await settled(cycle), false, 'still waiting 1 ms before the soft timeout');
      clock.advance(1);
      const first = await cycle;
      assert.deepEqual(reasons(first), [['instance-00000003', 'timeout']]);
      assert.equal(first.roundTrips, 1 + 4 + 1, 'list, 4 shards, one retry');
      const second = await inspector.inspectAll({ signal: noDeadline() });
      assert.deepEqual(reasons(second), [['instance-00000003', 'timeout']], 'still timed out, not busy');
      assert.equal(hasCounters(second), false);
      assert.ok(second.stats.get(victim.uuid)?.cpu?.timeNs !== undefined, 'partial stats served');
      // Resumed: this cycle's call still finds the job held, and the stuck call answers meanwhile.
      hung.lateDuringNextCall = true;
    } finally {
      hung.resume();
    }
    const back = await inspector.inspectAll({ signal: noDeadline() });
    assert.deepEqual(reasons(back), [], 'back in the first cycle after the resume');
    assert.equal(hasCounters(back), true, 'with the full stats of the late answer');
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  for (const [age, served] of [
    [2000, true],
    [2001, false],
  ] as const) {
    test(`a late answer ${age} ms older than the next cycle (shard timeout 2000 ms) is ${served ? 'still served' : 'never served as current'}`, async () => {
      const { victim, hung, clock, inspector, softMs } = hungLab();
      /** One cycle in which the hung guest's shard times out. */
      const timedOutCycle = async (): Promise<Inspection> => {
        const cycle = inspector.inspectAll({ signal: noDeadline() });
        assert.equal(await settled(cycle), false);
        clock.advance(softMs);
        return cycle;
      };
      try {
        await timedOutCycle();
        hung.resume(); // the stuck call answers now: a late record is kept
        hung.hung = true; // and the guest hangs again before the next scrape
        clock.advance(age);
        const later = await timedOutCycle();
        assert.equal(
          later.stats.get(victim.uuid)?.blocks.some((b) => b.readRequests !== undefined),
          served,
          served
            ? 'the full record of the late answer is served'
            : 'the stale full record is dropped, the fresh partial one served',
        );
      } finally {
        hung.resume();
      }
    });
  }

  test("a balloon-change event updates the cached XML's current memory, without a call", async () => {
    const calls = new Map<string, number>();
    const rec = loadRecording();
    const client = fixtureClient(rec, { calls });
    const inspector = new LibvirtInspector({ client });
    const target = rec.domains.find((d) => d.name === 'instance-00000001')!;
    const before = await inspector.inspectAll({ groups: ['state'] });
    assert.equal(before.instances.find((i) => i.uuid === target.uuid)?.currentMemoryKiB, 131072);
    client.emit('balloon', { callbackId: 1, domain: target, actualKiB: 112640 });
    const after = await inspector.inspectAll({ groups: ['state'] });
    assert.equal(after.instances.find((i) => i.uuid === target.uuid)?.currentMemoryKiB, 112640);
    assert.equal(calls.get('domainGetXmlDesc'), rec.domains.length, 'no XML read again');
  });

  test('host info is read once per connection', async () => {
    const calls = new Map<string, number>();
    const inspector = new LibvirtInspector({ client: fixtureClient(loadRecording(), { calls }) });
    const h = await inspector.hostInfo();
    await inspector.hostInfo();
    assert.equal(h.hostname, 'compute-lab-1');
    assert.equal(h.cpus, 2);
    assert.equal(calls.get('nodeGetInfo'), 1);
  });

  test('concurrent first readers of host info share one read', async () => {
    const calls = new Map<string, number>();
    const inspector = new LibvirtInspector({ client: fixtureClient(loadRecording(), { calls }) });
    const all = await Promise.all([
      inspector.hostInfo(),
      inspector.hostInfo({ signal: noDeadline() }),
      inspector.hostInfo(),
    ]);
    assert.deepEqual(
      all.map((h) => h.hostname),
      ['compute-lab-1', 'compute-lab-1', 'compute-lab-1'],
    );
    assert.equal(calls.get('nodeGetInfo'), 1);
    assert.equal(calls.get('connectGetHostname'), 1);
  });
});

test('a domain whose XML cannot be parsed is skipped and reported; the others are served', async () => {
  const rec = loadRecording();
  const victim = rec.domains.find((d) => d.name === 'instance-00000003')!;
  rec.xml[victim.uuid] = '<domain type="qemu"><name>instance-00000003</name';
  const insp = await new LibvirtInspector({ client: fixtureClient(rec) }).inspectAll();
  assert.equal(insp.instances.length, 5);
  assert.deepEqual(
    insp.skipped.map((s) => [s.name, s.reason]),
    [['instance-00000003', 'error']],
  );
});
