// SPDX-License-Identifier: Apache-2.0
/**
 * The web configuration loader on the good/bad fixture table (test/fixtures/web), hash and header
 * validation, the Fastify options per client_auth_type, and the request hook through inject().
 * Certificates are made at test time by make-certs.sh (openssl) in a temporary directory, where the
 * fixtures are copied so that their relative paths resolve.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import Fastify, { type FastifyInstance } from 'fastify';
import { ConfigError } from '../../../src/config/load.ts';
import {
  loadWebConfig,
  registerWebSecurity,
  webServerOptions,
  type WebConfig,
} from '../../../src/http/web-config.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/web');
/** TEST ONLY: the password behind every hash in the fixtures (bob's is other-test-password). */
const PASSWORD = 'test-only-password';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'web-config-'));
  execFileSync('sh', [join(FIXTURES, 'make-certs.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.yml')))
    copyFileSync(join(FIXTURES, f), join(dir, f));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Everything that must never appear in a message: hashes, key material, PEM armour. */
function assertNoSecret(message: string, extra: readonly string[] = []): void {
  assert.doesNotMatch(message, /\$2[aby]\$\d\d\$/, 'a bcrypt hash leaked');
  assert.doesNotMatch(message, /PRIVATE KEY/, 'private key PEM leaked');
  for (const f of ['server.key', 'mismatch.key', 'client.key']) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line.length > 16 && !line.startsWith('-----'))
        assert.ok(!message.includes(line), `key material of ${f} leaked`);
    }
  }
  for (const s of extra) assert.ok(!message.includes(s), `secret ${JSON.stringify(s)} leaked`);
}

