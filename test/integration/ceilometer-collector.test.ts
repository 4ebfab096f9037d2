// SPDX-License-Identifier: Apache-2.0
// The real exporter with --collector.ceilometer on the lab: Ceilometer's Prometheus names and labels for
// every Nova guest, values bracketed by virsh readings taken before and after the scrape, nothing for
// the shut-off guest (Zed) or for the guest without Nova metadata, and the metadata-only meters of
// 2025.1+ for the shut-off guest.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExposition, type Family } from '../helpers/exposition.ts';
import { startExporter, type RunningExporter } from '../helpers/exporter.ts';
import { LAB_GUESTS, domstats, lab, virsh } from '../helpers/lab.ts';

/** What virsh says about a Nova guest. */
interface Guest {
  readonly name: string;
  readonly uuid: string;
  readonly display: string;
  readonly project: string;
  readonly user: string;
  readonly flavor: string;
  readonly taps: readonly string[];
}

function guest(name: string): Guest {
  const xml = virsh('dumpxml', name);
  const pick = (re: RegExp): string => {
    const m = re.exec(xml);
    assert.ok(m, `${name}: ${String(re)}`);
    return m[1]!;
  };
  return {
    name,
    uuid: pick(/<uuid>([^<]+)<\/uuid>/),
    display: pick(/<nova:name>([^<]*)<\/nova:name>/),
    project: pick(/<nova:project uuid="([^"]+)"/),
    user: pick(/<nova:user uuid="([^"]+)"/),
    flavor: pick(/<nova:flavor name="([^"]+)"/),
    taps: virsh('domiflist', name)
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter(Boolean),
  };
}

async function scrape(e: RunningExporter): Promise<Map<string, Family>> {
  const r = await fetch(`${e.url}/metrics`);
  assert.equal(r.status, 200);
  return parseExposition(await r.text());
}

function sample(
  f: Map<string, Family>,
  name: string,
  resource: string,
): { labels: Record<string, string>; value: number } | undefined {
  return f.get(name)?.samples.find((s) => s.labels['resource'] === resource);
}

/** Every ceilometer_ family that has a sample whose resource mentions `uuid`. */
function familiesOf(f: Map<string, Family>, uuid: string): string[] {
  return [...f.values()]
    .filter(
      (x) => x.name.startsWith('ceilometer_') && x.samples.some((s) => s.labels['resource']?.includes(uuid)),
    )
    .map((x) => x.name)
    .sort();
}

const NOVA_ACTIVE = [...LAB_GUESTS.nova11, ...LAB_GUESTS.nova10].filter(
  (n) => !(LAB_GUESTS.shutoff as readonly string[]).includes(n),
);

