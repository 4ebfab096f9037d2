// SPDX-License-Identifier: Apache-2.0
// The real exporter process against the real lab: every guest's series, values cross-checked with
// virsh, a destroyed guest gone from the next scrape, libvirtd down answered with libvirt_up 0 in time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linesOfGoneDomain, parseExposition, type Family } from '../helpers/exposition.ts';
import { exporterCommand, startExporter, type RunningExporter } from '../helpers/exporter.ts';
import { LAB_GUESTS, domstats, lab, virsh, virshRw, waitFor } from '../helpers/lab.ts';

async function scrape(
  e: RunningExporter,
  path = '/metrics',
  headers: Record<string, string> = {},
): Promise<{ status: number; ms: number; body: string }> {
  const t0 = performance.now();
  const r = await fetch(e.url + path, { headers });
  const body = await r.text();
  return { status: r.status, ms: performance.now() - t0, body };
}

function value(f: Family | undefined, labels: Record<string, string>): number | undefined {
  return f?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('the exporter on the lab', () => {
  let e: RunningExporter;
  before(async () => {
    lab('up');
    // job is opt-in, and collect[] cannot start a disabled collector (issue 15 item 6): enable it here.
    e = await startExporter(['--log.level=warn', '--collector.job']);
  });
  after(async () => {
    assert.equal(await e.stop(), 0, 'SIGTERM ends the process cleanly');
  });

  test('every lab guest has its series, and values agree with virsh domstats', async () => {
    const { status, body } = await scrape(e);
    assert.equal(status, 200);
    const f = parseExposition(body);
    assert.equal(value(f.get('libvirt_up'), {}), 1);
    const names = virsh('list', '--all', '--name').split('\n').filter(Boolean);
    const states = f.get('libvirt_domain_info_state')!;
    assert.deepEqual(states.samples.map((s) => s.labels['domain']).sort(), names.sort());
    const v = domstats('--cpu-total', '--balloon', '--block', '--interface', '--vcpu');
    for (const name of [...LAB_GUESTS.running, ...LAB_GUESTS.paused]) {
      const d = v.get(name)!;
      const cpu = value(f.get('libvirt_domain_info_cpu_time_seconds_total'), { domain: name })!;
      assert.ok(Math.abs(cpu - Number(d.get('cpu.time')) / 1e9) < 2, `${name} cpu`);
      assert.equal(
        value(f.get('libvirt_domain_memory_stats_current_balloon_bytes'), { domain: name }),
        Number(d.get('balloon.current')) * 1024,
      );
      const blocks = Number(d.get('block.count'));
      for (let i = 0; i < blocks; i++) {
        const dev = d.get(`block.${i}.name`)!;
        if (!d.has(`block.${i}.capacity`)) continue;
        assert.equal(
          value(f.get('libvirt_domain_block_stats_capacity_bytes'), { domain: name, target_device: dev }),
          Number(d.get(`block.${i}.capacity`)),
          `${name} ${dev}`,
        );
        const rd = value(f.get('libvirt_domain_block_stats_read_requests_total'), {
          domain: name,
          target_device: dev,
        })!;
        assert.ok(Math.abs(rd - Number(d.get(`block.${i}.rd.reqs`))) <= 200, `${name} ${dev} rd.reqs`);
      }
      const nets = Number(d.get('net.count'));
      for (let i = 0; i < nets; i++) {
        const dev = d.get(`net.${i}.name`)!;
        const rx = value(f.get('libvirt_domain_interface_stats_receive_packets_total'), {
          domain: name,
          target_device: dev,
        })!;
        assert.ok(Math.abs(rx - Number(d.get(`net.${i}.rx.pkts`))) <= 20, `${name} ${dev} rx.pkts`);
      }
      const vcpus = Number(d.get('vcpu.current'));
      assert.equal(value(f.get('libvirt_domain_vcpu_current'), { domain: name }), vcpus);
    }
    for (const name of LAB_GUESTS.tiny) {
      assert.ok(
        (value(f.get('libvirt_domain_memory_stats_usable_bytes'), { domain: name }) ?? 0) > 0,
        `${name} guest memory`,
      );
    }
    // Only the lab's guests are judged: the host may hold others (a developer's, another test's).
    const labGuests = new Set<string>(Object.values(LAB_GUESTS).flat());
    const os = f.get('libvirt_domain_openstack_info')!;
    assert.deepEqual(
      os.samples
        .map((s) => s.labels['domain'])
        .filter((d) => d !== undefined && labGuests.has(d))
        .sort(),
      [...LAB_GUESTS.nova11, ...LAB_GUESTS.nova10].sort(),
      'Nova identity for every guest with metadata (1.1 and 1.0), none for the others',
    );
    const host = f.get('libvirt_host_cpus');
    assert.equal(value(host, {}), Number(/CPU\(s\):\s+(\d+)/.exec(virsh('nodeinfo'))?.[1]));
  });

  test('every inovex 2.5 metric is served on the real lab with its name, type and labels', async () => {
    const all = [
      'domain',
      'cpu',
      'vcpu',
      'memory',
      'block',
      'interface',
      'openstack',
      'host',
      'storage_pool',
      'job',
    ];
    const { body } = await scrape(e, `/metrics?${all.map((c) => `collect[]=${c}`).join('&')}`);
    const f = parseExposition(body);
    const tsv = readFileSync(new URL('../fixtures/inovex/inovex-2.5-metrics.tsv', import.meta.url), 'utf8');
    for (const line of tsv.split('\n').slice(1).filter(Boolean)) {
      const [name, type, labels] = line.split('\t') as [string, string, string];
      const fam = f.get(name);
      assert.ok(fam && fam.samples.length > 0, `${name} is served with samples`);
      assert.equal(fam.type, type.toLowerCase(), `${name} type`);
      const want = labels === '(none)' ? [] : labels.split(',').sort();
      for (const sample of fam.samples)
        assert.deepEqual(Object.keys(sample.labels).sort(), want, `${name} labels`);
    }
  });

  test('a guest destroyed between two scrapes is gone from the second', async () => {
    const name = 'it-transient-1';
    const file = `/tmp/${name}.xml`;
    writeFileSync(
      file,
      `<domain type='qemu'><name>${name}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><memballoon model='none'/></devices></domain>`,
    );
    virshRw('create', file);
    try {
      const first = parseExposition((await scrape(e)).body);
      assert.equal(value(first.get('libvirt_domain_info_state'), { domain: name }), 1);
      assert.ok(
        value(first.get('libvirt_domain_info_cpu_time_seconds_total'), { domain: name }) !== undefined,
      );
    } finally {
      virshRw('destroy', name);
    }
    const second = await scrape(e);
    assert.equal(second.status, 200);
    assert.deepEqual(
      linesOfGoneDomain(second.body, name),
      [],
      'no series of the destroyed guest but its event counters',
    );
  });

  test('the domain collector alone: sizes from the live XML, memory kept current by balloon-change events', async () => {
    const guest = LAB_GUESTS.tiny[0];
    const usedKiB = (): number =>
      Number(/Used memory:\s+(\d+) KiB/.exec(virsh('dominfo', guest))?.[1] ?? Number.NaN);
    const served = async (): Promise<number | undefined> => {
      const f = parseExposition((await scrape(e, '/metrics?collect[]=domain')).body);
      return value(f.get('libvirt_domain_info_memory_usage_bytes'), { domain: guest });
    };
    const domainOnly = parseExposition((await scrape(e, '/metrics?collect[]=domain')).body);
    for (const n of LAB_GUESTS.running) {
      const info = virsh('dominfo', n);
      assert.equal(
        value(domainOnly.get('libvirt_domain_info_virtual_cpus'), { domain: n }),
        Number(/CPU\(s\):\s+(\d+)/.exec(info)?.[1]),
        `${n} vCPUs as virsh dominfo`,
      );
      assert.equal(
        value(domainOnly.get('libvirt_domain_info_maximum_memory_bytes'), { domain: n }),
        Number(/Max memory:\s+(\d+) KiB/.exec(info)?.[1]) * 1024,
        `${n} maximum memory as virsh dominfo`,
      );
    }
    const original = usedKiB();
    assert.equal(await served(), original * 1024);
    virshRw('setmem', guest, String(original - 16384), '--live');
    try {
      // The balloon moves over a few hundred ms; libvirt sends an event at each step.
      await waitFor(
        async () => usedKiB() === original - 16384 && (await served()) === usedKiB() * 1024,
        15_000,
        'the served memory to follow the balloon',
      );
    } finally {
      virshRw('setmem', guest, String(original), '--live');
    }
    await waitFor(async () => (await served()) === original * 1024, 15_000, 'the memory to come back');
  });

  test('landing page, health and readiness', async () => {
    const landing = await scrape(e, '/');
    assert.equal(landing.status, 200);
    assert.match(landing.body, /qemu:\/\/\/system/);
    assert.match(landing.body, /<td>vcpu<\/td><td>enabled<\/td>/);
    assert.equal((await scrape(e, '/-/healthy')).status, 200);
    assert.equal((await scrape(e, '/-/ready')).status, 200);
  });

  test('the deadline comes from X-Prometheus-Scrape-Timeout-Seconds', async () => {
    const r = await scrape(e, '/metrics', { 'X-Prometheus-Scrape-Timeout-Seconds': '2' });
    assert.equal(r.status, 200);
    assert.ok(r.ms < 2000, `answered in ${r.ms} ms`);
  });

  test('with libvirtd down, a scrape answers 200 with libvirt_up 0 within its deadline, then recovers', async () => {
    lab('libvirtd-kill');
    try {
      const r = await scrape(e, '/metrics', { 'X-Prometheus-Scrape-Timeout-Seconds': '5' });
      assert.equal(r.status, 200);
      assert.ok(r.ms < 5000, `answered in ${r.ms} ms`);
      const f = parseExposition(r.body);
      assert.equal(value(f.get('libvirt_up'), {}), 0);
      assert.equal(f.get('libvirt_domain_info_state'), undefined, 'no stale domain series');
      assert.equal(value(f.get('libvirt_scrape_collector_success'), { collector: 'cpu' }), 0);
    } finally {
      lab('libvirtd-start');
    }
    const back = parseExposition((await scrape(e)).body);
    assert.equal(value(back.get('libvirt_up'), {}), 1, 'back within one scrape');
    assert.ok((back.get('libvirt_domain_info_state')?.samples.length ?? 0) >= 6);
    assert.equal(e.child.exitCode, null, 'the process never restarted');
  });

  test('inspect prints the guests as a table and as JSON', () => {
    const inspect = (...args: string[]): string => {
      const cmd = exporterCommand(['inspect', ...args]);
      return execFileSync(cmd.command, cmd.args, { env: cmd.env, encoding: 'utf8' });
    };
    const json = JSON.parse(inspect('--output=json', '--interval=1')) as {
      name: string;
      state: string;
      cpuPercent?: number;
    }[];
    const byName = new Map(json.map((g) => [g.name, g]));
    for (const n of LAB_GUESTS.running) assert.equal(byName.get(n)?.state, 'running', n);
    assert.equal(byName.get('instance-00000005')?.state, 'shutoff');
    assert.ok((byName.get('instance-00000001')?.cpuPercent ?? -1) >= 0);
    const table = inspect('--interval=0.5');
    assert.match(table, /^NAME\s+STATE\s+VCPUS\s+%CPU/);
    assert.match(table, /instance-00000002\s+running\s+2/);
  });
});

describe('configuration reload on SIGHUP', () => {
  test('a valid file replaces the configuration, an invalid one is logged and the running one kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exporter-reload-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'collectors:\n  cpu: { enabled: true }\n');
    const e = await startExporter([`--config.file=${file}`]);
    try {
      assert.match((await scrape(e)).body, /^libvirt_domain_info_cpu_time_seconds_total/m);
      writeFileSync(file, 'collectors:\n  cpu: { enabled: false }\n');
      e.child.kill('SIGHUP');
      await waitFor(
        async () => !/^libvirt_domain_info_cpu_time_seconds_total/m.test((await scrape(e)).body),
        10_000,
        'cpu collector off',
      );
      writeFileSync(file, 'collectors:\n  cpus: { enabled: true }\n');
      e.child.kill('SIGHUP');
      await waitFor(
        () => e.output().includes('configuration reload failed'),
        10_000,
        'reload failure logged',
      );
      assert.match(e.output(), /collectors\.cpus: unknown key/);
      const r = await scrape(e);
      assert.equal(r.status, 200, 'still serving');
      assert.doesNotMatch(
        r.body,
        /^libvirt_domain_info_cpu_time_seconds_total/m,
        'with the configuration it had',
      );
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });
});