async function loadError(file: string): Promise<ConfigError> {
  try {
    await loadWebConfig(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${file} was accepted`);
}

describe('bad web configuration files', () => {
  const bad = readdirSync(FIXTURES).filter((n) => n.endsWith('.bad.yml'));
  test('there is a table of them', () => {
    assert.ok(bad.length >= 30, `only ${bad.length} bad fixtures`);
  });
  for (const name of bad) {
    test(name, async () => {
      const text = readFileSync(join(FIXTURES, name), 'utf8');
      const expect = /^# expect: (.+)$/m.exec(text)?.[1];
      assert.ok(expect !== undefined, `${name} has no "# expect:" line`);
      const secrets = [...text.matchAll(/^# secret: (.+)$/gm)].map((m) => m[1] ?? '');
      const err = await loadError(join(dir, name));
      assert.ok(
        err.message.includes(expect),
        `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(expect)}`,
      );
      assert.ok(err.message.includes(join(dir, name)), 'the message names the configuration file');
      assertNoSecret(err.message, secrets);
    });
  }
});

describe('good web configuration files', () => {
  test('every good fixture loads', async () => {
    const good = readdirSync(FIXTURES).filter((n) => n.endsWith('.good.yml'));
    assert.ok(good.length >= 6);
    for (const name of good) await loadWebConfig(join(dir, name));
  });

  test('a node_exporter file: TLS from relative paths, bcrypt $2y$ user, HTTP/2 on', async () => {
    const c = await loadWebConfig(join(dir, 'node_exporter.good.yml'));
    assert.equal(c.tls?.clientAuthType, 'NoClientCert');
    assert.equal(c.tls.certSource, `tls_server_config.cert_file ${join(dir, 'server.crt')}`);
    assert.deepEqual(c.tls.files, [join(dir, 'server.crt'), join(dir, 'server.key')], 'the files to watch');
    assert.equal(c.tls.minVersion, 'TLSv1.2');
    assert.equal(c.tls.maxVersion, 'TLSv1.3');
    assert.equal(c.tls.honorCipherOrder, true);
    assert.equal(c.tls.ciphers, undefined);
    assert.deepEqual([...c.basicAuthUsers.keys()], ['prometheus']);
    assert.equal(c.http2, true);
    assert.deepEqual(c.headers, {});
    assert.equal(c.rateLimit, undefined);
  });

  test('every option: Go cipher and curve names mapped to OpenSSL, headers, rate limit', async () => {
    const c = await loadWebConfig(join(dir, 'all-options.good.yml'));
    assert.equal(c.tls?.clientAuthType, 'VerifyClientCertIfGiven');
    assert.deepEqual(
      c.tls.files,
      ['server.crt', 'server.key', 'ca.crt'].map((f) => join(dir, f)),
    );
    assert.equal(
      c.tls.ciphers,
      'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305',
    );
    assert.equal(c.tls.ecdhCurve, 'X25519:P-256');
    assert.equal(c.tls.honorCipherOrder, false);
    assert.ok(c.tls.clientCa?.includes('BEGIN CERTIFICATE'));
    assert.equal(c.http2, false);
    assert.deepEqual(Object.keys(c.headers).sort(), [
      'Content-Security-Policy',
      'Strict-Transport-Security',
      'X-Content-Type-Options',
      'X-Frame-Options',
      'X-XSS-Protection',
    ]);
    assert.deepEqual(c.rateLimit, { intervalMs: 100, burst: 50 });
  });

  test('legacy names and blanks: RequireClientCert, empty cert, empty header, interval 0', async () => {
    const c = await loadWebConfig(join(dir, 'legacy-names.good.yml'));
    assert.equal(c.tls?.clientAuthType, 'RequireAnyClientCert');
    assert.deepEqual(c.headers, {});
    assert.equal(c.rateLimit, undefined);
  });

  test('TLS options without certificate or key mean plain HTTP, as in exporter-toolkit', async () => {
    const c = await loadWebConfig(join(dir, 'tls-options-only.good.yml'));
    assert.equal(c.tls, undefined);
    assert.deepEqual(webServerOptions(c), {});
  });

  test('an empty file is plain HTTP without auth', async () => {
    const c = await loadWebConfig(join(dir, 'empty.good.yml'));
    assert.equal(c.tls, undefined);
    assert.equal(c.basicAuthUsers.size, 0);
  });

  test('inline cert, key and client_ca', async () => {
    const indent = (f: string): string =>
      readFileSync(join(dir, f), 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n');
    const file = join(dir, 'inline.yml');
    writeFileSync(
      file,
      `tls_server_config:\n  cert: |\n${indent('server.crt')}\n  key: |\n${indent('server.key')}\n  client_ca: |\n${indent('ca.crt')}\n  client_auth_type: RequireAndVerifyClientCert\n`,
    );
    const c = await loadWebConfig(file);
    assert.equal(c.tls?.certSource, 'tls_server_config.cert');
    assert.equal(c.tls.clientAuthType, 'RequireAndVerifyClientCert');
    // A key that does not match: the message names the inline key, and shows none of it.
    writeFileSync(
      file,
      `tls_server_config:\n  cert: |\n${indent('server.crt')}\n  key: |\n${indent('mismatch.key')}\n`,
    );
    const err = await loadError(file);
    assert.match(
      err.message,
      /tls_server_config\.key does not match the certificate in tls_server_config\.cert/,
    );
    assertNoSecret(err.message);
  });

  test('a missing web configuration file is named', async () => {
    const err = await loadError(join(dir, 'no-such-web.yml'));
    assert.match(err.message, /web configuration file .*no-such-web\.yml: cannot read it \(no such file\)/);
  });
});

describe('bcrypt hash validation', () => {
  const valid = [
    '$2y$10$at.RMdJaLc10ONnr7iP4MO/3bLrd..4pBajqoPEnHs.UPyWb0Qav6',
    '$2a$04$48UFVOWcjendMk5lSLUGaeba.ynLlT1ZVcml7aZPj8Cw8ResXVJdu',
    '$2b$12$48UFVOWcjendMk5lSLUGaeba.ynLlT1ZVcml7aZPj8Cw8ResXVJdu',
  ];
  const invalid = [
    'plain-password',
    '$2x$10$at.RMdJaLc10ONnr7iP4MO/3bLrd..4pBajqoPEnHs.UPyWb0Qav6',
    '$2y$32$at.RMdJaLc10ONnr7iP4MO/3bLrd..4pBajqoPEnHs.UPyWb0Qav6',
    '$2y$1$at.RMdJaLc10ONnr7iP4MO/3bLrd..4pBajqoPEnHs.UPyWb0Qav6',
    '$2y$10$at.RMdJaLc10ONnr7iP4MO/3bLrd..4pBajqoPEnHs.UPyWb0Qav6x',
    '$2y$10$at.RMdJaLc10ONnr7iP4MO/3bLrd..4pBajqoPEnHs.UPyWb0Qav!',
    '$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/',
    '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
  ];
  for (const [i, hash] of [
    ...valid.map((h) => [h, true] as const),
    ...invalid.map((h) => [h, false] as const),
  ].entries()) {
    test(`${hash[1] ? 'accepts' : 'rejects'} #${i}`, async () => {
      const file = join(dir, `hash-${i}.yml`);
      writeFileSync(file, `basic_auth_users:\n  alice: '${hash[0]}'\n`);
      if (hash[1]) {
        const c = await loadWebConfig(file);
        assert.equal(c.basicAuthUsers.get('alice')?.reveal(), hash[0]);
      } else {
        const err = await loadError(file);
        assert.match(err.message, /basic_auth_users\.alice: not a bcrypt hash/);
        assertNoSecret(err.message, [hash[0]]);
      }
    });
  }
});

