// SPDX-License-Identifier: Apache-2.0
// The pure-TypeScript libvirt client against the real lab libvirtd (read-only socket), checked against
// an independent client: virsh. Also: lifecycle events, the test driver through the daemon, keepalive
// with the real daemon, and recovery from a frozen and from a restarted libvirtd (through lab.sh).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DomainMetadataType,
  DomainStatsTypes,
  GetAllDomainStatsFlags,
  LibvirtClient,
  LibvirtConnection,
  LibvirtConnectionError,
  LibvirtError,
  TypedParamType,
  type LifecycleEvent,
  type TypedParam,
} from '../../src/libvirt/index.ts';
import { LAB_GUESTS, domstats, lab, virsh, virshRw, waitFor } from '../helpers/lab.ts';

const RO_SOCKET = '/var/run/libvirt/libvirt-sock-ro';
const NOVA_1_1 = 'http://openstack.org/xmlns/libvirt/nova/1.1';

/** Formats a typed parameter value the way virsh prints it. */
function virshText(p: TypedParam): string {
  if (p.type === TypedParamType.BOOLEAN) return p.value === true ? 'yes' : 'no';
  if (p.type === TypedParamType.DOUBLE) return (p.value as number).toFixed(6);
  return String(p.value);
}

// Fields that only grow: ours (read first) must not exceed virsh's (read after).
const MONOTONIC =
  /(^cpu\.(time|user|system)$)|(^vcpu\.\d+\.(time|wait|delay)$)|(\.(bytes|pkts|reqs|times|errs|drop)$)|(^balloon\.(swap_in|swap_out|major_fault|minor_fault|last-update)$)/;
// Fields that do not change while a guest keeps running.
const STABLE =
  /^(state\.|vcpu\.(current|maximum)$|vcpu\.\d+\.state$|balloon\.maximum$|net\.(count|\d+\.name)$|block\.(count|\d+\.(name|path|backingIndex|capacity))$|dirtyrate\.calc_mode$)/;

