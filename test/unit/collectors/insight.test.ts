// SPDX-License-Identifier: Apache-2.0
// The pressure, guest_agent and events collectors and the stopped-instance samples, from recordings:
// frames libvirt 9.0 sent in the lab (test/fixtures/libvirt/insight-frames.json) and a cgroup v2 tree
// copied from the lab machine (test/fixtures/cgroup).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildApp } from '../../../src/app.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import {
  CgroupReader,
  cgroup2MountFromMountinfo,
  machineCgroupCandidates,
  machineDirFromProcPath,
  parsePsi,
} from '../../../src/inspector/cgroups.ts';
import {
  firstTokenIs,
  flatKeyedValue,
  hasToken,
  parsePsiBytes,
} from '../../../src/inspector/cgroup-files.ts';
import { DomainEventCounts } from '../../../src/inspector/events.ts';
import { guestAgentSkip, parseGuestInfo } from '../../../src/inspector/guest-agent.ts';
import { decodeFrame } from '../../../src/libvirt/framing.ts';
import {
  decodeGuestInfoRet,
  decodeIoErrorMessage,
  decodeWatchdogMessage,
  encodeWatchdogMessage,
} from '../../../src/libvirt/guest-and-events.ts';
import { LibvirtError } from '../../../src/libvirt/errors.ts';
import { decodeLifecycleMessage, decodeRemoteError } from '../../../src/libvirt/procedures.ts';
import { prepareCycle } from '../../../src/ceilometer/cycle.ts';
import { discoverInstances } from '../../../src/ceilometer/discovery.ts';
import { sampleMessages } from '../../../src/ceilometer/message.ts';
import { computeMeters } from '../../../src/ceilometer/meters.ts';
import { defaultUnitProfile, parseRelease } from '../../../src/ceilometer/release.ts';
import { meterSamples } from '../../../src/ceilometer/samples.ts';
import { STOPPED_INSTANCE_METERS, stoppedCycle } from '../../../src/ceilometer/stopped.ts';
import { pyStr, type PyValue } from '../../../src/ceilometer/python-format.ts';
import { parseExposition } from '../../helpers/exposition.ts';
import { fixtureClient, insightFrame } from '../../helpers/fixture-client.ts';

const CGROUP = fileURLToPath(new URL('../../fixtures/cgroup', import.meta.url));
const payload = (name: string): Buffer => decodeFrame(insightFrame(name)).payload;
const errorOf = (name: string): LibvirtError => new LibvirtError(decodeRemoteError(payload(name)), 418);

describe('guest agent (recorded from the tiny guest)', () => {
  test('virDomainGetGuestInfo: hostname, OS and the ext2 filesystem on vdb', () => {
    const info = parseGuestInfo(decodeGuestInfoRet(payload('guest_info')));
    assert.equal(info.hostname, 'db-1');
    assert.equal(info.os.id, 'labtiny');
    assert.equal(info.os.kernelRelease, '6.1.0-57-amd64');
    assert.equal(info.filesystems.length, 1);
    const fs = info.filesystems[0]!;
    assert.equal(fs.mountpoint, '/data');
    assert.equal(fs.fstype, 'ext2');
    assert.equal(fs.device, '/dev/vdb');
    assert.equal(fs.totalBytes, 15405056);
    assert.ok(fs.usedBytes !== undefined && fs.usedBytes > 4 * 1024 * 1024 && fs.usedBytes < 15405056);
  });

  test('a guest without an agent channel and the read-only socket are told apart', () => {
    const noAgent = errorOf('guest_info_no_agent');
    assert.equal(guestAgentSkip(noAgent, undefined), 'not_configured');
    const readOnly = errorOf('guest_info_read_only');
    assert.match(readOnly.message, /read.only|denied/i);
    assert.equal(guestAgentSkip(readOnly, undefined), 'error');
    assert.equal(guestAgentSkip(noAgent, AbortSignal.abort()), 'timeout');
  });
});

