// SPDX-License-Identifier: Apache-2.0
// inovex's documented command lines start this exporter unchanged and serve the same series as the
// default; the exporter-toolkit conventions (logfmt logs, repeatable listen addresses, metrics at /,
// --web.disable-exporter-metrics) on the real process against the lab.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import logfmt from 'logfmt';
import { parseExposition } from '../helpers/exposition.ts';
import { freePort, whenListening, type ExporterProcess } from '../helpers/exporter.ts';
import { LAB_GUESTS, lab } from '../helpers/lab.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const ALL_LAB_GUESTS = new Set<string>([...LAB_GUESTS.running, ...LAB_GUESTS.paused, ...LAB_GUESTS.shutoff]);

/** Runs the exporter with exactly `args` and waits until `url`/-/healthy answers. */
async function run(args: readonly string[], url: string): Promise<ExporterProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return whenListening(child, url, 30_000);
}

/**
 * The series a scrape serves, as `name{labels}` without values: the lab's guests' series and the
 * host-wide ones (other guests and storage pools of a shared host may come and go between scrapes).
 */
function seriesOf(body: string, skip: ReadonlySet<string> = new Set()): Set<string> {
  const out = new Set<string>();
  for (const [name, f] of parseExposition(body)) {
    if (/^(process_|nodejs_)/.test(name)) continue;
    for (const s of f.samples) {
      const domain = s.labels['domain'];
      if (domain !== undefined && (!ALL_LAB_GUESTS.has(domain) || skip.has(domain))) continue;
      if (s.labels['pool'] !== undefined || s.labels['storage_pool'] !== undefined) continue;
      const labels = Object.entries(s.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',');
      out.add(`${name}{${labels}}`);
    }
  }
  return out;
}

/** The guests a scrape reports as timed out (their stats are partial, by design). */
function timedOut(body: string): Set<string> {
  const f = parseExposition(body).get('libvirt_domain_timed_out');
  return new Set(f?.samples.filter((s) => s.value === 1).map((s) => s.labels['domain'] ?? '') ?? []);
}

/** Every line of the output parsed as logfmt (throws on a line that is not). */
function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const r = logfmt.parse(l) as Record<string, unknown>;
      assert.ok(
        typeof r['time'] === 'string' && typeof r['level'] === 'string' && 'msg' in r,
        `logfmt: ${l}`,
      );
      return r;
    });
}

describe("inovex's command lines", () => {
  before(() => {
    lab('up');
  });

  // From inovex 2.5: the README (its flags with their defaults), contrib/prometheus-libvirt-exporter.service
  // and contrib/prometheus-libvirt-exporter.yml (the DaemonSet). Their fixed port :9177 is replaced by a
  // free loopback port, in the same spelling.
  const LINES: Record<string, (addr: string) => string[]> = {
    default: (a) => [`--web.listen-address=${a}`],
    'README flags': (a) => [
      '--libvirt.uri=/var/run/libvirt/libvirt-sock-ro',
      '--libvirt.driver=qemu:///system',
      '--exporter.timeout=3s',
      '--exporter.max-concurrent-collects=4',
      '--web.telemetry-path=/metrics',
      '--web.health-path=/health',
      `--web.listen-address=${a}`,
    ],
    'systemd unit': (a) => ['--web.listen-address', a],
    DaemonSet: (a) => ['--web.health-path=/health', `--web.listen-address=${a}`],
  };
  const procs = new Map<string, { proc: ExporterProcess; url: string }>();

  before(async () => {
    for (const [name, line] of Object.entries(LINES)) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      procs.set(name, { proc: await run(line(`127.0.0.1:${port}`), url), url });
    }
  });
  after(async () => {
    for (const { proc } of procs.values()) assert.equal(await proc.stop(), 0);
  });

  test('each starts and serves the same series as the default', async () => {
    // One scrape after the other (2 cores): a guest that a busy machine makes time out in one of them
    // is left out of the comparison (its stats are partial by design), and a difference is scraped again.
    let differences: Record<string, unknown> = {};
    for (let round = 0; round < 3; round++) {
      const bodies = new Map<string, string>();
      for (const [name, { url }] of procs) {
        const r = await fetch(`${url}/metrics`);
        assert.equal(r.status, 200, name);
        bodies.set(name, await r.text());
      }
      const all = seriesOf(bodies.get('default') ?? '');
      for (const g of ALL_LAB_GUESTS) {
        assert.ok(
          [...all].some((s) => s.startsWith('libvirt_domain_info_state{') && s.includes(`domain="${g}"`)),
          `${g} is served`,
        );
      }
      const skip = new Set([...bodies.values()].flatMap((b) => [...timedOut(b)]));
      const reference = seriesOf(bodies.get('default') ?? '', skip);
      assert.ok(reference.size > 100, `the default serves the lab's series (${reference.size})`);
      differences = {};
      for (const [name, body] of bodies) {
        const series = seriesOf(body, skip);
        const missing = [...reference].filter((s) => !series.has(s));
        const extra = [...series].filter((s) => !reference.has(s));
        if (missing.length > 0 || extra.length > 0) differences[name] = { round, missing, extra };
      }
      if (Object.keys(differences).length === 0) break;
    }
    assert.deepEqual(differences, {});
  });

  test("--web.health-path answers as inovex's: 200 while libvirt answers", async () => {
    for (const name of ['README flags', 'DaemonSet']) {
      const r = await fetch(`${procs.get(name)?.url ?? ''}/health`);
      assert.equal(r.status, 200, name);
    }
    assert.equal((await fetch(`${procs.get('default')?.url ?? ''}/health`)).status, 404);
  });

  test('logs are logfmt; a flag whose meaning differs warns in one line, the others say nothing', () => {
    for (const [name, { proc }] of procs) {
      const lines = logLines(proc.output());
      assert.ok(
        lines.some((l) => l['msg'] === 'listening' && l['level'] === 'info'),
        `${name}: a listening line`,
      );
      const warnings = lines.filter((l) => l['level'] === 'warn').map((l) => String(l['msg']));
      if (name === 'README flags') {
        assert.equal(warnings.length, 2, warnings.join('\n'));
        assert.match(warnings[0] ?? '', /^--exporter\.timeout=3s sets libvirt\.shard_timeout/);
        assert.match(
          warnings[1] ?? '',
          /^--exporter\.max-concurrent-collects=4 sets libvirt\.stats_shards=4/,
        );
      } else assert.deepEqual(warnings, [], name);
    }
  });
});

