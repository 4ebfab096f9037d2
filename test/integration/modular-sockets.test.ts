// SPDX-License-Identifier: Apache-2.0
// The default URI on a host with libvirt's modular daemons: /run/libvirt holds virtqemud-sock-ro and
// virtqemud-sock only (no libvirt-sock*). Debian 12 ships no virtqemud, so the lab's real libvirtd is put
// behind those names: the exporter runs in a private mount namespace (unshare -m) whose /run/libvirt is a
// tmpfs holding only the two modular names, each bind-mounted onto the lab's real socket. The shared lab
// and the host's /run/libvirt are not touched (the mounts exist only inside that namespace).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExposition } from '../helpers/exposition.ts';
import { freePort, whenListening, type ExporterProcess } from '../helpers/exporter.ts';
import { LAB_GUESTS, lab } from '../helpers/lab.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const ALL_LAB_GUESTS = [...LAB_GUESTS.running, ...LAB_GUESTS.paused, ...LAB_GUESTS.shutoff];

interface Namespaced extends ExporterProcess {
  readonly url: string;
}

/** Starts the exporter with `args` in a private mount namespace laid out as a modular-daemon host. */
async function startModular(dir: string, args: readonly string[]): Promise<Namespaced> {
  const port = await freePort();
  const real = join(dir, 'real');
  const script = [
    'set -e',
    `mkdir -p '${real}'`,
    // The lab's socket directory, seen from elsewhere before /run/libvirt is covered.
    `mount --bind /run/libvirt '${real}'`,
    'mount -t tmpfs -o size=1m,mode=0755 modular-libvirt /run/libvirt',
    'touch /run/libvirt/virtqemud-sock-ro /run/libvirt/virtqemud-sock',
    `mount --bind '${real}/libvirt-sock-ro' /run/libvirt/virtqemud-sock-ro`,
    `mount --bind '${real}/libvirt-sock' /run/libvirt/virtqemud-sock`,
    'echo "run-libvirt: $(ls -A /var/run/libvirt | tr "\\n" " ")" >&2',
    'exec "$@"',
  ].join('\n');
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
      'sh',
      process.execPath,
      '--import',
      'tsx',
      MAIN,
      `--web.listen-address=127.0.0.1:${port}`,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = `http://127.0.0.1:${port}`;
  return { url, ...(await whenListening(child, url, 30_000)) };
}

async function metrics(url: string): Promise<ReturnType<typeof parseExposition>> {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  return parseExposition(await r.text());
}

describe('modular libvirt daemons: the default URI finds virtqemud-sock-ro', () => {
  let dir: string;
  before(() => {
    lab('up');
    dir = mkdtempSync(join(tmpdir(), 'modular-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('qemu:///system (no flag) serves every lab guest through virtqemud-sock-ro', async () => {
    const e = await startModular(dir, []);
    try {
      // The namespace has the modular names only.
      assert.match(e.output(), /run-libvirt: virtqemud-sock virtqemud-sock-ro \n/);
      const m = await metrics(e.url);
      assert.equal(m.get('libvirt_up')?.samples[0]?.value, 1, e.output());
      const states = new Set(m.get('libvirt_domain_info_state')?.samples.map((s) => s.labels['domain']));
      for (const g of ALL_LAB_GUESTS) assert.ok(states.has(g), `${g} is served`);
      const cpu = new Set(
        m.get('libvirt_domain_info_cpu_time_seconds_total')?.samples.map((s) => s.labels['domain']),
      );
      for (const g of LAB_GUESTS.running) assert.ok(cpu.has(g), `${g} has its CPU time`);
      assert.equal((await fetch(`${e.url}/-/ready`)).status, 200);
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });

  test('read-write (libvirt.read_only: false) uses virtqemud-sock', async () => {
    const config = join(dir, 'rw.yaml');
    writeFileSync(config, 'libvirt:\n  read_only: false\n');
    const e = await startModular(dir, [`--config.file=${config}`]);
    try {
      const m = await metrics(e.url);
      assert.equal(m.get('libvirt_up')?.samples[0]?.value, 1, e.output());
      const states = new Set(m.get('libvirt_domain_info_state')?.samples.map((s) => s.labels['domain']));
      for (const g of ALL_LAB_GUESTS) assert.ok(states.has(g), `${g} is served`);
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });

  test('control: the monolithic socket is really absent in that namespace', async () => {
    const e = await startModular(dir, ['--libvirt.uri=/var/run/libvirt/libvirt-sock-ro']);
    try {
      const m = await metrics(e.url);
      assert.equal(m.get('libvirt_up')?.samples[0]?.value, 0);
      assert.match(e.output(), /libvirt-sock-ro does not exist/);
    } finally {
      assert.equal(await e.stop(), 0);
    }
  });
});