describe('secrets in a loaded configuration', () => {
  test('JSON and util.inspect show neither hashes nor key material', async () => {
    const c = await loadWebConfig(join(dir, 'all-options.good.yml'));
    const shown = `${JSON.stringify(c)}\n${inspect(c, { depth: 10 })}\n${String(c.tls?.key)}`;
    assertNoSecret(shown);
    assert.match(shown, /<secret>/);
  });
});

describe('webServerOptions', () => {
  const cases = [
    ['NoClientCert', false, false],
    ['RequestClientCert', true, false],
    ['RequireAnyClientCert', true, false],
    ['VerifyClientCertIfGiven', true, false],
    ['RequireAndVerifyClientCert', true, true],
  ] as const;
  for (const [auth, requestCert, rejectUnauthorized] of cases) {
    test(`${auth}: requestCert ${requestCert}, rejectUnauthorized ${rejectUnauthorized}`, async () => {
      const file = join(dir, `auth-${auth}.yml`);
      const ca = auth === 'NoClientCert' ? '' : '\n  client_ca_file: ca.crt';
      writeFileSync(
        file,
        `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: ${auth}${ca}\n`,
      );
      const opts = webServerOptions(await loadWebConfig(file));
      assert.equal(opts['http2'], true);
      const https = opts['https'] as Record<string, unknown>;
      assert.equal(https['requestCert'], requestCert);
      assert.equal(https['rejectUnauthorized'], rejectUnauthorized);
      assert.equal(https['allowHTTP1'], true);
      assert.equal(https['minVersion'], 'TLSv1.2');
      assert.match(String(https['cert']), /BEGIN CERTIFICATE/);
      assert.match(String(https['key']), /PRIVATE KEY/);
      assert.equal(https['ca'] !== undefined, auth !== 'NoClientCert');
    });
  }

  test('http2: false gives plain https options', async () => {
    const opts = webServerOptions(await loadWebConfig(join(dir, 'all-options.good.yml')));
    assert.equal(opts['http2'], undefined);
    const https = opts['https'] as Record<string, unknown>;
    assert.equal(https['honorCipherOrder'], false);
    assert.equal(https['ecdhCurve'], 'X25519:P-256');
    assert.equal(https['allowHTTP1'], undefined);
  });

  test('no TLS: no options', async () => {
    assert.deepEqual(webServerOptions(await loadWebConfig(join(dir, 'auth-only.good.yml'))), {});
  });
});

