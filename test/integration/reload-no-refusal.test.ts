// SPDX-License-Identifier: Apache-2.0
// A reload never refuses a connection: the exporter serves HTTPS (a web configuration with a TLS
// certificate from a Kubernetes-style Secret volume) while clients send back-to-back requests, on
// kept-alive and on fresh connections, and it is sent SIGHUPs, its certificate is renewed (the watcher
// reloads) and its web configuration is written and signalled at once. No request may fail, the
// renewed certificate must be served, the server is never rebuilt, and a write followed by its SIGHUP
// is reloaded once, not again by the watcher.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/lab.ts';
import {
  fingerprintOf,
  makeCert,
  secretVolume,
  servedFingerprint,
  startTlsExporter,
  swapData,
  type TlsExporter,
} from '../helpers/tls-exporter.ts';

/** Clients that send back-to-back GETs until stopped, counting answers and failures. */
class Hammer {
  ok = 0;
  readonly failures: string[] = [];
  #stopped = false;
  readonly #runs: Promise<void>[] = [];

  constructor(port: number, path: string, clients: { keepAlive: boolean }[]) {
    for (const c of clients) {
      // One socket per kept-alive client, reused by every request; none kept for the others.
      const agent = c.keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
      this.#runs.push(this.#run(port, path, agent, c.keepAlive ? 'keep-alive' : 'fresh'));
    }
  }

  async #run(port: number, path: string, agent: Agent | false, kind: string): Promise<void> {
    while (!this.#stopped) {
      try {
        const code = await get(port, path, agent);
        if (code === 200) this.ok += 1;
        else this.failures.push(`${kind}: HTTP ${code}`);
      } catch (err) {
        this.failures.push(`${kind}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    if (agent) agent.destroy();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#runs);
  }
}

function get(port: number, path: string, agent: Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent, rejectUnauthorized: false, timeout: 10_000 },
      (res) => {
        res.resume();
        res.once('end', () => {
          resolve(res.statusCode ?? 0);
        });
        res.once('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', reject);
    req.end();
  });
}

describe('reloads under load: no refused connection, no failed request', () => {
  let dir: string;
  let mount: string;
  let web: string;
  let e: TlsExporter;
  const count = (needle: string): number => e.output().split(needle).length - 1;
  const lines = (msg: string): string[] =>
    e
      .output()
      .split('\n')
      .filter((l) => l.includes(` msg="${msg}"`) || l.includes(` msg=${msg} `) || l.endsWith(` msg=${msg}`));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reload-no-refusal-'));
    mount = join(dir, 'secret');
    secretVolume(mount, 'first');
    web = join(dir, 'web.yml');
    writeFileSync(web, 'tls_server_config:\n  cert_file: secret/tls.crt\n  key_file: secret/tls.key\n');
    e = await startTlsExporter([
      `--web.config.file=${web}`,
      '--libvirt.uri=qemu+unix:///system?socket=/nonexistent',
    ]);
  });
  after(async () => {
    assert.equal(await e.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends a SIGHUP and waits for its reload to be logged. */
  const sighup = async (): Promise<void> => {
    const before = count('configuration reloaded');
    e.child.kill('SIGHUP');
    await waitFor(() => count('configuration reloaded') > before, 20_000, 'the SIGHUP reload');
  };

  test('SIGHUPs, a renewed certificate and a written web configuration while clients hammer /-/healthy', async (t) => {
    const hammer = new Hammer(e.port, '/-/healthy', [
      { keepAlive: true },
      { keepAlive: true },
      { keepAlive: false },
      { keepAlive: false },
    ]);
    try {
      await waitFor(() => hammer.ok >= 20, 20_000, 'the clients to be served');
      for (let i = 0; i < 5; i += 1) await sighup();

      // The renewal: the watcher reloads, the new certificate is served from the next handshake.
      makeCert(join(mount, '..v2'), 'second');
      swapData(mount, '..v2');
      const renewed = fingerprintOf(join(mount, '..v2', 'tls.crt'));
      await waitFor(async () => (await servedFingerprint(e.port)) === renewed, 20_000, 'the new certificate');

      // The web configuration written and signalled at once: one reload, the SIGHUP's; the watcher sees
      // the file already reloaded. A second renewal after it shows when the watcher has looked: its one
      // debounced check names the certificate only.
      const reloadsBefore = count('configuration reloaded');
      writeFileSync(
        web,
        'tls_server_config:\n  cert_file: secret/tls.crt\n  key_file: secret/tls.key\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n',
      );
      await sighup();
      makeCert(join(mount, '..v3'), 'third');
      swapData(mount, '..v3');
      const third = fingerprintOf(join(mount, '..v3', 'tls.crt'));
      await waitFor(async () => (await servedFingerprint(e.port)) === third, 20_000, 'the third certificate');
      await waitFor(() => count('configuration reloaded') >= reloadsBefore + 2, 20_000, 'the reload logged');
      for (let i = 0; i < 3; i += 1) await sighup();
      await waitFor(() => hammer.ok >= 200, 60_000, 'more requests after the reloads');

      await hammer.stop();
      t.diagnostic(`${hammer.ok} requests answered, ${hammer.failures.length} failed`);
      assert.deepEqual(hammer.failures, [], `failed requests among ${hammer.ok} answered`);
      assert.equal(count(' msg=listening '), 1, 'one server for the whole run (no rebuild)');
      const changed = lines('configuration files changed on disk; reloading');
      assert.ok(changed.length >= 2, e.output());
      assert.ok(
        changed.every((l) => !l.includes('web.yml')),
        `the watcher never reloaded the web file its SIGHUP had reloaded:\n${changed.join('\n')}`,
      );
      assert.equal(
        count('configuration reloaded') - reloadsBefore,
        5,
        'the written file once (SIGHUP), the third certificate once (watcher), three SIGHUPs',
      );
      assert.match(e.output(), /http=secure-context/);
    } finally {
      await hammer.stop();
    }
  });
});
