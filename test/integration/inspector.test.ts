// SPDX-License-Identifier: Apache-2.0
// The inspector against the real lab libvirtd, checked with an independent client (virsh).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createLibvirtInspector, type LibvirtInspector } from '../../src/inspector/libvirt-inspector.ts';
import type { Inspection } from '../../src/inspector/types.ts';
import { LAB_GUESTS, domstats, guestSignal, lab, virsh, virshRw, waitFor } from '../helpers/lab.ts';

const STATE_CODES: Record<string, number> = { running: 1, paused: 3, 'shut off': 5 };

describe('libvirt inspector on the lab', () => {
  let inspector: LibvirtInspector;
  before(() => {
    lab('up');
    inspector = createLibvirtInspector({ shardTimeoutMs: 1500 });
  });
  after(async () => {
    await inspector.close();
  });

  test('lists the same domains, states and devices as virsh', async () => {
    const insp = await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) });
    const names = virsh('list', '--all', '--name').split('\n').filter(Boolean).sort();
    assert.deepEqual(insp.instances.map((i) => i.name).sort(), names);
    for (const i of insp.instances) {
      assert.equal(virsh('domuuid', i.name).trim(), i.uuid, i.name);
      const [state] = virsh('domstate', i.name).trim().split('\n');
      assert.equal(i.stateCode, STATE_CODES[state!.trim()], `${i.name} state ${state}`);
      const blk = virsh('domblklist', i.name, '--details')
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length >= 4 && f[3] !== '-')
        .map((f) => f[2]);
      assert.deepEqual(
        i.disks.map((d) => d.target),
        blk,
        `${i.name} disks`,
      );
      const nics = virsh('domiflist', i.name)
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[0])
        .filter((x) => x && x !== '-');
      assert.deepEqual(i.vnics.map((v) => v.targetDev).filter(Boolean), nics, `${i.name} vNICs`);
    }
    for (const n of LAB_GUESTS.nova11)
      assert.equal(insp.instances.find((i) => i.name === n)?.nova?.namespaceVersion, '1.1', n);
    for (const n of LAB_GUESTS.nova10)
      assert.equal(insp.instances.find((i) => i.name === n)?.nova?.namespaceVersion, '1.0', n);
    for (const n of LAB_GUESTS.noMetadata)
      assert.equal(insp.instances.find((i) => i.name === n)?.nova, undefined, n);
    for (const n of LAB_GUESTS.paused)
      assert.equal(insp.instances.find((i) => i.name === n)?.state, 'paused');
    for (const n of LAB_GUESTS.shutoff) {
      const i = insp.instances.find((x) => x.name === n);
      assert.equal(i?.state, 'shutoff');
      assert.equal(insp.stats.has(i.uuid), false, 'a shut-off domain has no stats');
    }
  });

  test('reports the same counters as virsh domstats, within the drift between the two reads', async () => {
    const insp = await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) });
    const virshStats = domstats('--state', '--cpu-total', '--balloon', '--vcpu', '--interface', '--block');
    const running = [...LAB_GUESTS.running, ...LAB_GUESTS.paused];
    for (const name of running) {
      const v = virshStats.get(name);
      assert.ok(v, `virsh has ${name}`);
      const s = [...insp.stats.values()].find((x) => x.name === name);
      assert.ok(s, `inspector has stats of ${name}`);
      // Same fields: every field virsh prints is in the raw record.
      assert.deepEqual([...s.raw.keys()].sort(), [...v.keys()].sort(), `${name} fields`);
      const close = (field: string, ours: number | undefined, tolerance: number): void => {
        const theirs = Number(v.get(field));
        assert.ok(ours !== undefined, `${name} ${field} present`);
        assert.ok(Math.abs(ours - theirs) <= tolerance, `${name} ${field}: ours ${ours} virsh ${theirs}`);
      };
      // Counters only grow between our read and virsh's; allow what a busy tiny guest does in ~2 s.
      close('cpu.time', s.cpu?.timeNs, 2e9);
      close('balloon.current', s.balloon?.currentKiB, 0);
      close('vcpu.current', s.vcpuCurrent, 0);
      s.blocks.forEach((b, i) => {
        assert.equal(b.name, v.get(`block.${i}.name`));
        if (v.has(`block.${i}.rd.reqs`)) close(`block.${i}.rd.reqs`, b.readRequests, 200);
        if (v.has(`block.${i}.capacity`)) close(`block.${i}.capacity`, b.capacityBytes, 0);
      });
      s.interfaces.forEach((n, i) => {
        assert.equal(n.name, v.get(`net.${i}.name`));
        close(`net.${i}.rx.pkts`, n.rxPackets, 20);
      });
    }
    for (const name of LAB_GUESTS.tiny) {
      const s = [...insp.stats.values()].find((x) => x.name === name);
      assert.ok(s?.balloon?.usableKiB !== undefined, `${name}: guest memory stats present on a tiny guest`);
    }
    const plain = [...insp.stats.values()].find((x) => x.name === 'lab-plain-1');
    assert.equal(
      plain?.balloon?.usableKiB,
      undefined,
      'no guest memory stats without a guest driver: absent, not 0',
    );
  });

  test('round trips per cycle stay bounded as guests are added', async () => {
    const warm = async (): Promise<Inspection> => {
      await inspector.inspectAll({ signal: AbortSignal.timeout(30_000) });
      return inspector.inspectAll({ signal: AbortSignal.timeout(30_000) });
    };
    const before = await warm();
    const extra = ['rt-extra-1', 'rt-extra-2', 'rt-extra-3', 'rt-extra-4', 'rt-extra-5', 'rt-extra-6'];
    for (const name of extra) {
      const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><memballoon model='none'/></devices></domain>`;
      const file = `/tmp/${name}.xml`;
      writeFileSync(file, xml);
      virshRw('create', file);
    }
    try {
      const afterAdd = await warm();
      assert.equal(afterAdd.instances.length, before.instances.length + extra.length);
      // Once the XML of the new guests is cached, a cycle is the list plus at most 4 stats shards,
      // whatever the number of guests.
      assert.ok(before.roundTrips <= 1 + 4, `list + at most 4 stats shards, got ${before.roundTrips}`);
      assert.ok(afterAdd.roundTrips <= 1 + 4, `list + at most 4 stats shards, got ${afterAdd.roundTrips}`);
    } finally {
      for (const name of extra) virshRw('destroy', name);
    }
  });

  test("libvirt's lifecycle events drop a changed domain's cached XML", async () => {
    const name = 'instance-00000005';
    await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) });
    const warm = await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) });
    const original = virsh('dumpxml', '--inactive', name);
    const file = `/tmp/${name}-renamed.xml`;
    writeFileSync(
      file,
      original.replace(/<nova:name>[^<]*<\/nova:name>/, '<nova:name>renamed-by-test</nova:name>'),
    );
    try {
      virshRw('define', file);
      // The DEFINED event reaches the inspector asynchronously.
      await waitFor(
        async () =>
          (await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) })).instances.find(
            (i) => i.name === name,
          )?.nova?.displayName === 'renamed-by-test',
        10_000,
        'the new display name',
      );
      const after = await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) });
      assert.equal(
        after.roundTrips,
        warm.roundTrips,
        'back to the list and the stats shards once the XML is read again',
      );
    } finally {
      writeFileSync(file, original);
      virshRw('define', file);
    }
  });

  test('a libvirtd restart between cycles: the next cycle reconnects by itself', async () => {
    await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) });
    lab('libvirtd-kill');
    await assert.rejects(
      inspector.inspectAll({ signal: AbortSignal.timeout(3000) }),
      /libvirt|connect|socket/i,
    );
    assert.equal(inspector.connected, false);
    lab('libvirtd-start');
    const insp = await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) });
    assert.equal(inspector.connected, true);
    const core: readonly string[] = [...LAB_GUESTS.running, ...LAB_GUESTS.paused, ...LAB_GUESTS.shutoff];
    const listed = new Set(insp.instances.map((i) => i.name));
    assert.deepEqual(
      core.filter((n) => !listed.has(n)),
      [],
      'the first cycle after the restart lists every lab guest',
    );
    // A new libvirtd reattaches to each running guest's QEMU monitor in threads of its own after its
    // socket is up, so a guest may be skipped (and reported so) by the first cycle: CI saw 3 of them
    // once. What must hold is that this passes by itself, with no help from the caller.
    const coreSkips = (i: Inspection) =>
      i.skipped
        .filter((s) => core.includes(s.name))
        .map((s) => `${s.name}: ${s.reason} (${s.message ?? ''})`);
    let last = coreSkips(insp);
    try {
      await waitFor(
        async () => {
          last = coreSkips(await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) }));
          return last.length === 0;
        },
        15_000,
        'a cycle with every lab guest inspected',
      );
    } catch (err) {
      assert.fail(`${String(err)}; still skipped: ${last.join('; ')}`);
    }
  });

  test('a hung guest (QEMU stopped) costs only itself, reported as timed out', async () => {
    const victim = 'instance-00000003';
    await inspector.inspectAll({ signal: AbortSignal.timeout(10_000) });
    guestSignal(victim, 'SIGSTOP');
    try {
      const t0 = performance.now();
      const insp = await inspector.inspectAll({ signal: AbortSignal.timeout(8000) });
      const elapsed = performance.now() - t0;
      assert.ok(elapsed < 8000, `within the deadline (${elapsed} ms)`);
      const others = [...LAB_GUESTS.running, ...LAB_GUESTS.paused].filter((n) => n !== victim);
      for (const n of others) {
        const s = [...insp.stats.values()].find((x) => x.name === n);
        assert.ok(s?.raw.has('block.count'), `${n} has full stats`);
      }
      // (Only the lab's core guests: benchmark guests may be booting, hence busy, on a developer machine.)
      const core = new Set<string>([...LAB_GUESTS.running, ...LAB_GUESTS.paused, ...LAB_GUESTS.shutoff]);
      assert.deepEqual(
        insp.skipped.filter((s) => core.has(s.name)).map((s) => [s.name, s.reason]),
        [[victim, 'timeout']],
      );
      // The next cycle answers at once with the hung guest's partial stats.
      const next = await inspector.inspectAll({ signal: AbortSignal.timeout(8000) });
      assert.ok(next.durationSeconds < 1.5, `next cycle fast (${next.durationSeconds} s)`);
      const partial = [...next.stats.values()].find((x) => x.name === victim);
      assert.ok(partial?.cpu?.timeNs !== undefined, 'partial stats of the hung guest');
      assert.ok(
        next.skipped.some((s) => s.name === victim && s.reason === 'timeout'),
        'still reported as timed out',
      );
    } finally {
      guestSignal(victim, 'SIGCONT');
    }
    // The next cycle has it back in full: the stuck call's own answer, if libvirtd still held the
    // guest's job when this cycle's NOWAIT call came. A TCG guest resumed on a loaded 2-core host can
    // take longer than one shard timeout to answer that stuck call (seen once in a clean-clone CI run):
    // then it is back in the cycle after, and never later.
    let back = await inspector.inspectAll({ signal: AbortSignal.timeout(8000) });
    if (back.skipped.some((s) => s.name === victim && s.reason === 'timeout')) {
      back = await inspector.inspectAll({ signal: AbortSignal.timeout(8000) });
    }
    assert.deepEqual(
      back.skipped.filter((s) => s.name === victim),
      [],
      'every guest back within two cycles after kill -CONT',
    );
    const full = [...back.stats.values()].find((x) => x.name === victim);
    assert.ok(
      full?.blocks.some((b) => b.readRequests !== undefined),
      'full stats of the resumed guest',
    );
  });
});