describe('the ceilometer collector on the lab', () => {
  let zed: RunningExporter;
  let epoxy: RunningExporter;
  let host: string;
  const guests = new Map<string, Guest>();
  before(async () => {
    lab('up');
    host = virsh('hostname').trim();
    for (const n of [...NOVA_ACTIVE, ...LAB_GUESTS.shutoff]) guests.set(n, guest(n));
    // Zed (19.0.0) is the publisher's default release; 2025.2 (25.0.0) adds meters and flavor labels.
    zed = await startExporter(['--collector.ceilometer', '--log.level=warn']);
    const dir = mkdtempSync(join(tmpdir(), 'ceilometer-collector-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'publisher:\n  ceilometer_release: "25.0.0"\n  flavor_ids:\n    m1.tiny: "1"\n');
    epoxy = await startExporter(['--collector.ceilometer', '--log.level=warn', `--config.file=${config}`]);
  });
  after(async () => {
    assert.equal(await zed.stop(), 0);
    assert.equal(await epoxy.stop(), 0);
  });

  test('every running or paused Nova guest has its series with the exporter labels', async () => {
    const f = await scrape(zed);
    assert.equal(
      f.get('libvirt_scrape_collector_success')?.samples.find((s) => s.labels['collector'] === 'ceilometer')
        ?.value,
      1,
    );
    for (const name of NOVA_ACTIVE) {
      const g = guests.get(name)!;
      const cpu = sample(f, 'ceilometer_cpu', g.uuid);
      assert.ok(cpu, `${name}: ceilometer_cpu`);
      assert.deepEqual(cpu.labels, {
        cpu: g.uuid,
        publisher: 'ceilometer',
        type: 'cpu',
        counter: 'cpu',
        project: g.project,
        user: g.user,
        unit: 'ns',
        resource: g.uuid,
        // Nova's hostId: sha224(project id + [DEFAULT] host), never the node name.
        vm_instance: createHash('sha224')
          .update(g.project + host)
          .digest('hex'),
        resource_name: `${g.display}:${name}`,
        server_group: 'none',
      });
      assert.ok(cpu.value >= 0, `${name}: cpu time`);
      const disk = sample(f, 'ceilometer_disk_device_read_bytes', `${g.uuid}-vda`);
      assert.ok(disk, `${name}: ceilometer_disk_device_read_bytes`);
      assert.equal(disk.labels['disk'], 'read');
      assert.equal(disk.labels['type'], 'device');
      assert.equal(disk.labels['unit'], 'B');
      for (const tap of g.taps) {
        const net = sample(f, 'ceilometer_network_incoming_bytes', `${name}-${g.uuid}-${tap}`);
        assert.ok(net, `${name} ${tap}: ceilometer_network_incoming_bytes`);
        assert.equal(net.labels['network'], 'bytes');
        assert.equal(net.labels['type'], 'incoming');
        assert.equal(net.labels['resource_name'], `${g.display}:${tap}`);
      }
    }
  });

  test('values agree with virsh (read before and after the scrape)', async () => {
    const before = domstats('--balloon', '--block', '--interface', '--vcpu');
    const f = await scrape(zed);
    const afterStats = domstats('--balloon', '--block', '--interface', '--vcpu');
    const within = (what: string, v: number | undefined, lo: number, hi: number): void => {
      assert.ok(v !== undefined && v >= lo && v <= hi, `${what}: ${v} not in [${lo}, ${hi}]`);
    };
    for (const name of LAB_GUESTS.tiny) {
      const g = guests.get(name)!;
      const b = before.get(name)!;
      const a = afterStats.get(name)!;
      const n = (m: Map<string, string>, k: string): number => Number(m.get(k));
      let cpuLo = 0;
      let cpuHi = 0;
      for (let i = 0; i < n(b, 'vcpu.current'); i++) {
        cpuLo += n(b, `vcpu.${i}.time`) + n(b, `vcpu.${i}.wait`);
        cpuHi += n(a, `vcpu.${i}.time`) + n(a, `vcpu.${i}.wait`);
      }
      within(`${name} cpu`, sample(f, 'ceilometer_cpu', g.uuid)?.value, cpuLo, cpuHi);
      // The tiny guests run a balloon driver: memory.usage = (available - usable) / 1024, in MB.
      const usage = sample(f, 'ceilometer_memory_usage', g.uuid);
      assert.ok(usage, `${name}: ceilometer_memory_usage`);
      assert.equal(usage.labels['unit'], 'MB');
      assert.ok(usage.value > 0 && usage.value <= n(a, 'balloon.available') / 1024, `${name} memory usage`);
      within(
        `${name} disk read bytes`,
        sample(f, 'ceilometer_disk_device_read_bytes', `${g.uuid}-vda`)?.value,
        n(b, 'block.0.rd.bytes'),
        n(a, 'block.0.rd.bytes'),
      );
      const tap = b.get('net.0.name')!;
      within(
        `${name} network incoming bytes`,
        sample(f, 'ceilometer_network_incoming_bytes', `${name}-${g.uuid}-${tap}`)?.value,
        n(b, 'net.0.rx.bytes'),
        n(a, 'net.0.rx.bytes'),
      );
    }
  });

  test('nothing for the shut-off guest (Zed) nor for the guest without Nova metadata; no delta meters', async () => {
    const f = await scrape(zed);
    for (const name of LAB_GUESTS.shutoff)
      assert.deepEqual(familiesOf(f, guests.get(name)!.uuid), [], `${name} is shut off`);
    for (const name of LAB_GUESTS.noMetadata) {
      const uuid = virsh('domuuid', name).trim();
      assert.deepEqual(familiesOf(f, uuid), [], `${name} has no Nova metadata`);
    }
    for (const name of f.keys()) assert.doesNotMatch(name, /^ceilometer_.*delta/);
  });

  test('2025.2: flavor labels and new meters; the shut-off guest only has its metadata meters', async () => {
    const f = await scrape(epoxy);
    for (const name of NOVA_ACTIVE) {
      const g = guests.get(name)!;
      const cpu = sample(f, 'ceilometer_cpu', g.uuid);
      assert.ok(cpu, name);
      assert.equal(cpu.labels['flavor_name'], g.flavor);
      assert.ok(cpu.labels['flavor_id'], `${name}: flavor_id`);
      assert.equal(sample(f, 'ceilometer_vcpus', g.uuid)?.labels['unit'], 'vcpu');
      assert.ok(sample(f, 'ceilometer_power_state', g.uuid), `${name}: power.state`);
    }
    for (const name of LAB_GUESTS.shutoff) {
      // InstanceMetadataPollster reads only the Nova metadata, so the real agent polls these even for
      // a shut-off guest; every meter that inspects the domain skips it.
      assert.deepEqual(familiesOf(f, guests.get(name)!.uuid), [
        'ceilometer_disk_ephemeral_size',
        'ceilometer_disk_root_size',
      ]);
    }
  });
});
