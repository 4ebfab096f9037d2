// SPDX-License-Identifier: Apache-2.0
// The file-watch reload: a certificate replaced under a running exporter is served without a SIGHUP,
// replaced the way the kubelet updates a mounted Secret (cert-manager renewals): a new timestamped
// directory and an atomic rename of the `..data` symlink. A broken replacement is logged and the
// running certificate kept.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import logfmt from 'logfmt';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/exporter.ts';
import { waitFor } from '../helpers/lab.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

interface Exporter {
  readonly port: number;
  output(): string;
  stop(): Promise<number | null>;
}

/** Starts the exporter and waits for its "listening" log line (its /-/healthy needs TLS here). */
async function startExporter(args: readonly string[]): Promise<Exporter> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, `--web.listen-address=127.0.0.1:${port}`, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`exporter exited with ${child.exitCode}:\n${out}`);
      return / msg=listening /.test(out);
    },
    30_000,
    'the exporter to listen',
    100,
  );
  return {
    port,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve(child.exitCode);
          return;
        }
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** A self-signed certificate for 127.0.0.1 with this common name, and its key (TEST ONLY). */
function makeCert(dir: string, cn: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ],
    { stdio: 'ignore' },
  );
}

/** The fingerprint of the certificate the server presents. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.once('error', reject);
    s.setTimeout(5000, () => {
      s.destroy(new Error('TLS handshake timed out'));
    });
  });
}

const fingerprintOf = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

/** Points `..data` at `version`, atomically, as the kubelet does. */
function swapData(mount: string, version: string): void {
  symlinkSync(version, join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
}

describe('a certificate replaced on disk is served without a signal', () => {
  let dir: string;
  let mount: string;
  let e: Exporter;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cert-reload-'));
    // A Secret volume: tls.crt -> ..data/tls.crt, ..data -> ..v1
    mount = join(dir, 'secret');
    makeCert(join(mount, '..v1'), 'first');
    swapData(mount, '..v1');
    symlinkSync('..data/tls.crt', join(mount, 'tls.crt'));
    symlinkSync('..data/tls.key', join(mount, 'tls.key'));
    const web = join(dir, 'web.yml');
    writeFileSync(web, `tls_server_config:\n  cert_file: secret/tls.crt\n  key_file: secret/tls.key\n`);
    e = await startExporter([
      `--web.config.file=${web}`,
      '--libvirt.uri=qemu+unix:///system?socket=/nonexistent',
    ]);
  });
  after(async () => {
    assert.equal(await e.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  });

  test('renewed: the new certificate is served', async () => {
    assert.equal(await servedFingerprint(e.port), fingerprintOf(join(mount, '..v1', 'tls.crt')));
    makeCert(join(mount, '..v2'), 'second');
    swapData(mount, '..v2');
    const expected = fingerprintOf(join(mount, '..v2', 'tls.crt'));
    // NOTE: a reload with a web configuration builds a new HTTP server on the same port, so for a moment
    // nothing listens (a known gap, kept in the notes): a refused connection while waiting means "not yet".
    await waitFor(
      async () => (await servedFingerprint(e.port).catch(() => undefined)) === expected,
      20_000,
      'the new certificate',
    );
    await waitFor(() => e.output().includes('configuration reloaded'), 20_000, 'the reload logged');
    const lines = e
      .output()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => logfmt.parse(l) as Record<string, string>);
    const changed = lines.find((l) => l['msg'] === 'configuration files changed on disk; reloading');
    assert.ok(changed, e.output());
    assert.match(changed['files'] ?? '', /secret\/tls\.crt/);
    assert.ok(lines.some((l) => l['msg'] === 'configuration reloaded' && l['trigger'] === 'file change'));
  });

  test('a broken replacement is logged and the running certificate kept', async () => {
    const served = await servedFingerprint(e.port);
    mkdirSync(join(mount, '..v3'));
    writeFileSync(join(mount, '..v3', 'tls.crt'), 'not a certificate\n');
    writeFileSync(join(mount, '..v3', 'tls.key'), 'not a key\n');
    swapData(mount, '..v3');
    await waitFor(() => e.output().includes('configuration reload failed'), 20_000, 'the failed reload');
    assert.equal(await servedFingerprint(e.port), served);
  });
});
