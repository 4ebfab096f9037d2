// SPDX-License-Identifier: Apache-2.0
// A reload with a web configuration (src/server.ts reloadPlan and apply): a renewed certificate is set
// on the running server, basic auth is swapped under it, and only a socket-level change builds a new
// server, which listens on the same port beside the old one before that closes; a new server that
// cannot listen leaves the running one serving. Real sockets on 127.0.0.1; no libvirt (the inspector
// connects lazily, to a socket that does not exist; /-/healthy does not ask it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { parseCli } from '../../src/cli/flags.ts';
import { ServerKept } from '../../src/http/server-change.ts';
import { createSelfMetrics } from '../../src/http/self-metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { apply, load, reloadPlan, start, stop, type Running, type ServerContext } from '../../src/server.ts';

const MAKE_CERTS = fileURLToPath(new URL('../fixtures/web/make-certs.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'server-reload-test-'));
const file = join(dir, 'config.yaml');
const web = join(dir, 'web.yml');
const cli = parseCli([`--config.file=${file}`]);
const quiet = new Writable({
  write: (_c, _e, done) => {
    done();
  },
});
const ctx: ServerContext = { log: createLogger('error', quiet), self: createSelfMetrics(), systemd: false };
const URI = `qemu:///system?socket=${join(dir, 'no-such-socket')}`;
let port = 0;

before(async () => {
  // Two certificates of their own CAs: "first" is served at the start, "second" is the renewal.
  for (const d of ['first', 'second']) {
    execFileSync('sh', [MAKE_CERTS, join(dir, d)], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => {
        resolve(typeof a === 'object' && a ? a.port : 0);
      });
    });
  });
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Serves the certificate of `which` from tls.crt/tls.key, with these extra lines in the web file. */
function writeWeb(which: 'first' | 'second', extra = ''): void {
  copyFileSync(join(dir, which, 'server.crt'), join(dir, 'tls.crt'));
  copyFileSync(join(dir, which, 'server.key'), join(dir, 'tls.key'));
  writeFileSync(web, `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n${extra}`);
}

function writeConfig(over: { listen?: string; health?: string } = {}): void {
  const health = over.health === undefined ? '' : `  health_path: ${over.health}\n`;
  const listen = over.listen ?? `127.0.0.1:${port}`;
  writeFileSync(
    file,
    `libvirt:\n  uri: ${URI}\nweb:\n  listen_address: "${listen}"\n  config_file: ${web}\n${health}collectors:\n  events: { enabled: false }\n`,
  );
}

const fingerprintOf = (which: string): string =>
  new X509Certificate(readFileSync(join(dir, which, 'server.crt'))).fingerprint256;

/** The fingerprint of the certificate served on a new connection. */
function served(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.once('error', reject);
  });
}

/** The status of GET `path` on a new connection (the certificate is not checked: a test CA). */
function status(path: string, auth?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers =
      auth === undefined ? {} : { authorization: `Basic ${Buffer.from(auth).toString('base64')}` };
    const req = request(
      { host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false, headers },
      (res) => {
        res.resume();
        res.once('end', () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.once('error', reject);
    req.end();
  });
}

test('a renewed certificate and new basic-auth users: the same server, the new certificate served', async () => {
  writeWeb('first');
  writeConfig();
  let r: Running = await start(await load(cli), ctx);
  try {
    const first = r;
    assert.equal(await served(), fingerprintOf('first'));
    assert.equal(await status('/-/healthy'), 200);

    writeWeb('second');
    const renewed = await load(cli);
    assert.deepEqual(reloadPlan(r.loaded, renewed), {
      http: 'secure-context',
      reason: 'TLS certificate, key or settings changed',
      keepLibvirt: true,
      keepPublisher: true,
    });
    r = await apply(r, renewed, ctx);
    assert.equal(r.app, first.app, 'the same server');
    assert.equal(r.app.server.listening, true);
    assert.equal(await served(), fingerprintOf('second'), 'the new certificate from the next handshake');

    const hash = bcrypt.hashSync('secret', 4);
    writeWeb('second', `basic_auth_users:\n  prometheus: ${JSON.stringify(hash)}\n`);
    const withAuth = await load(cli);
    assert.equal(reloadPlan(r.loaded, withAuth).http, 'keep');
    r = await apply(r, withAuth, ctx);
    assert.equal(r.app, first.app, 'the same server');
    assert.equal(await status('/-/healthy'), 401, 'basic auth from the next request');
    assert.equal(await status('/-/healthy', 'prometheus:secret'), 200);
  } finally {
    await stop(r);
  }
});

test('a new health path: a new server on the same port, the old one closed', async () => {
  writeWeb('first');
  writeConfig();
  let r: Running = await start(await load(cli), ctx);
  try {
    const first = r;
    writeConfig({ health: '/health' });
    const next = await load(cli);
    assert.deepEqual(reloadPlan(r.loaded, next), {
      http: 'new-server',
      reason: 'health_path changed',
      keepLibvirt: true,
      keepPublisher: true,
    });
    r = await apply(r, next, ctx);
    assert.notEqual(r.app, first.app, 'a new server');
    assert.equal(first.app.server.listening, false, 'the old one is closed');
    assert.equal(r.inspector, first.inspector, 'the same libvirt connection');
    assert.equal((r.app.server.address() as { port: number }).port, port, 'on the same port');
    assert.equal(await status('/-/healthy'), 200);
  } finally {
    await stop(r);
  }
});

test('a new server that cannot listen: ServerKept, and the running server goes on serving', async () => {
  writeWeb('first');
  writeConfig();
  let r: Running = await start(await load(cli), ctx);
  // Another program holds the new address.
  const foreign: Server = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      resolve(s);
    });
  });
  try {
    const taken = (foreign.address() as { port: number }).port;
    writeConfig({ listen: `127.0.0.1:${taken}` });
    await assert.rejects(
      apply(r, await load(cli), ctx),
      (e: unknown) => e instanceof ServerKept && /EADDRINUSE/.test(e.message),
    );
    assert.equal(r.app.server.listening, true, 'still listening');
    assert.equal(await status('/-/healthy'), 200, 'still serving');
    // Back to the address it serves on: nothing to rebuild.
    const kept = r.app;
    writeConfig();
    r = await apply(r, await load(cli), ctx);
    assert.equal(r.app, kept);
  } finally {
    foreign.close();
    await stop(r);
  }
});