describe('exporter-toolkit conventions', () => {
  test('two --web.listen-address, metrics at / without the landing page, no exporter metrics', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const proc = await run(
      [
        `--web.listen-address=127.0.0.1:${p1}`,
        '--web.listen-address',
        `127.0.0.1:${p2}`,
        '--web.telemetry-path=/',
        '--web.disable-exporter-metrics',
        '--log.format=json',
      ],
      `http://127.0.0.1:${p1}`,
    );
    try {
      for (const port of [p1, p2]) {
        const r = await fetch(`http://127.0.0.1:${port}/`);
        assert.equal(r.status, 200);
        assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
        const m = parseExposition(await r.text());
        assert.equal(m.get('libvirt_up')?.samples[0]?.value, 1, `port ${port}`);
        assert.ok(m.has('libvirt_exporter_build_info'));
        assert.ok(![...m.keys()].some((n) => /^(process_|nodejs_|libvirt_exporter_scrapes_)/.test(n)));
        assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
      }
      // --log.format=json: JSON lines.
      const listening = proc
        .output()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['msg'] === 'listening');
      assert.equal(listening?.['address'], `127.0.0.1:${p1},127.0.0.1:${p2}`);
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });
});

describe('--web.systemd-socket', () => {
  test('serves on the socket systemd passes (fd 3, LISTEN_FDS/LISTEN_PID), and stops cleanly', async () => {
    const port = await freePort();
    // What systemd does for a socket unit, in a few lines: listen, put the socket on fd 3, set
    // LISTEN_FDS and LISTEN_PID to the pid that then execs the service.
    const activate = [
      'import os, socket, sys',
      's = socket.socket()',
      `s.bind(("127.0.0.1", ${port}))`,
      's.listen(16)',
      'if s.fileno() != 3: os.dup2(s.fileno(), 3)',
      'os.set_inheritable(3, True)',
      'os.environ["LISTEN_FDS"] = "1"',
      'os.environ["LISTEN_PID"] = str(os.getpid())',
      'os.execv(sys.argv[1], sys.argv[1:])',
    ].join('\n');
    const child = spawn(
      'python3',
      [
        '-c',
        activate,
        process.execPath,
        '--import',
        'tsx',
        MAIN,
        '--web.systemd-socket',
        '--libvirt.uri=qemu+unix:///system?socket=/nonexistent',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 30_000;
      let status = 0;
      while (status !== 200) {
        assert.equal(child.exitCode, null, out);
        assert.ok(Date.now() < deadline, `no answer on the systemd socket:\n${out}`);
        status = await fetch(`http://127.0.0.1:${port}/-/healthy`).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      const m = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      assert.equal(m.get('libvirt_up')?.samples[0]?.value, 0);
      assert.match(out, / msg=listening .*address="systemd sockets"/);
    } finally {
      const code = await new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }
      });
      assert.equal(code, 0, out);
    }
  });
});
