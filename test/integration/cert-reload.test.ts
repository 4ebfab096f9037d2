// SPDX-License-Identifier: Apache-2.0
// The file-watch reload: a certificate replaced under a running exporter is served without a SIGHUP,
// replaced the way the kubelet updates a mounted Secret (cert-manager renewals): a new timestamped
// directory and an atomic rename of the `..data` symlink. A broken replacement is logged and the
// running certificate kept.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import logfmt from 'logfmt';
import { waitFor } from '../helpers/lab.ts';
import {
  fingerprintOf,
  secretVolume,
  servedFingerprint,
  startTlsExporter,
  swapData,
  makeCert,
  type TlsExporter,
} from '../helpers/tls-exporter.ts';

describe('a certificate replaced on disk is served without a signal', () => {
  let dir: string;
  let mount: string;
  let e: TlsExporter;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cert-reload-'));
    // A Secret volume: tls.crt -> ..data/tls.crt, ..data -> ..v1
    mount = join(dir, 'secret');
    secretVolume(mount, 'first');
    const web = join(dir, 'web.yml');
    writeFileSync(web, `tls_server_config:\n  cert_file: secret/tls.crt\n  key_file: secret/tls.key\n`);
    e = await startTlsExporter([
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
    // A renewal is set on the running server (no new socket): every connection meanwhile must succeed.
    await waitFor(async () => (await servedFingerprint(e.port)) === expected, 20_000, 'the new certificate');
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