describe('domain events', () => {
  test('the recorded ENOSPC pause: an io_error event with its reason, suspended/ioerror, stopped/destroyed', () => {
    const io = decodeIoErrorMessage(payload('event_io_error_reason'), true);
    assert.equal(io.domain.name, 'record-ioerr');
    assert.equal(io.reason, 'enospc');
    assert.equal(io.action, 1); // pause (error_policy='stop')
    assert.equal(io.devAlias, 'virtio-disk0');
    const counts = new DomainEventCounts(() => 0);
    counts.ioError(io);
    counts.lifecycle(decodeLifecycleMessage(payload('event_lifecycle_suspended_ioerror')));
    counts.lifecycle(decodeLifecycleMessage(payload('event_lifecycle_stopped_destroyed')));
    const got = counts
      .snapshot(new Set([io.domain.uuid]), 1000)
      .map((e) => `${e.domain} ${e.event} ${e.detail} ${e.count}`)
      .sort();
    assert.deepEqual(got, [
      'record-ioerr io_error enospc 1',
      'record-ioerr stopped destroyed 1',
      'record-ioerr suspended ioerror 1',
    ]);
  });

  test('watchdog events decode (encoded from remote_protocol.x: the lab guest has no watchdog device)', () => {
    const domain = { name: 'g', uuid: '11111111-2222-3333-4444-555555555501', id: 7 };
    const e = decodeWatchdogMessage(encodeWatchdogMessage({ callbackId: 3, domain, action: 2 }));
    assert.deepEqual(e, { callbackId: 3, domain, action: 2 });
    const counts = new DomainEventCounts(() => 0);
    counts.watchdog(e);
    assert.equal(counts.snapshot(new Set([domain.uuid]), 0)[0]?.detail, 'reset');
  });

  test('counts of a domain that disappeared are kept for the retention, then dropped', () => {
    let now = 0;
    const counts = new DomainEventCounts(() => now);
    const dom = { name: 'crashy', uuid: 'u1' };
    counts.add(dom, 'stopped', 'crashed');
    counts.add(dom, 'stopped', 'crashed');
    assert.equal(counts.snapshot(new Set(['u1']), 60_000)[0]?.count, 2);
    now = 1000;
    assert.equal(counts.snapshot(new Set(), 60_000).length, 1, 'gone, kept');
    now = 61_000;
    assert.equal(counts.snapshot(new Set(), 60_000).length, 1, 'at the retention, still kept');
    now = 61_001;
    assert.equal(counts.snapshot(new Set(), 60_000).length, 0, 'past the retention, dropped');
  });
});

