// SPDX-License-Identifier: Apache-2.0
/**
 * The web configuration file on the real exporter process, with real clients (curl and node:https)
 * and certificates made at test time by openssl (test/fixtures/web/make-certs.sh): TLS, a wrong CA,
 * mutual TLS, basic auth, response headers, and bad files stopping the process before it listens.
 * libvirt is deliberately unreachable: /metrics still answers, with libvirt_up 0.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, loggedListening, whenListening } from '../helpers/exporter.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/web', import.meta.url));
const NO_LIBVIRT = '--libvirt.uri=qemu+unix:///system?socket=/nonexistent';
/** TEST ONLY password of every fixture user (see the fixtures). */
const PASSWORD = 'test-only-password';
const HASH_RE = /\$2[aby]\$\d\d\$/;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'web-security-'));
  execFileSync('sh', [join(FIXTURES, 'make-certs.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.yml')))
    copyFileSync(join(FIXTURES, f), join(dir, f));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Exporter {
  readonly port: number;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts src/main.ts with a web configuration file and waits for its "listening" log line (a TLS
 * server does not answer the plain-HTTP health check).
 */
async function startExporter(webConfig: string): Promise<Exporter> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.config.file=${join(dir, webConfig)}`,
      NO_LIBVIRT,
      '--log.format=json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { port, ...(await whenListening(child, loggedListening, 20_000)) };
}

/** Runs the exporter to completion (a configuration it must refuse). */
function runExporter(
  args: readonly string[],
  port?: number,
): Promise<{ code: number | null; output: string }> {
  const listen = port === undefined ? [] : [`--web.listen-address=127.0.0.1:${port}`];
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, ...listen, NO_LIBVIRT, '--log.format=json', ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, output: out });
    });
  });
}

interface CurlResult {
  /** curl's exit code: 0, or for example 35 (handshake), 56 (reset), 60 (untrusted certificate). */
  readonly exit: number;
  readonly status: number;
  readonly httpVersion: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** curl against https://localhost:<port><path> (localhost pinned to 127.0.0.1). */
function curl(port: number, path: string, args: readonly string[]): Promise<CurlResult> {
  const marker = '\n@@curl@@';
  const argv = [
    '-sS',
    '--max-time',
    '10',
    '--resolve',
    `localhost:${port}:127.0.0.1`,
    '-D',
    '-',
    '-w',
    `${marker}%{http_code} %{http_version}`,
    ...args,
    `https://localhost:${port}${path}`,
  ];
  return new Promise((resolve) => {
    execFile('curl', argv, { encoding: 'utf8' }, (err, stdout) => {
      const exit = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      const [response = '', tail = ''] = stdout.split(marker);
      const [code = '0', httpVersion = ''] = tail.split(' ');
      const split = response.indexOf('\r\n\r\n');
      const headers: Record<string, string> = {};
      for (const line of response.slice(0, Math.max(split, 0)).split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({
        exit,
        status: Number(code),
        httpVersion,
        headers,
        body: split < 0 ? '' : response.slice(split + 4),
      });
    });
  });
}

