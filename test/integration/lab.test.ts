// SPDX-License-Identifier: Apache-2.0
// The lab itself (test/lab/lab.sh): the guest set, its metadata and devices, the tiny guests' moving
// statistics, idempotent `up`, and the fault helpers. Other integration tests rely on this contract.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { LAB_GUESTS, domstats, lab, virsh, waitFor } from '../helpers/lab.ts';

/** Parses `lab.sh env` (`export KEY='value'` lines). */
function labEnv(): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of lab('env').split('\n')) {
    const m = /^export ([A-Z0-9_]+)='([^']*)'$/.exec(line);
    if (m) env.set(m[1]!, m[2]!);
  }
  return env;
}

function words(s: string | undefined): string[] {
  return (s ?? '').split(' ').filter(Boolean).sort();
}

/** The first `<tag ...>` opening tag with its attributes, or undefined. */
function attrsOf(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}\\b([^>]*)>`).exec(xml)?.[1];
}

const CORE = [
  'instance-00000001',
  'instance-00000002',
  'instance-00000003',
  'instance-00000004',
  'instance-00000005',
  'lab-plain-1',
];

describe('the lab (test/lab/lab.sh)', () => {
  before(() => {
    lab('up');
  });

  test('env exports the sockets, the URI and the guest lists', () => {
    const env = labEnv();
    assert.equal(env.get('LIBVIRT_TEST_URI'), 'qemu:///system');
    assert.equal(env.get('LIBVIRT_TEST_SOCKET'), '/var/run/libvirt/libvirt-sock-ro');
    assert.equal(env.get('LIBVIRT_TEST_RW_SOCKET'), '/var/run/libvirt/libvirt-sock');
    assert.ok(existsSync(env.get('LIBVIRT_TEST_SOCKET')!), 'read-only socket exists');
    assert.ok(existsSync(env.get('LIBVIRT_TEST_RW_SOCKET')!), 'read-write socket exists');
    assert.deepEqual(words(env.get('LAB_GUESTS')), [...CORE].sort());
    assert.deepEqual(words(env.get('LAB_TINY_GUESTS')), [...LAB_GUESTS.tiny].sort());
    assert.deepEqual(words(env.get('LAB_RUNNING_GUESTS')), [...LAB_GUESTS.running].sort());
    assert.deepEqual(words(env.get('LAB_PAUSED_GUESTS')), [...LAB_GUESTS.paused].sort());
    assert.deepEqual(words(env.get('LAB_SHUTOFF_GUESTS')), [...LAB_GUESTS.shutoff].sort());
  });

  test('every guest exists in its documented state, with a fixed UUID, MAC and a unique tap', () => {
    const want: Record<string, string> = {
      'instance-00000001': 'running',
      'instance-00000002': 'running',
      'instance-00000003': 'running',
      'instance-00000004': 'paused',
      'instance-00000005': 'shut off',
      'lab-plain-1': 'running',
    };
    const uuids: Record<string, string> = {
      'instance-00000001': '11111111-2222-3333-4444-555555555501',
      'instance-00000002': '11111111-2222-3333-4444-555555555502',
      'instance-00000003': '11111111-2222-3333-4444-555555555503',
      'instance-00000004': '11111111-2222-3333-4444-555555555504',
      'instance-00000005': '11111111-2222-3333-4444-555555555505',
      'lab-plain-1': '11111111-2222-3333-4444-555555555511',
    };
    const taps = new Set<string>();
    const macs = new Set<string>();
    for (const name of CORE) {
      assert.equal(virsh('domstate', name).trim(), want[name], `${name} state`);
      assert.equal(virsh('domuuid', name).trim(), uuids[name], `${name} uuid`);
      const xml = virsh('dumpxml', '--inactive', name);
      assert.match(xml, /<domain type='qemu'>/, `${name} is TCG`);
      assert.match(xml, /<memory unit='KiB'>131072<\/memory>/, `${name} has 128 MiB`);
      assert.match(xml, /<memballoon model='virtio'>\s*<stats period='5'\/>/, `${name} balloon stats period`);
      for (const m of xml.matchAll(/<target dev='(tap-[^']+)'\/>/g)) {
        assert.ok(!taps.has(m[1]!), `tap ${m[1]!} is unique`);
        taps.add(m[1]!);
      }
      for (const m of xml.matchAll(/<mac address='([^']+)'\/>/g)) {
        assert.ok(!macs.has(m[1]!), `MAC ${m[1]!} is unique`);
        macs.add(m[1]!);
      }
    }
    assert.equal(taps.size, 7, 'seven NICs in all (instance-00000002 has two)');
  });

  test('Nova metadata varies: 1.1, 2025.2-style flavor, 1.0, none', () => {
    const web = virsh('dumpxml', 'instance-00000001');
    assert.match(web, /xmlns:nova="http:\/\/openstack.org\/xmlns\/libvirt\/nova\/1.1"/);
    assert.match(web, /<nova:name>web-1<\/nova:name>/);
    assert.match(web, /<nova:flavor name="m1.tiny">/);
    assert.match(web, /<nova:project uuid="[0-9a-f]{32}">demo<\/nova:project>/);
    assert.match(web, /<nova:root type="image" uuid="[0-9a-f-]{36}"\/>/);

    const db = virsh('dumpxml', 'instance-00000002');
    assert.match(db, /<nova:name>db-1<\/nova:name>/);
    assert.match(attrsOf(db, 'nova:flavor') ?? '', /\bid="[^"]+"/, 'flavor has an id attribute');
    assert.match(db, /<nova:extraSpec name="hw:cpu_policy">shared<\/nova:extraSpec>/);
    assert.match(db, /<nova:vcpus>2<\/nova:vcpus>/);
    assert.match(db, /<nova:project uuid="[0-9a-f]{32}">analytics<\/nova:project>/);
    assert.match(db, /<vcpu placement='static'>2<\/vcpu>/);

    assert.match(
      virsh('dumpxml', 'instance-00000003'),
      /xmlns:nova="http:\/\/openstack.org\/xmlns\/libvirt\/nova\/1.0"/,
    );
    assert.doesNotMatch(virsh('dumpxml', 'lab-plain-1'), /<metadata>/);
  });

  test('devices: two disks and two NICs on instance-00000002, an empty CD-ROM on lab-plain-1', () => {
    const blk = (name: string): string[][] =>
      virsh('domblklist', name, '--details')
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length >= 4);
    assert.deepEqual(
      blk('instance-00000002').map((f) => f[2]),
      ['vda', 'vdb'],
    );
    assert.equal(virsh('domiflist', 'instance-00000002').trim().split('\n').length, 2);
    const plain = blk('lab-plain-1');
    const cd = plain.find((f) => f[1] === 'cdrom');
    assert.ok(cd, 'lab-plain-1 has a CD-ROM');
    assert.equal(cd[3], '-', 'the CD-ROM has no source');
    assert.ok(
      plain.some((f) => f[1] === 'disk' && f[2] === 'vda'),
      'and its normal disk',
    );
  });

  test('tiny guests report guest memory stats; no-OS guests do not', () => {
    const s = domstats('--balloon', ...LAB_GUESTS.tiny, 'instance-00000003', 'lab-plain-1');
    for (const name of LAB_GUESTS.tiny) {
      for (const k of [
        'available',
        'usable',
        'unused',
        'disk_caches',
        'swap_in',
        'swap_out',
        'major_fault',
        'minor_fault',
      ]) {
        assert.ok(s.get(name)?.has(`balloon.${k}`), `${name} has balloon.${k}`);
      }
    }
    for (const name of ['instance-00000003', 'lab-plain-1']) {
      assert.ok(s.get(name)?.has('balloon.current'), `${name} has balloon.current`);
      assert.equal(s.get(name)?.has('balloon.usable'), false, `${name} has no balloon.usable`);
    }
  });

  test("tiny guests' disk and network counters move (both disks and NICs of instance-00000002)", async () => {
    const keys: Record<string, string[]> = {
      'instance-00000001': ['block.0.rd.reqs', 'block.0.wr.reqs', 'net.0.rx.pkts', 'net.0.tx.pkts'],
      'instance-00000002': [
        'block.0.rd.reqs',
        'block.0.wr.reqs',
        'block.1.wr.reqs',
        'net.0.tx.pkts',
        'net.1.tx.pkts',
      ],
    };
    const read = (): Map<string, Map<string, string>> =>
      domstats('--block', '--interface', ...LAB_GUESTS.tiny);
    const first = read();
    const moved = (now: Map<string, Map<string, string>>): string[] =>
      Object.entries(keys).flatMap(([name, ks]) =>
        ks
          .filter((k) => Number(now.get(name)?.get(k) ?? 0) <= Number(first.get(name)?.get(k) ?? 0))
          .map((k) => `${name} ${k}`),
      );
    // Each loop round is ~4 s; vdb is written every other round.
    await waitFor(() => moved(read()).length === 0, 40_000, 'all counters to grow', 1000);
  });

  test('a second `up` is a no-op: same libvirtd, same QEMU processes', () => {
    const libvirtd = lab('libvirtd-pid').trim();
    const qemu = LAB_GUESTS.tiny.map((n) => lab('guest-pid', n).trim());
    const t0 = Date.now();
    lab('up');
    const ms = Date.now() - t0;
    assert.equal(lab('libvirtd-pid').trim(), libvirtd);
    assert.deepEqual(
      LAB_GUESTS.tiny.map((n) => lab('guest-pid', n).trim()),
      qemu,
    );
    assert.ok(ms < 30_000, `up took ${ms} ms`);
  });

  test('libvirtd-kill and libvirtd-start: a new daemon, the guests keep running', () => {
    const before = lab('libvirtd-pid').trim();
    const qemu = [...LAB_GUESTS.running, ...LAB_GUESTS.paused].map((n) => lab('guest-pid', n).trim());
    lab('libvirtd-kill');
    assert.throws(() => lab('libvirtd-pid'), 'no libvirtd after the kill');
    const started = lab('libvirtd-start').trim();
    assert.notEqual(started, before);
    assert.equal(lab('libvirtd-pid').trim(), started);
    assert.deepEqual(
      [...LAB_GUESTS.running, ...LAB_GUESTS.paused].map((n) => lab('guest-pid', n).trim()),
      qemu,
    );
    assert.equal(virsh('domstate', 'instance-00000001').trim(), 'running');
    assert.equal(virsh('domstate', 'instance-00000004').trim(), 'paused');
  });
});