describe('LibvirtClient on the lab libvirtd', () => {
  let client: LibvirtClient;

  before(() => {
    lab('up');
    client = new LibvirtClient({ uri: 'qemu:///system', connectTimeoutMs: 10_000 });
  });
  after(async () => {
    await client.close();
  });

  test('opens the read-only socket and says so', async () => {
    assert.equal(await client.connectGetUri(), virsh('uri').trim());
    assert.equal(client.connected, true);
    const conn = await client.connection();
    // The lab runs the monolithic daemon: its socket is chosen, the modular one named as the alternative.
    assert.deepEqual(conn.target, {
      kind: 'unix',
      path: RO_SOCKET,
      alternative: '/var/run/libvirt/virtqemud-sock-ro',
    });
    assert.equal(conn.keepaliveEnabled, true);
  });

  test('listAllDomains matches virsh list --all --uuid --name', async () => {
    // Another test run may create or remove extra guests meanwhile: accept the first consistent read.
    let last = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const ours = (await client.listAllDomains(0)).map((d) => `${d.uuid} ${d.name}`).sort();
      const theirs = virsh('list', '--all', '--uuid', '--name')
        .split('\n')
        .map((l) => l.trim().replace(/\s+/, ' '))
        .filter(Boolean)
        .sort();
      if (JSON.stringify(ours) === JSON.stringify(theirs)) {
        for (const name of [...LAB_GUESTS.running, ...LAB_GUESTS.paused, ...LAB_GUESTS.shutoff]) {
          assert.ok(
            ours.some((l) => l.endsWith(` ${name}`)),
            name,
          );
        }
        return;
      }
      last = `ours=${JSON.stringify(ours)} virsh=${JSON.stringify(theirs)}`;
    }
    assert.fail(`domain lists differ: ${last}`);
  });

  test('ids and states: active domains have an id, shut-off ones -1', async () => {
    const domains = await client.listAllDomains(0);
    for (const name of LAB_GUESTS.running) {
      const d = domains.find((x) => x.name === name);
      assert.ok(d !== undefined, name);
      assert.equal(String(d.id), virsh('domid', name).trim());
      assert.deepEqual(await client.domainGetState(d), {
        state: 1,
        reason: (await client.domainGetState(d)).reason,
      });
    }
    for (const name of LAB_GUESTS.shutoff) {
      const d = domains.find((x) => x.name === name);
      assert.equal(d?.id, -1);
    }
  });

  test('getAllDomainStats has the same fields as virsh domstats, and the same values within drift', async () => {
    const ours = await client.getAllDomainStats({ stats: 0, flags: GetAllDomainStatsFlags.ACTIVE });
    const theirs = domstats('--list-active');
    const lab = [...LAB_GUESTS.running, ...LAB_GUESTS.paused];
    let compared = 0;
    for (const name of lab) {
      const record = ours.find((r) => r.domain.name === name);
      const expected = theirs.get(name);
      assert.ok(record !== undefined, `our stats have ${name}`);
      assert.ok(expected !== undefined, `virsh has ${name}`);
      const fields = record.params.map((p) => p.field);
      // The tiny guests' balloon driver may publish its stats between the two reads: compare the rest.
      const noGuestBalloon = (f: string): boolean =>
        !/^balloon\.(available|usable|unused|disk_caches|swap_in|swap_out|major_fault|minor_fault|hugetlb_pgalloc|hugetlb_pgfail)$/.test(
          f,
        );
      assert.deepEqual(
        fields.filter(noGuestBalloon),
        [...expected.keys()].filter(noGuestBalloon),
        `${name} fields`,
      );
      for (const p of record.params) {
        const text = expected.get(p.field);
        if (text === undefined) continue;
        if (STABLE.test(p.field)) {
          assert.equal(virshText(p), text, `${name} ${p.field}`);
        } else if (MONOTONIC.test(p.field) && typeof p.value === 'bigint') {
          assert.ok(p.value <= BigInt(text), `${name} ${p.field}: ours ${p.value} > virsh ${text}`);
        } else if (p.type === TypedParamType.STRING) {
          assert.equal(p.value, text, `${name} ${p.field}`);
        } else {
          assert.ok(
            Number.isFinite(Number(text)) || text === 'yes' || text === 'no',
            `${name} ${p.field}=${text}`,
          );
        }
        compared++;
      }
    }
    assert.ok(compared > 100, `compared ${compared} values`);
  });

  test('virDomainListGetStats for chosen domains, with NOWAIT and ENFORCE_STATS (bit 31)', async () => {
    const domains = (await client.listAllDomains(0)).filter((d) =>
      LAB_GUESTS.running.includes(d.name as never),
    );
    const records = await client.getAllDomainStats({
      domains,
      stats: DomainStatsTypes.STATE | DomainStatsTypes.CPU_TOTAL,
      flags: GetAllDomainStatsFlags.NOWAIT | GetAllDomainStatsFlags.ENFORCE_STATS,
    });
    assert.deepEqual(records.map((r) => r.domain.name).sort(), domains.map((d) => d.name).sort());
    for (const r of records) {
      assert.ok(
        r.params.every((p) => /^(state|cpu)\./.test(p.field)),
        r.domain.name,
      );
      assert.equal(r.params.find((p) => p.field === 'state.state')?.value, 1);
    }
  });

  test('domainGetXmlDesc is what virsh dumpxml prints', async () => {
    for (const name of ['instance-00000001', 'lab-plain-1', ...LAB_GUESTS.shutoff]) {
      const dom = await client.domainLookupByName(name);
      assert.equal((await client.domainGetXmlDesc(dom, 0)).trim(), virsh('dumpxml', name).trim(), name);
    }
  });

  test('metadata: the nova element when present, null when absent', async () => {
    const nova = await client.domainLookupByName('instance-00000001');
    const meta = await client.domainGetMetadata(nova, DomainMetadataType.ELEMENT, NOVA_1_1, 0);
    assert.ok(meta !== null);
    assert.match(meta, /<name>[^<]+<\/name>/);
    assert.equal(meta.trim(), virsh('metadata', 'instance-00000001', NOVA_1_1).trim());
    const plain = await client.domainLookupByName('lab-plain-1');
    assert.equal(await client.domainGetMetadata(plain, DomainMetadataType.ELEMENT, NOVA_1_1, 0), null);
  });

  test('lookups by name and UUID agree with virsh', async () => {
    for (const name of LAB_GUESTS.running) {
      const byName = await client.domainLookupByName(name);
      assert.equal(byName.uuid, virsh('domuuid', name).trim());
      assert.deepEqual(await client.domainLookupByUuid(byName.uuid), byName);
      const info = await client.domainGetInfo(byName);
      assert.equal(info.state, 1);
      assert.equal(String(info.virtCpus), /CPU\(s\):\s+(\d+)/.exec(virsh('dominfo', name))?.[1]);
      assert.ok(info.cpuTimeNs > 0n);
    }
  });

  test('a missing domain is LibvirtError code 42 (NO_DOMAIN)', async () => {
    await assert.rejects(client.domainLookupByName('no-such-domain-42'), (err: unknown) => {
      assert.ok(err instanceof LibvirtError);
      assert.equal(err.code, 42);
      assert.equal(err.codeName, 'NO_DOMAIN');
      assert.match(err.message, /no-such-domain-42/);
      return true;
    });
    await assert.rejects(
      client.domainLookupByUuid('00000000-0000-4000-8000-00000000dead'),
      (err: unknown) => err instanceof LibvirtError && err.code === 42,
    );
  });

  test('hostname, versions, type and node info match virsh', async () => {
    assert.equal(await client.connectGetHostname(), virsh('hostname').trim());
    const version = virsh('version', '--daemon');
    const fmt = (v: number): string => `${Math.floor(v / 1e6)}.${Math.floor(v / 1e3) % 1000}.${v % 1000}`;
    assert.match(
      version,
      new RegExp(`Running against daemon: ${fmt(await client.connectGetLibVersion()).replace(/\./g, '\\.')}`),
    );
    const type = await client.connectGetType();
    assert.match(
      version,
      new RegExp(
        `Running hypervisor: ${type} ${fmt(await client.connectGetVersion()).replace(/\./g, '\\.')}`,
      ),
    );
    const node = await client.nodeGetInfo();
    const text = virsh('nodeinfo');
    const field = (label: string): string => new RegExp(`${label}:\\s+(\\S+)`).exec(text)?.[1] ?? '?';
    assert.equal(node.model, field('CPU model'));
    assert.equal(String(node.cpus), field('CPU\\(s\\)'));
    assert.equal(String(node.mhz), field('CPU frequency'));
    assert.equal(String(node.sockets), field('CPU socket\\(s\\)'));
    assert.equal(String(node.cores), field('Core\\(s\\) per socket'));
    assert.equal(String(node.threads), field('Thread\\(s\\) per core'));
    assert.equal(String(node.nodes), field('NUMA cell\\(s\\)'));
    assert.equal(String(node.memory), field('Memory size'));
  });

  test('pipelined calls on one connection all get their own answers', async () => {
    const names = [...LAB_GUESTS.running, ...LAB_GUESTS.paused, ...LAB_GUESTS.shutoff];
    const doms = await Promise.all(names.map((n) => client.domainLookupByName(n)));
    assert.deepEqual(
      doms.map((d) => d.name),
      names,
    );
    const xmls = await Promise.all(doms.map((d) => client.domainGetXmlDesc(d, 0)));
    xmls.forEach((xml, i) => {
      assert.match(xml, new RegExp(`<name>${names[i] ?? ''}</name>`));
    });
  });

  test('lifecycle events arrive when a guest is suspended and resumed (through the read-write socket)', async () => {
    const guest = 'lab-plain-1';
    const events: LifecycleEvent[] = [];
    const onEvent = (e: LifecycleEvent): void => {
      if (e.domain.name === guest) events.push(e);
    };
    client.on('lifecycle', onEvent);
    const sub = await client.subscribeLifecycle(null);
    try {
      virshRw('suspend', guest);
      await waitFor(() => events.some((e) => e.eventName === 'suspended'), 10_000, 'suspended event');
    } finally {
      virshRw('resume', guest);
    }
    await waitFor(() => events.some((e) => e.eventName === 'resumed'), 10_000, 'resumed event');
    assert.equal(virsh('domstate', guest).trim(), 'running');
    await sub.unsubscribe();
    client.off('lifecycle', onEvent);
  });

  test('a subscription for one domain only reports that domain', async () => {
    const events: LifecycleEvent[] = [];
    const onEvent = (e: LifecycleEvent): void => {
      events.push(e);
    };
    client.on('lifecycle', onEvent);
    const target = await client.domainLookupByName('instance-00000003');
    const sub = await client.subscribeLifecycle(target);
    try {
      virshRw('suspend', 'lab-plain-1');
      virshRw('resume', 'lab-plain-1');
      virshRw('suspend', 'instance-00000003');
    } finally {
      virshRw('resume', 'instance-00000003');
      if (virsh('domstate', 'lab-plain-1').trim() !== 'running') virshRw('resume', 'lab-plain-1');
    }
    await waitFor(() => events.some((e) => e.eventName === 'resumed'), 10_000, 'resumed event');
    assert.ok(events.length >= 2);
    assert.ok(events.every((e) => e.domain.name === 'instance-00000003'));
    await sub.unsubscribe();
    client.off('lifecycle', onEvent);
  });

  test('libvirtd answers our keepalive PINGs (no false "dead peer" while idle)', async () => {
    const conn = await LibvirtConnection.open({ keepaliveIntervalMs: 200, keepaliveCount: 3 });
    try {
      // libvirtd's own PINGs come only every 5 s: without its PONGs this side would give up after ~0.6 s.
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(conn.closed, false);
      assert.ok((await conn.connectGetHostname()).length > 0);
    } finally {
      await conn.close();
    }
  });
});