/** node:https GET; resolves with the status and body, or rejects with the TLS/socket error. */
function httpsGet(
  port: number,
  path: string,
  opts: { ca: string; cert?: string; key?: string; auth?: string },
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const pem = (f: string | undefined): Buffer | undefined =>
    f === undefined ? undefined : readFileSync(join(dir, f));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port,
        path,
        agent: false,
        timeout: 10_000,
        ca: pem(opts.ca),
        ...(opts.cert !== undefined ? { cert: pem(opts.cert), key: pem(opts.key) } : {}),
        ...(opts.auth !== undefined ? { auth: opts.auth } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** True if something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * Issue 15 item 14: a refusal counts only if the exporter listens and it was the exporter that refused.
 * curl exits 7 (could not connect) or 28 (timeout) when nothing listens or nothing answers; a TLS
 * refusal is 35 (handshake), 56 (connection reset after it) or 16/58/60 (certificate problems).
 */
async function assertRefusedByServer(port: number, r: CurlResult): Promise<void> {
  assert.ok(await listening(port), 'the exporter listens (a refusal by nobody proves nothing)');
  assert.ok(![0, 6, 7, 28].includes(r.exit), `curl exit ${r.exit}: not a refusal by the server`);
  assert.equal(r.status, 0);
}

/** The same for node:https: the request failed, and not because nothing was listening. */
async function assertNodeRefusedByServer(port: number, p: Promise<unknown>): Promise<void> {
  assert.ok(await listening(port), 'the exporter listens');
  await assert.rejects(p, (err: NodeJS.ErrnoException) => {
    assert.ok(!['ECONNREFUSED', 'EHOSTUNREACH'].includes(err.code ?? ''), `no server: ${String(err.code)}`);
    assert.notEqual(err.message, 'timeout', 'the server did not answer at all');
    return true;
  });
}

/** Nothing secret in what the process printed or served. */
function assertNoSecrets(text: string): void {
  assert.doesNotMatch(text, HASH_RE, 'a bcrypt hash leaked');
  assert.ok(!text.includes(PASSWORD), 'a password leaked');
  assert.doesNotMatch(text, /PRIVATE KEY/, 'a private key leaked');
  for (const line of readFileSync(join(dir, 'server.key'), 'utf8').split('\n')) {
    if (line.length > 16 && !line.startsWith('-----')) assert.ok(!text.includes(line), 'key material leaked');
  }
}

describe('a node_exporter web configuration, unchanged: TLS and basic auth', () => {
  let e: Exporter;
  before(async () => {
    e = await startExporter('node_exporter.good.yml');
  });
  after(async () => {
    assert.equal(await e.stop(), 0);
  });

  test('curl without credentials: 401 with WWW-Authenticate: Basic', async () => {
    const r = await curl(e.port, '/metrics', ['--cacert', join(dir, 'ca.crt')]);
    assert.equal(r.exit, 0);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Basic');
  });

  test('curl with a wrong password or an unknown user: 401', async () => {
    for (const user of ['prometheus:wrong', `nobody:${PASSWORD}`, 'prometheus:']) {
      const r = await curl(e.port, '/metrics', ['--cacert', join(dir, 'ca.crt'), '-u', user]);
      assert.equal(r.status, 401, user);
    }
  });

  test('curl with the right password: 200 over HTTP/2, and over HTTP/1.1', async () => {
    const r = await curl(e.port, '/metrics', [
      '--cacert',
      join(dir, 'ca.crt'),
      '-u',
      `prometheus:${PASSWORD}`,
    ]);
    assert.equal(r.status, 200);
    assert.equal(r.httpVersion, '2');
    assert.match(r.body, /^libvirt_up 0$/m);
    const h1 = await curl(e.port, '/metrics', [
      '--http1.1',
      '--cacert',
      join(dir, 'ca.crt'),
      '-u',
      `prometheus:${PASSWORD}`,
    ]);
    assert.equal(h1.status, 200);
    assert.equal(h1.httpVersion, '1.1');
  });

  test('node:https with the right CA and password: 200; the landing page shows no hash', async () => {
    const r = await httpsGet(e.port, '/metrics', { ca: 'ca.crt', auth: `prometheus:${PASSWORD}` });
    assert.equal(r.status, 200);
    assert.match(r.body, /^libvirt_up 0$/m);
    const landing = await httpsGet(e.port, '/', { ca: 'ca.crt', auth: `prometheus:${PASSWORD}` });
    assert.equal(landing.status, 200);
    assertNoSecrets(landing.body);
  });

  test('a client trusting another CA refuses the server (curl exit 60, node UNABLE_TO_VERIFY_LEAF_SIGNATURE)', async () => {
    const r = await curl(e.port, '/metrics', [
      '--cacert',
      join(dir, 'other-ca.crt'),
      '-u',
      `prometheus:${PASSWORD}`,
    ]);
    assert.equal(r.exit, 60);
    assert.equal(r.status, 0);
    await assert.rejects(
      httpsGet(e.port, '/metrics', { ca: 'other-ca.crt', auth: `prometheus:${PASSWORD}` }),
      {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      },
    );
  });

  test('plain HTTP on the TLS port gets no metrics', async () => {
    assert.ok(await listening(e.port), 'the exporter listens');
    const body = await fetch(`http://127.0.0.1:${e.port}/metrics`).then(
      async (r) => `${r.status} ${await r.text()}`,
      (err: unknown) => `${String(err)} ${String((err as { cause?: { code?: string } }).cause?.code)}`,
    );
    assert.doesNotMatch(body, /libvirt_up/);
    assert.doesNotMatch(body, /ECONNREFUSED/, 'refused by the server, not by the absence of one');
  });

  test('the logs hold no hash, password or key', () => {
    assert.match(e.output(), /"msg":"listening"/);
    assertNoSecrets(e.output());
  });
});

describe('mutual TLS: RequireAndVerifyClientCert with client_allowed_sans', () => {
  let e: Exporter;
  before(async () => {
    e = await startExporter('mtls.good.yml');
  });
  after(async () => {
    assert.equal(await e.stop(), 0);
  });

  test('a client without a certificate is refused', async () => {
    const r = await curl(e.port, '/metrics', ['--cacert', join(dir, 'ca.crt')]);
    await assertRefusedByServer(e.port, r);
    await assertNodeRefusedByServer(e.port, httpsGet(e.port, '/metrics', { ca: 'ca.crt' }));
  });

  test('a client certificate from the CA with an allowed SAN: 200 (curl and node:https)', async () => {
    const r = await curl(e.port, '/metrics', [
      '--cacert',
      join(dir, 'ca.crt'),
      '--cert',
      join(dir, 'client.crt'),
      '--key',
      join(dir, 'client.key'),
    ]);
    assert.equal(r.status, 200);
    assert.match(r.body, /^libvirt_up 0$/m);
    const n = await httpsGet(e.port, '/metrics', { ca: 'ca.crt', cert: 'client.crt', key: 'client.key' });
    assert.equal(n.status, 200);
  });

  test('a client certificate from another CA is refused', async () => {
    const r = await curl(e.port, '/metrics', [
      '--cacert',
      join(dir, 'ca.crt'),
      '--cert',
      join(dir, 'other-client.crt'),
      '--key',
      join(dir, 'other-client.key'),
    ]);
    await assertRefusedByServer(e.port, r);
    await assertNodeRefusedByServer(
      e.port,
      httpsGet(e.port, '/metrics', { ca: 'ca.crt', cert: 'other-client.crt', key: 'other-client.key' }),
    );
  });

  test('a client certificate from the CA without an allowed SAN is refused', async () => {
    const r = await curl(e.port, '/metrics', [
      '--cacert',
      join(dir, 'ca.crt'),
      '--cert',
      join(dir, 'wrong-san-client.crt'),
      '--key',
      join(dir, 'wrong-san-client.key'),
    ]);
    await assertRefusedByServer(e.port, r);
    assert.match(e.output(), /client certificate has none of client_allowed_sans/);
  });
});

describe('headers, HTTP/1.1 only, cipher suites and VerifyClientCertIfGiven (every option set)', () => {
  let e: Exporter;
  const auth = ['-u', `alice:${PASSWORD}`];
  before(async () => {
    e = await startExporter('all-options.good.yml');
  });
  after(async () => {
    assert.equal(await e.stop(), 0);
  });

  test('the five configured headers are on 200, 401 and 404 replies', async () => {
    const ca = ['--cacert', join(dir, 'ca.crt')];
    for (const [args, path, status] of [
      [[...ca, ...auth], '/metrics', 200],
      [ca, '/metrics', 401],
      [[...ca, ...auth], '/no-such-page', 404],
    ] as const) {
      const r = await curl(e.port, path, args);
      assert.equal(r.status, status);
      assert.equal(r.headers['content-security-policy'], "default-src 'self'");
      assert.equal(r.headers['x-frame-options'], 'sameorigin');
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['x-xss-protection'], '1; mode=block');
      assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    }
  });

  test('http2: false: HTTP/1.1 even when the client asks for HTTP/2', async () => {
    const r = await curl(e.port, '/metrics', ['--http2', '--cacert', join(dir, 'ca.crt'), ...auth]);
    assert.equal(r.status, 200);
    assert.equal(r.httpVersion, '1.1');
  });

  test('TLS 1.2 with a listed cipher works, with an unlisted one fails; TLS 1.3 still works', async () => {
    const base = ['--cacert', join(dir, 'ca.crt'), ...auth, '--tls-max', '1.2'];
    const listed = await curl(e.port, '/metrics', [...base, '--ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
    assert.equal(listed.status, 200);
    const unlisted = await curl(e.port, '/metrics', [...base, '--ciphers', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
    assert.equal(unlisted.exit, 35);
    const tls13 = await curl(e.port, '/metrics', ['--cacert', join(dir, 'ca.crt'), ...auth, '--tlsv1.3']);
    assert.equal(tls13.status, 200);
  });

  test('VerifyClientCertIfGiven: no certificate is fine, a certificate from another CA is refused', async () => {
    const none = await curl(e.port, '/metrics', ['--cacert', join(dir, 'ca.crt'), ...auth]);
    assert.equal(none.status, 200);
    const good = await curl(e.port, '/metrics', [
      '--cacert',
      join(dir, 'ca.crt'),
      ...auth,
      '--cert',
      join(dir, 'client.crt'),
      '--key',
      join(dir, 'client.key'),
    ]);
    assert.equal(good.status, 200);
    const other = await curl(e.port, '/metrics', [
      '--cacert',
      join(dir, 'ca.crt'),
      ...auth,
      '--cert',
      join(dir, 'other-client.crt'),
      '--key',
      join(dir, 'other-client.key'),
    ]);
    await assertRefusedByServer(e.port, other);
  });
});

describe('a bad web configuration stops the exporter before it listens', () => {
  test('--config.check: a plaintext password instead of a bcrypt hash', async () => {
    const r = await runExporter([
      '--config.check',
      `--web.config.file=${join(dir, 'hash-plaintext.bad.yml')}`,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.output, /basic_auth_users\.alice: not a bcrypt hash/);
    assert.ok(r.output.includes(join(dir, 'hash-plaintext.bad.yml')));
    assert.ok(!r.output.includes('hunter2-plaintext'), 'the bad value is not echoed');
  });

  test('--config.check: a missing certificate file is named', async () => {
    const r = await runExporter([
      '--config.check',
      `--web.config.file=${join(dir, 'missing-cert-file.bad.yml')}`,
    ]);
    assert.equal(r.code, 1);
    assert.ok(
      r.output.includes(
        `tls_server_config.cert_file ${join(dir, 'does-not-exist.crt')}: cannot read it (no such file)`,
      ),
      r.output,
    );
  });

  test('--config.check: a key that does not match the certificate, an unknown key', async () => {
    const mismatch = await runExporter([
      '--config.check',
      `--web.config.file=${join(dir, 'key-mismatch.bad.yml')}`,
    ]);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.output, /mismatch\.key does not match the certificate/);
    assertNoSecrets(mismatch.output);
    const unknown = await runExporter([
      '--config.check',
      `--web.config.file=${join(dir, 'unknown-tls-key.bad.yml')}`,
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.output, /tls_server_config\.certfile: unknown key/);
  });

  test('--config.check: a good file passes', async () => {
    const r = await runExporter([
      '--config.check',
      `--web.config.file=${join(dir, 'node_exporter.good.yml')}`,
    ]);
    assert.equal(r.code, 0, r.output);
  });

  test('serving with a missing certificate file: exits non-zero and never listens', async () => {
    const port = await freePort();
    let opened = false;
    const watch = setInterval(() => {
      void listening(port).then((yes) => {
        if (yes) opened = true;
      });
    }, 20);
    const r = await runExporter([`--web.config.file=${join(dir, 'missing-cert-file.bad.yml')}`], port);
    clearInterval(watch);
    assert.equal(r.code, 1);
    assert.match(r.output, /does-not-exist\.crt: cannot read it/);
    assert.doesNotMatch(r.output, /"msg":"listening"/);
    assert.equal(opened, false, 'the port was never opened');
    assert.equal(await listening(port), false);
  });
});

describe('issue 15 item 11: client certificate settings that look safe and are not', () => {
  test('item 11: each gives one warning line at start, and the exporter still serves', async () => {
    writeFileSync(
      join(dir, 'verify-public-roots.yml'),
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n',
    );
    writeFileSync(
      join(dir, 'any-cert-sans.yml'),
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [scraper.test]\n',
    );
    for (const [file, re] of [
      ['verify-public-roots.yml', /without client_ca_file trusts every public CA/],
      [
        'any-cert-sans.yml',
        /client_allowed_sans with RequireAnyClientCert checks the names of an unverified/,
      ],
    ] as const) {
      const e = await startExporter(file);
      try {
        const lines = e
          .output()
          .split('\n')
          .filter((l) => re.test(l));
        assert.equal(lines.length, 1, `one warning line for ${file}:\n${e.output()}`);
        assert.match(lines[0] ?? '', /"level":"warn"/);
      } finally {
        assert.equal(await e.stop(), 0);
      }
    }
  });
});