describe('registerWebSecurity', () => {
  const basic = (user: string, password: string): string =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  async function appFor(config: WebConfig): Promise<FastifyInstance> {
    const app = Fastify();
    registerWebSecurity(app, config);
    app.get('/metrics', () => Promise.resolve('up 1\n'));
    await app.ready();
    return app;
  }

  test('basic auth: 401 with WWW-Authenticate: Basic unless the password is right; headers on every reply', async () => {
    const app = await appFor(await loadWebConfig(join(dir, 'auth-only.good.yml')));
    const cases: [string | undefined, number][] = [
      [undefined, 401],
      [basic('alice', 'wrong'), 401],
      [basic('mallory', PASSWORD), 401],
      [basic('alice', PASSWORD), 200],
      [basic('bob', 'other-test-password'), 200],
      [basic('bob', PASSWORD), 401],
      ['Basic !!!not-base64', 401],
      [`Basic ${Buffer.from('alice').toString('base64')}`, 401],
      [`Bearer ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`, 401],
      [`bAsIc ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`, 200],
    ];
    for (const [authorization, status] of cases) {
      const res = await app.inject({
        url: '/metrics',
        headers: authorization === undefined ? {} : { authorization },
      });
      assert.equal(res.statusCode, status, `Authorization: ${String(authorization)}`);
      assert.equal(res.headers['x-frame-options'], 'deny');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      if (status === 401) {
        assert.equal(res.headers['www-authenticate'], 'Basic');
        assertNoSecret(res.body, [PASSWORD]);
      } else {
        assert.equal(res.body, 'up 1\n');
      }
    }
    // Unknown routes are behind auth too, and carry the headers.
    const notFound = await app.inject({ url: '/nope', headers: { authorization: basic('alice', PASSWORD) } });
    assert.equal(notFound.statusCode, 404);
    assert.equal(notFound.headers['x-frame-options'], 'deny');
    assert.equal((await app.inject({ url: '/nope' })).statusCode, 401);
    await app.close();
  });

  test('bcrypt runs once for concurrent and repeated scrapes with the same credentials', async () => {
    const app = await appFor(await loadWebConfig(join(dir, 'auth-only.good.yml')));
    const compare = mock.method(bcrypt, 'compare');
    try {
      const many = await Promise.all(
        Array.from({ length: 20 }, () =>
          app.inject({ url: '/metrics', headers: { authorization: basic('alice', PASSWORD) } }),
        ),
      );
      assert.ok(many.every((r) => r.statusCode === 200));
      for (let i = 0; i < 5; i++) {
        assert.equal(
          (await app.inject({ url: '/metrics', headers: { authorization: basic('alice', PASSWORD) } }))
            .statusCode,
          200,
        );
      }
      assert.equal(compare.mock.callCount(), 1);
      // A wrong password is cached too (repeating it costs nothing); a new one costs one bcrypt run.
      for (let i = 0; i < 3; i++) {
        assert.equal(
          (await app.inject({ url: '/metrics', headers: { authorization: basic('alice', 'nope') } }))
            .statusCode,
          401,
        );
      }
      assert.equal(compare.mock.callCount(), 2);
      // An unknown user still costs a bcrypt run, so that it takes as long as a known one.
      assert.equal(
        (await app.inject({ url: '/metrics', headers: { authorization: basic('eve', 'x') } })).statusCode,
        401,
      );
      assert.equal(compare.mock.callCount(), 3);
    } finally {
      compare.mock.restore();
      await app.close();
    }
  });

  test('a password longer than bcrypt reads (72 bytes) never matches on its prefix', async () => {
    const long = 'p'.repeat(72);
    const file = join(dir, 'long.yml');
    writeFileSync(file, `basic_auth_users:\n  alice: '${await bcrypt.hash(long, 4)}'\n`);
    const app = await appFor(await loadWebConfig(file));
    assert.equal(
      (await app.inject({ url: '/metrics', headers: { authorization: basic('alice', long) } })).statusCode,
      200,
    );
    assert.equal(
      (await app.inject({ url: '/metrics', headers: { authorization: basic('alice', `${long}extra`) } }))
        .statusCode,
      401,
    );
    await app.close();
  });

  test('rate_limit: the burst passes, then 429 (with the configured headers)', async () => {
    const file = join(dir, 'rate.yml');
    writeFileSync(
      file,
      'rate_limit:\n  interval: 1h\n  burst: 3\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n',
    );
    const app = await appFor(await loadWebConfig(file));
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await app.inject({ url: '/metrics' })).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    assert.equal((await app.inject({ url: '/metrics' })).headers['x-frame-options'], 'deny');
    await app.close();
  });

  test('no users: no auth, headers still set', async () => {
    const file = join(dir, 'headers-only.yml');
    writeFileSync(
      file,
      'http_server_config:\n  headers:\n    Content-Security-Policy: "default-src \'none\'"\n',
    );
    const app = await appFor(await loadWebConfig(file));
    const res = await app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-security-policy'], "default-src 'none'");
    await app.close();
  });
});