describe('the test driver through the daemon', () => {
  test('test+unix:///default opens CONNECT_OPEN("test:///default") on the daemon', async () => {
    const client = new LibvirtClient({ uri: 'test+unix:///default' });
    try {
      assert.equal(await client.connectGetUri(), 'test:///default');
      assert.equal(await client.connectGetType(), 'TEST');
      const domains = await client.listAllDomains(0);
      const names = virsh('-c', 'test+unix:///default', 'list', '--all', '--name');
      assert.ok(domains.some((d) => d.name === 'test'));
      assert.ok(names.includes('test'));
      const [record] = await client.getAllDomainStats({ stats: 0, flags: 0 });
      assert.equal(record?.domain.name, 'test');
      assert.equal(record.params.find((p) => p.field === 'state.state')?.value, 1);
      const info = await client.domainGetInfo(record.domain);
      assert.equal(info.state, 1);
    } finally {
      await client.close();
    }
  });

  test('test:///default (no transport) also goes through the daemon', async () => {
    const conn = await LibvirtConnection.open({ uri: 'test:///default' });
    try {
      assert.equal(await conn.connectGetUri(), 'test:///default');
    } finally {
      await conn.close();
    }
  });
});

describe('faults of the real daemon (through lab.sh)', () => {
  test('calls stuck on a hung guest are abandoned, then new calls rotate to a fresh connection', async () => {
    const guest = 'instance-00000003';
    const client = new LibvirtClient({ maxAbandonedCalls: 2, retireGraceMs: 60_000 });
    const reasons: string[] = [];
    client.on('reconnect', (r) => reasons.push(r));
    try {
      const dom = await client.domainLookupByName(guest);
      const first = await client.connection();
      lab('guest-hang', guest);
      try {
        // libvirtd takes the guest's job and waits on its QEMU monitor: the block stats never come.
        const stuck = { domains: [dom], stats: DomainStatsTypes.BLOCK };
        await assert.rejects(
          client.getAllDomainStats(
            { ...stuck, flags: GetAllDomainStatsFlags.NOWAIT },
            { signal: AbortSignal.timeout(1000) },
          ),
          (err: unknown) => err instanceof Error && err.name === 'AbortError',
        );
        // Without NOWAIT the next call waits for that job.
        await assert.rejects(
          client.getAllDomainStats({ ...stuck, flags: 0 }, { signal: AbortSignal.timeout(1000) }),
          (err: unknown) => err instanceof Error && err.name === 'AbortError',
        );
        assert.equal(client.state.abandonedInFlight, 2);
        assert.equal(first.abandonedInFlight, 2);
        // The next call goes to a fresh connection and answers at once.
        const started = Date.now();
        const domains = await client.listAllDomains(0, { signal: AbortSignal.timeout(5000) });
        assert.ok(domains.some((d) => d.name === guest));
        assert.ok(Date.now() - started < 2000);
        assert.notEqual(await client.connection(), first);
        assert.deepEqual(reasons, ['rotated']);
        assert.equal(client.state.rotations, 1);
      } finally {
        lab('guest-resume', guest);
      }
      // Once the guest answers, the abandoned calls finish, their replies are dropped, and the retired
      // connection is closed.
      await waitFor(() => first.inFlight === 0, 60_000, 'abandoned calls settled', 100);
      await waitFor(() => first.closed, 5000, 'retired connection closed', 50);
      assert.ok(
        (await client.getAllDomainStats({ domains: [dom], stats: DomainStatsTypes.BLOCK, flags: 0 }))
          .length === 1,
      );
      assert.equal(virsh('domstate', guest).trim(), 'running');
    } finally {
      await client.close();
    }
  });

  test('a frozen libvirtd is detected by keepalive; the client recovers after it resumes', async () => {
    const client = new LibvirtClient({ keepaliveIntervalMs: 250, keepaliveCount: 4, connectTimeoutMs: 5000 });
    const disconnects: (LibvirtConnectionError | undefined)[] = [];
    client.on('disconnect', (err) => disconnects.push(err));
    try {
      assert.ok((await client.connectGetHostname()).length > 0);
      lab('libvirtd-hang');
      let pending: Promise<unknown>;
      try {
        pending = client.connectGetHostname().catch((e: unknown) => e);
        const started = Date.now();
        const err = await pending;
        assert.ok(err instanceof LibvirtConnectionError, String(err));
        assert.equal(err.reason, 'KEEPALIVE_TIMEOUT');
        assert.ok(Date.now() - started < 4000, `detected after ${Date.now() - started} ms`);
      } finally {
        lab('libvirtd-resume');
      }
      assert.equal(disconnects[0]?.reason, 'KEEPALIVE_TIMEOUT');
      assert.ok((await client.connectGetHostname()).length > 0);
      assert.equal(client.state.reconnects, 1);
    } finally {
      await client.close();
    }
  });

  test('after libvirtd is killed and started again, the next call reconnects and events resume', async () => {
    const client = new LibvirtClient({ connectTimeoutMs: 3000, reconnectDelayMs: 0 });
    const reasons: string[] = [];
    client.on('reconnect', (r) => reasons.push(r));
    const events: LifecycleEvent[] = [];
    client.on('lifecycle', (e) => events.push(e));
    try {
      await client.subscribeLifecycle(null);
      assert.ok((await client.listAllDomains(0)).length > 0);
      lab('libvirtd-kill');
      try {
        await waitFor(() => !client.connected, 5000, 'disconnect noticed');
        const started = Date.now();
        await assert.rejects(client.listAllDomains(0), LibvirtConnectionError);
        assert.ok(Date.now() - started < 3500, 'fails fast while the daemon is down');
      } finally {
        lab('libvirtd-start');
      }
      await waitFor(
        async () => {
          try {
            await client.listAllDomains(0);
            return true;
          } catch {
            return false;
          }
        },
        30_000,
        'reconnected',
        250,
      );
      assert.deepEqual(reasons, ['closed']);
      // The subscription was registered again on the new connection.
      try {
        virshRw('suspend', 'lab-plain-1');
        await waitFor(
          () => events.some((e) => e.domain.name === 'lab-plain-1'),
          10_000,
          'event after reconnect',
        );
      } finally {
        virshRw('resume', 'lab-plain-1');
      }
    } finally {
      await client.close();
    }
  });
});