describe('cgroups', () => {
  test('PSI and mountinfo parsing, libvirt directory names', () => {
    assert.deepEqual(parsePsi('some avg10=0.00 avg60=0.00 avg300=0.00 total=12\nfull avg10=0 total=3\n'), {
      someUs: 12,
      fullUs: 3,
    });
    const mi =
      '35 25 0:30 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n';
    assert.equal(cgroup2MountFromMountinfo(mi), '/sys/fs/cgroup/unified');
    assert.equal(cgroup2MountFromMountinfo('1 0 0:1 / / rw - ext4 /dev/sda rw\n'), undefined);
    assert.deepEqual(machineCgroupCandidates(12, 'instance-0000000c'), [
      'machine.slice/machine-qemu\\x2d12\\x2dinstance\\x2d0000000c.scope',
      'machine/qemu-12-instance-0000000c.libvirt-qemu',
    ]);
    assert.equal(
      machineDirFromProcPath(
        '/machine.slice/machine-qemu\\x2d12\\x2dinstance\\x2d0000000c.scope/libvirt/emulator',
        12,
      ),
      'machine.slice/machine-qemu\\x2d12\\x2dinstance\\x2d0000000c.scope',
    );
    assert.equal(machineDirFromProcPath('/machine/qemu-3-x.libvirt-qemu', 4), undefined, 'another id');
    assert.equal(machineDirFromProcPath('/', 1), undefined);
  });

  test('both layouts are found by name; throttling only where cpu.max sets a quota', () => {
    const r = new CgroupReader({ root: CGROUP, pidDir: '/nonexistent' });
    assert.equal(r.unavailable, undefined);
    const plain = r.read({ name: 'instance-00000002', id: 5 })!;
    assert.equal(plain.cgroup, 'machine/qemu-5-instance-00000002.libvirt-qemu');
    assert.equal(plain.cpu.someUs, 74451613);
    assert.equal(plain.throttledUs, undefined, 'cpu.max is max: no quota');
    const scope = r.read({ name: 'instance-00000001', id: 1 })!;
    assert.match(scope.cgroup, /^machine\.slice\/machine-qemu\\x2d1/);
    assert.equal(scope.throttledUs, 2345678);
    assert.equal(scope.throttledPeriods, 321);
    assert.equal(r.read({ name: 'instance-00000003', id: 2 }), undefined, 'no directory: nothing');
    assert.equal(r.read({ name: 'instance-00000002', id: 9 }), undefined, 'another domain id');
  });

  test('no cgroup v2: unavailable, with the reason', () => {
    assert.match(
      new CgroupReader({ root: '/nonexistent/cgroup' }).unavailable ?? '',
      /not a readable cgroup v2/,
    );
    const none = new CgroupReader({ proc: fileURLToPath(new URL('../../fixtures/config', import.meta.url)) });
    assert.match(none.unavailable ?? '', /no cgroup v2/);
  });

  // The parsing as it was before the bytes parsers (split + regex), the reference they must agree with.
  const psiByRegex = (text: string): { someUs?: number; fullUs?: number } => {
    const out: { someUs?: number; fullUs?: number } = {};
    for (const line of text.split('\n')) {
      const m = /^(some|full)\s.*\btotal=(\d+)/.exec(line);
      if (m !== null) out[m[1] === 'some' ? 'someUs' : 'fullUs'] = Number(m[2]);
    }
    return out;
  };
  const flatByRegex = (text: string, key: string): number | undefined => {
    let value: number | undefined;
    for (const line of text.split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k === key && v !== undefined && /^\d+$/.test(v)) value = Number(v);
    }
    return value;
  };
  const bytes = (text: string): [Buffer, number] => {
    // Stale bytes after the text, as in the reused read buffer: they must not be read.
    const b = Buffer.from(`${text}\nsome total=999 throttled_usec 999 max cpu`);
    return [b, Buffer.byteLength(text)];
  };

  test('the bytes parsers read what split + regex read, on awkward texts too', () => {
    const psiTexts = [
      'some avg10=0.02 avg60=0.02 avg300=0.00 total=247675\nfull avg10=0.02 avg60=0.02 avg300=0.00 total=227169\n',
      'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
      'some total=5',
      'some\ttotal=7\nfull total=1 total=2\n',
      'somex total=1\n fulltotal=2\nfull a_total=3 total=4x\n',
      'some xtotal=9\nfull total=12\r total=13\nsome total=\n',
      'some total=123456789012345678901\nsome total=007\n',
      '',
      'full total=3\n\nsome total=1\nsome total=2',
    ];
    for (const t of psiTexts) {
      assert.deepEqual(parsePsiBytes(...bytes(t)), psiByRegex(t), JSON.stringify(t));
      assert.deepEqual(parsePsi(t), psiByRegex(t), JSON.stringify(t));
    }
    const maxOf = (t: string): boolean => t.trim().split(/\s+/)[0] === 'max';
    for (const t of ['max 100000\n', '  max\n', '50000 100000\n', 'maximum 1', 'ma', '', '\n'])
      assert.equal(firstTokenIs(...bytes(t), 'max'), maxOf(t), JSON.stringify(t));
    const stat =
      'usage_usec 761159\nnr_throttled 321\n throttled_usec  2345678 \nthrottled_usec x1\nnr_throttled\nnr_periods 5 6\n';
    for (const t of [stat, `${stat}throttled_usec 99\n`, 'throttled_usec 12', '', 'nr_throttled 1x\n'])
      for (const key of ['throttled_usec', 'nr_throttled', 'nr_periods', 'usage'])
        assert.equal(flatKeyedValue(...bytes(t), key), flatByRegex(t, key), `${key} in ${JSON.stringify(t)}`);
    assert.equal(hasToken(...bytes('cpuset io memory pids\n'), 'cpu'), false);
    assert.equal(hasToken(...bytes('cpuset cpu io\n'), 'cpu'), true);
  });

  const openFds = (): number => readdirSync('/proc/self/fd').length;
  const psi = (some: number): string =>
    `some avg10=0.00 avg60=0.00 avg300=0.00 total=${some}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=${some - 1}\n`;
  /** A guest's directory in a fake v2 tree, the cpu controller enabled (cgroup.controllers lists it). */
  const guestDir = (root: string, rel: string, some: number): string => {
    const dir = join(root, rel);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cgroup.procs'), '4242\n');
    writeFileSync(join(dir, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    for (const r of ['cpu', 'memory', 'io']) writeFileSync(join(dir, `${r}.pressure`), psi(some));
    writeFileSync(join(dir, 'cpu.max'), 'max 100000\n');
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 5\nnr_periods 9\nnr_throttled 2\nthrottled_usec 700\n');
    return dir;
  };
  const tree = (): string => {
    const root = mkdtempSync(join(tmpdir(), 'libvirt-exporter-cgroups-'));
    writeFileSync(join(root, 'cgroup.procs'), '');
    return root;
  };
  const g1 = { name: 'g1', id: 3 };
  const g2 = { name: 'g2', id: 4 };
  /** Runs `body` with a reader over a fresh fake tree; closes the reader and removes the tree after. */
  const withReader = (body: (root: string, r: CgroupReader) => void): void => {
    const root = tree();
    const r = new CgroupReader({ root, pidDir: '/nonexistent' });
    try {
      body(root, r);
    } finally {
      r.close();
      rmSync(root, { recursive: true });
    }
  };

  test('kept files: new values seen on each read; a quota set at run time brings throttling, its removal drops it', () => {
    withReader((root, r) => {
      const dir = guestDir(root, 'machine/qemu-3-g1.libvirt-qemu', 100);
      const fds0 = openFds();
      assert.equal(r.read(g1)?.cpu.someUs, 100);
      assert.equal(r.read(g1)?.throttledUs, undefined, 'cpu.max is max');
      assert.equal(openFds(), fds0 + 4, 'three PSI files and cpu.max kept open');
      // Rewritten in place, as the kernel regenerates the text: the kept descriptor reads the new one.
      writeFileSync(join(dir, 'cpu.pressure'), psi(250));
      writeFileSync(join(dir, 'io.pressure'), psi(7));
      const again = r.read(g1)!;
      assert.deepEqual(
        [again.cpu, again.io, again.memory.someUs],
        [{ someUs: 250, fullUs: 249 }, { someUs: 7, fullUs: 6 }, 100],
      );
      writeFileSync(join(dir, 'cpu.max'), '50000 100000\n');
      const quota = r.read(g1)!;
      assert.deepEqual([quota.throttledUs, quota.throttledPeriods], [700, 2]);
      writeFileSync(join(dir, 'cpu.stat'), 'nr_throttled 3\nthrottled_usec 900\n');
      assert.equal(r.read(g1)?.throttledUs, 900);
      assert.equal(openFds(), fds0 + 5, 'cpu.stat too while a quota is set');
      writeFileSync(join(dir, 'cpu.max'), 'max 100000\n');
      assert.equal(r.read(g1)?.throttledUs, undefined);
      assert.equal(openFds(), fds0 + 4, 'cpu.stat closed again');
    });
  });

  test('without the cpu controller (hybrid host) no cpu.max is opened; enabling it at run time is seen', () => {
    withReader((root, r) => {
      const dir = guestDir(root, 'machine/qemu-3-g1.libvirt-qemu', 100);
      writeFileSync(join(dir, 'cgroup.controllers'), 'cpuset memory pids\n');
      rmSync(join(dir, 'cpu.max'));
      const fds0 = openFds();
      assert.equal(r.read(g1)?.throttledUs, undefined);
      assert.equal(openFds(), fds0 + 4, 'three PSI files and cgroup.controllers');
      writeFileSync(join(dir, 'cgroup.controllers'), 'cpuset cpu memory pids\n');
      writeFileSync(join(dir, 'cpu.max'), '50000 100000\n');
      assert.equal(r.read(g1)?.throttledUs, 700);
      assert.equal(openFds(), fds0 + 5, 'cgroup.controllers closed, cpu.max and cpu.stat open');
    });
  });

  test("retain() closes the files of the guests that are gone; close() closes every guest's", () => {
    withReader((root, r) => {
      guestDir(root, 'machine/qemu-3-g1.libvirt-qemu', 100);
      guestDir(root, 'machine/qemu-4-g2.libvirt-qemu', 200);
      const fds0 = openFds();
      assert.deepEqual([r.read(g1)?.cpu.someUs, r.read(g2)?.cpu.someUs], [100, 200]);
      assert.equal(openFds(), fds0 + 8);
      r.retain([g2, { name: 'g3', id: 5 }]);
      assert.equal(openFds(), fds0 + 4, "g1's four closed");
      assert.equal(r.read(g2)?.cpu.someUs, 200);
      r.retain([{ name: 'g2', id: 6 }]);
      assert.equal(openFds(), fds0, 'g2 with another id is another domain: its old files closed');
      assert.deepEqual([r.read(g1)?.cpu.someUs, r.read(g2)?.cpu.someUs], [100, 200]);
      r.close();
      assert.equal(openFds(), fds0);
      assert.equal(r.read(g1)?.cpu.someUs, 100, 'opened again after close');
    });
  });

  test('a directory whose PSI files say nothing closes its files and is resolved again (here: the other layout)', () => {
    withReader((root, r) => {
      const plain = guestDir(root, 'machine/qemu-3-g1.libvirt-qemu', 100);
      const fds0 = openFds();
      assert.equal(r.read(g1)?.cgroup, 'machine/qemu-3-g1.libvirt-qemu');
      for (const res of ['cpu', 'memory', 'io']) writeFileSync(join(plain, `${res}.pressure`), '');
      assert.equal(r.read(g1), undefined);
      assert.equal(openFds(), fds0, 'closed');
      rmSync(plain, { recursive: true });
      guestDir(root, 'machine.slice/machine-qemu\\x2d3\\x2dg1.scope', 300);
      const moved = r.read(g1)!;
      assert.deepEqual(
        [moved.cgroup, moved.cpu.someUs],
        ['machine.slice/machine-qemu\\x2d3\\x2dg1.scope', 300],
      );
      assert.equal(openFds(), fds0 + 4);
    });
  });

  // A real cgroup v2 directory, removed under the reader: its kept descriptors then read ENODEV (a plain
  // filesystem keeps an unlinked file readable, so only the kernel's cgroupfs shows this). Needs root and
  // a writable cgroup v2 hierarchy (CI and the lab machine have both).
  const v2 = cgroup2MountFromMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const writable = v2 !== undefined && process.getuid?.() === 0 && existsSync(join(v2, 'cgroup.procs'));
  test(
    'a removed cgroup (ENODEV) closes its files and is resolved again',
    { skip: !writable && 'no writable cgroup v2 hierarchy' },
    () => {
      const root = join(v2 ?? '', `libvirt-exporter-unit-${process.pid}`);
      const dir = join(root, 'machine/qemu-3-g1.libvirt-qemu');
      mkdirSync(dir, { recursive: true });
      const r = new CgroupReader({ root, pidDir: '/nonexistent' });
      try {
        const fds0 = openFds();
        assert.equal(r.read(g1)?.cpu.someUs, 0, 'an empty cgroup never stalls');
        const kept = openFds() - fds0;
        assert.ok(kept === 4, `three PSI files and cpu.max or cgroup.controllers: ${kept}`);
        rmdirSync(dir);
        assert.equal(r.read(g1), undefined);
        assert.equal(openFds(), fds0, 'closed');
        mkdirSync(dir);
        assert.equal(r.read(g1)?.cgroup, 'machine/qemu-3-g1.libvirt-qemu', 'resolved again');
        assert.equal(openFds(), fds0 + kept);
      } finally {
        r.close();
        if (existsSync(dir)) rmdirSync(dir);
        rmdirSync(join(root, 'machine'));
        rmdirSync(root);
      }
    },
  );

  test("the inspector's close() closes the guests' cgroup files; a new cgroup root closes the old one's", async () => {
    const inspector = new LibvirtInspector({
      client: fixtureClient(),
      cgroupPaths: { pidDir: '/nonexistent' },
    });
    const instances = await inspector.listInstances();
    const root = tree();
    try {
      cpSync(CGROUP, root, { recursive: true });
      const fds0 = openFds();
      const fromFixture = inspector.pressure(instances, { cgroupRoot: CGROUP }).byUuid;
      assert.equal(fromFixture.size, 2);
      // Two guests' PSI files and cpu.max (the copied tree has no cgroup.controllers), one cpu.stat (quota).
      assert.equal(openFds(), fds0 + 9);
      assert.equal(inspector.pressure(instances, { cgroupRoot: root }).byUuid.size, 2);
      assert.equal(openFds(), fds0 + 9, "the fixture's closed, the copy's open");
      await inspector.close();
      assert.equal(openFds(), fds0);
    } finally {
      await inspector.close();
      rmSync(root, { recursive: true });
    }
  });
});

async function scrape(overrides: Record<string, unknown>, cgroupPaths?: { pidDir: string }): Promise<string> {
  const app = await buildApp({
    config: loadConfig(undefined, overrides),
    inspector: new LibvirtInspector({ client: fixtureClient(), ...(cgroupPaths ? { cgroupPaths } : {}) }),
    logger: pino({ level: 'silent' }),
  });
  const body = (await app.inject({ url: '/metrics' })).body;
  await app.close();
  return body;
}

describe('collectors on the lab recording', () => {
  test('pressure: PSI totals in seconds per guest found in the tree; nothing for an injected client without paths', async () => {
    const body = await scrape(
      { 'collectors.pressure.cgroup_root': CGROUP },
      { pidDir: '/nonexistent/libvirt-exporter-test' },
    );
    const f = parseExposition(body);
    const cpu = f.get('libvirt_domain_pressure_cpu_waiting_seconds_total')!;
    assert.equal(cpu.type, 'counter');
    const db = cpu.samples.find((s) => s.labels['domain'] === 'instance-00000002');
    assert.equal(db?.value, 74.451613);
    const web = f.get('libvirt_domain_cpu_throttled_seconds_total')!.samples;
    assert.deepEqual(
      web.map((s) => [s.labels['domain'], s.value]),
      [['instance-00000001', 2.345678]],
    );
    assert.ok(
      !cpu.samples.some((s) => s.labels['domain'] === 'instance-00000003'),
      'no directory, no series',
    );
    const plain = parseExposition(await scrape({}));
    assert.equal(plain.get('libvirt_domain_pressure_cpu_waiting_seconds_total')?.samples.length ?? 0, 0);
    assert.equal(
      plain.get('libvirt_scrape_collector_success')?.samples.find((s) => s.labels['collector'] === 'pressure')
        ?.value,
      1,
      'unreadable cgroups are not an error',
    );
  });

  test('guest_agent: filesystem figures and OS info of the guest with an agent; the others counted as skipped', async () => {
    const f = parseExposition(await scrape({ 'collectors.guest_agent.enabled': true }));
    const size = f.get('libvirt_domain_filesystem_size_bytes')!.samples;
    assert.deepEqual(size, [
      {
        labels: { domain: 'instance-00000002', mountpoint: '/data', fstype: 'ext2', device: '/dev/vdb' },
        value: 15405056,
      },
    ]);
    assert.equal(f.get('libvirt_domain_filesystem_used_bytes')!.samples.length, 1);
    const os = f.get('libvirt_domain_guest_os_info')!.samples[0]!;
    assert.equal(os.labels['hostname'], 'db-1');
    const skipped: Record<string, number> = Object.fromEntries(
      f.get('libvirt_guest_agent_skipped_domains')!.samples.map((s) => [s.labels['reason'] ?? '', s.value]),
    );
    // Running guests of the recording: 01, 02, 03 and lab-plain-1 (04 is paused: not asked).
    assert.deepEqual(skipped, { not_configured: 3, unresponsive: 0, timeout: 0, error: 0 });
  });
});

/** A sample field as Python's str() prints it (floats keep their `.0`). */
const text = (v: PyValue | undefined): string => (v === undefined ? '' : pyStr(v));

describe("Ceilometer master's report_stopped_instance_metrics", () => {
  const meters = (): ReturnType<typeof computeMeters> => {
    const r = parseRelease('26.0.0'); // master: vcpus and memory exist (25+), MiB units (26+)
    return computeMeters(r, defaultUnitProfile(r));
  };

  test('off: nothing for the shut-off guest; on: exactly the upstream meters with its XML sizes and block info', async () => {
    const inspector = new LibvirtInspector({ client: fixtureClient() });
    const inspection = await inspector.inspectAll();
    const { discovered } = discoverInstances(inspection, { host: 'compute-lab-1', flavorIds: {} });
    const cycle = prepareCycle(inspection, discovered, undefined, 0);
    const ctx = { source: 'openstack', secret: '', messageId: () => '00000000-0000-1000-8000-000000000000' };
    const stoppedUuid = '11111111-2222-3333-4444-555555555505';
    // (disk.root.size and disk.ephemeral.size come from the Nova metadata of every instance, stopped or not.)
    const forStopped = (c: typeof cycle) =>
      meters()
        .filter((m) => m.scope !== 'instance')
        .flatMap((m) =>
          sampleMessages(ctx, meterSamples(m, c), '2026-12-03T00:00:00.000000').filter((s) =>
            text(s['resource_id']).startsWith(stoppedUuid),
          ),
        );
    assert.equal(await stoppedCycle(false, inspector, cycle, undefined), undefined);
    assert.deepEqual(forStopped(cycle), []);
    const stopped = (await stoppedCycle(true, inspector, cycle, undefined))!;
    const got = meters()
      .filter((m) => STOPPED_INSTANCE_METERS.has(m.name))
      .flatMap((m) =>
        sampleMessages(ctx, meterSamples(m, stopped), '2026-12-03T00:00:00.000000').filter((s) =>
          text(s['resource_id']).startsWith(stoppedUuid),
        ),
      )
      .map((s) => [s['counter_name'], s['resource_id'], text(s['counter_volume']), s['counter_unit']]);
    assert.deepEqual(got, [
      ['vcpus', stoppedUuid, '1', 'vcpu'],
      ['memory', stoppedUuid, '128.0', 'MiB'],
      ['power.state', stoppedUuid, '5', ''],
      ['disk.device.capacity', `${stoppedUuid}-vda`, '67108864', 'B'],
      ['disk.device.allocation', `${stoppedUuid}-vda`, '200704', 'B'],
      ['disk.device.usage', `${stoppedUuid}-vda`, '196616', 'B'],
    ]);
    // Runtime meters never come from the stand-in subjects.
    const runtime = meters().filter((m) => !STOPPED_INSTANCE_METERS.has(m.name) && m.scope !== 'instance');
    for (const m of runtime)
      assert.deepEqual(
        sampleMessages(ctx, meterSamples(m, cycle), '').filter((s) =>
          text(s['resource_id']).startsWith(stoppedUuid),
        ),
        [],
        m.name,
      );
  });
});
