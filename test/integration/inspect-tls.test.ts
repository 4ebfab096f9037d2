// SPDX-License-Identifier: Apache-2.0
// `libvirt-exporter inspect` over qemu+tls:// against a real libvirtd (issue 11: the command used to build
// its own inspector options and dropped the TLS files; the client also took libvirtd's post-handshake
// confirmation byte for the start of a reply, so no call over TLS ever answered).
//
// The lab's libvirtd listens on unix sockets only, and it must not be restarted: this test starts a
// second, private libvirtd with a TLS listener on a free loopback port, in a private mount namespace
// (unshare -m) whose /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /etc/libvirt and
// /var/log/libvirt are empty tmpfs mounts. It sees none of the lab's guests (it never touches their QEMU
// monitors): its `qemu:///system` has no domain, and its `test:///default` driver has the one fake
// domain `test`. The certificates are the test PKI of test/fixtures/libvirt/pki (server: localhost and
// 127.0.0.1). Needs root, unshare (util-linux) and the lab's libvirt packages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exporterCommand, freePort, portAccepts } from '../helpers/exporter.ts';
import { waitFor } from '../helpers/lab.ts';

const PKI = fileURLToPath(new URL('../fixtures/libvirt/pki/', import.meta.url));
const PRIVATE_DIRS = [
  '/run/libvirt',
  '/var/lib/libvirt',
  '/var/cache/libvirt',
  '/etc/libvirt',
  '/var/log/libvirt',
];

interface PrivateLibvirtd {
  readonly port: number;
  readonly child: ChildProcess;
  output(): string;
}

/** Starts a libvirtd listening for TLS on 127.0.0.1 in a private mount namespace. */
async function startTlsLibvirtd(dir: string): Promise<PrivateLibvirtd> {
  const port = await freePort();
  const conf = join(dir, 'libvirtd.conf');
  writeFileSync(
    conf,
    [
      'listen_tls = 1',
      'listen_tcp = 0',
      `tls_port = "${port}"`,
      'listen_addr = "127.0.0.1"',
      `key_file = "${PKI}serverkey.pem"`,
      `cert_file = "${PKI}servercert.pem"`,
      `ca_file = "${PKI}cacert.pem"`,
      'auth_tls = "none"',
      'log_outputs = "3:stderr"',
      '',
    ].join('\n'),
  );
  const script = [
    'set -e',
    ...PRIVATE_DIRS.map((d) => `mount -t tmpfs -o size=64m,mode=0755 tls-libvirtd '${d}'`),
    'exec libvirtd -f "$1" --listen -p /run/libvirt/libvirtd.pid',
  ].join('\n');
  // unshare execs sh, which execs libvirtd: the child's pid is libvirtd's.
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const d: PrivateLibvirtd = { port, child, output: () => out };
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the private libvirtd exited: ${out}`);
      return portAccepts(port);
    },
    30_000,
    'the private libvirtd listens for TLS',
  );
  return d;
}

/** Runs `inspect` with a configuration file; returns its exit code, stdout and stderr. */
function inspect(dir: string, libvirt: Record<string, string>, ...args: string[]) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `libvirt:\n${Object.entries(libvirt)
      .map(([k, v]) => `  ${k}: ${v}\n`)
      .join('')}`,
  );
  const cmd = exporterCommand(['inspect', `--config.file=${file}`, '--interval=0.2', ...args]);
  const r = spawnSync(cmd.command, cmd.args, { env: cmd.env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('inspect over TLS against a real libvirtd', () => {
  let dir: string;
  let libvirtd: PrivateLibvirtd;
  const files = {
    tls_ca_file: `${PKI}cacert.pem`,
    tls_cert_file: `${PKI}clientcert.pem`,
    tls_key_file: `${PKI}clientkey.pem`,
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inspect-tls-'));
    libvirtd = await startTlsLibvirtd(dir);
  });
  after(async () => {
    if (libvirtd.child.exitCode === null) {
      const exited = new Promise((r) => libvirtd.child.once('exit', r));
      libvirtd.child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('the configuration TLS files reach libvirt: test+tls lists the test driver domain', () => {
    const r = inspect(
      dir,
      { uri: `test+tls://127.0.0.1:${libvirtd.port}/default`, ...files },
      '--output=json',
    );
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { name: string; state: string; vcpus?: number }[];
    assert.deepEqual(
      rows.map((g) => [g.name, g.state]),
      [['test', 'running']],
    );
  });

  test('qemu+tls answers as a table (this private daemon has no QEMU guest)', () => {
    const r = inspect(dir, { uri: `qemu+tls://127.0.0.1:${libvirtd.port}/system`, ...files });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+STATE\s+VCPUS\s+%CPU/);
  });

  test('a CA that did not sign the server certificate is a TLS error naming the address', () => {
    const r = inspect(dir, {
      uri: `qemu+tls://127.0.0.1:${libvirtd.port}/system`,
      ...files,
      tls_ca_file: `${PKI}othercacert.pem`,
    });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(`^libvirt-exporter inspect: .*TLS failure with tls://127\\.0\\.0\\.1:${libvirtd.port}`, 'm'),
    );
    assert.equal(r.stdout, '');
  });
});
