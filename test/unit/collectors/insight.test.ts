// SPDX-License-Identifier: Apache-2.0
// The pressure, guest_agent and events collectors and the stopped-instance samples, from recordings:
// frames libvirt 9.0 sent in the lab (test/fixtures/libvirt/insight-frames.json) and a cgroup v2 tree
// copied from the lab machine (test/fixtures/cgroup).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
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
