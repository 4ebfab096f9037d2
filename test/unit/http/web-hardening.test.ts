// SPDX-License-Identifier: Apache-2.0
/**
 * Issue 15, web configuration: basic auth under a flood of wrong credentials (item 5), warnings for
 * client certificate settings that look safe and are not (item 11), a readable TLS key file (item 4)
 * and YAML errors that quote no line (item 1). Requests go through registerWebSecurity and inject();
 * bcrypt.compare is replaced where a test needs to hold or count the runs, so no test waits on time.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import Fastify, { type FastifyInstance } from 'fastify';
import { ConfigError } from '../../../src/config/load.ts';
import { loadWebConfig, registerWebSecurity, type WebConfig } from '../../../src/http/web-config.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/web');
/** TEST ONLY: the password behind alice's hash in auth-only.good.yml. */
const PASSWORD = 'test-only-password';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'web-hardening-'));
  execFileSync('sh', [join(FIXTURES, 'make-certs.sh'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.yml')))
    copyFileSync(join(FIXTURES, f), join(dir, f));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function appFor(config: WebConfig): Promise<FastifyInstance> {
  const app = Fastify();
  registerWebSecurity(app, config);
  app.get('/metrics', () => Promise.resolve('up 1\n'));
  await app.ready();
  return app;
}

function scrape(app: FastifyInstance, authorization: string, remoteAddress: string) {
  return app.inject({ url: '/metrics', headers: { authorization }, remoteAddress });
}

/** A bcrypt.compare that waits for `release()`; right when the password is PASSWORD. */
function gatedCompare() {
  const waiting: (() => void)[] = [];
  const compare = mock.method(bcrypt, 'compare', (password: string) => {
    const ok = password === PASSWORD;
    return new Promise<boolean>((resolve) =>
      waiting.push(() => {
        resolve(ok);
      }),
    );
  });
  return {
    compare,
    /** Lets the oldest waiting run finish; false if none waits. */
    release(): boolean {
      const next = waiting.shift();
      next?.();
      return next !== undefined;
    },
    get waiting() {
      return waiting.length;
    },
  };
}

/** Lets the event loop turn until `done()` holds or `turns` have passed (no wall-clock time). */
async function until(done: () => boolean, turns = 500): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await tick();
}

describe('issue 15 item 5: basic auth under a flood of wrong credentials', () => {
  test('item 5: a thousand junk logins do not evict the cached success of the real client', async () => {
    const app = await appFor(await loadWebConfig(join(dir, 'auth-only.good.yml')));
    const compare = mock.method(bcrypt, 'compare', (password: string) =>
      Promise.resolve(password === PASSWORD),
    );
    try {
      assert.equal((await scrape(app, basic('alice', PASSWORD), '10.0.0.1')).statusCode, 200);
      assert.equal(compare.mock.callCount(), 1);
      // 1100 different wrong passwords, each from its own address (so none is throttled), one at a time.
      for (let i = 0; i < 1100; i++) {
        const r = await scrape(app, basic('alice', `junk-${i}`), `10.1.${i >> 8}.${i & 255}`);
        assert.equal(r.statusCode, 401);
      }
      assert.equal(compare.mock.callCount(), 1101);
      assert.equal((await scrape(app, basic('alice', PASSWORD), '10.0.0.1')).statusCode, 200);
      assert.equal(compare.mock.callCount(), 1101, 'the success was still cached: no new bcrypt run');
    } finally {
      compare.mock.restore();
      await app.close();
    }
  });

  test('item 5: the bcrypt queue is bounded: past it, 503 at once instead of a wait', async () => {
    const app = await appFor(await loadWebConfig(join(dir, 'auth-only.good.yml')));
    const gate = gatedCompare();
    try {
      const answered: number[] = [];
      const all = Array.from({ length: 100 }, (_, i) =>
        scrape(app, basic('alice', `junk-${i}`), `10.2.0.${i}`).then((r) => {
          answered.push(r.statusCode);
          return r.statusCode;
        }),
      );
      // Nothing is released yet: only the refused requests can have answered.
      await until(() => answered.length >= 80);
      assert.ok(answered.length >= 80, `only ${answered.length} of 100 answered while bcrypt was busy`);
      assert.ok(answered.every((c) => c === 503));
      assert.ok(gate.waiting <= 1, 'one bcrypt run at a time');
      while (answered.length < 100) {
        gate.release();
        await tick();
      }
      const codes = await Promise.all(all);
      const queued = codes.filter((c) => c === 401).length;
      assert.ok(queued > 0 && queued <= 16, `${queued} runs were queued (bound 16)`);
      assert.equal(gate.compare.mock.callCount(), queued);
    } finally {
      while (gate.release());
      gate.compare.mock.restore();
      await app.close();
    }
  });

  test('item 5: an address that keeps failing gets 429 without a bcrypt run; others are not affected', async () => {
    const app = await appFor(await loadWebConfig(join(dir, 'auth-only.good.yml')));
    const compare = mock.method(bcrypt, 'compare', (password: string) =>
      Promise.resolve(password === PASSWORD),
    );
    try {
      const codes: number[] = [];
      for (let i = 0; i < 8; i++)
        codes.push((await scrape(app, basic('alice', `guess-${i}`), '10.3.0.1')).statusCode);
      assert.deepEqual(codes, [401, 401, 401, 401, 401, 429, 429, 429]);
      assert.equal(compare.mock.callCount(), 5);
      assert.equal((await scrape(app, basic('alice', PASSWORD), '10.3.0.2')).statusCode, 200);
    } finally {
      compare.mock.restore();
      await app.close();
    }
  });

  test('item 5: a client that never failed is checked before the queued runs of addresses that did', async () => {
    const app = await appFor(await loadWebConfig(join(dir, 'auth-only.good.yml')));
    const gate = gatedCompare();
    try {
      // Ten addresses fail once each (so they are suspect), then queue one more run each.
      const first = Array.from({ length: 10 }, (_, i) =>
        scrape(app, basic('alice', `a-${i}`), `10.4.0.${i}`),
      );
      while (!(await Promise.race([Promise.all(first).then(() => true), tick().then(() => false)])))
        gate.release();
      const order: string[] = [];
      const flood = Array.from({ length: 10 }, (_, i) =>
        scrape(app, basic('alice', `b-${i}`), `10.4.0.${i}`).then((r) => order.push(`flood ${r.statusCode}`)),
      );
      await until(() => gate.waiting === 1);
      const real = scrape(app, basic('alice', PASSWORD), '10.4.1.1').then((r) =>
        order.push(`real ${r.statusCode}`),
      );
      await until(() => false, 20);
      // The run in progress finishes, then the real client's run is next.
      gate.release();
      await until(() => order.length >= 1);
      await until(() => gate.waiting === 1);
      gate.release();
      await until(() => order.length >= 2);
      assert.deepEqual(order.slice(0, 2), ['flood 401', 'real 200']);
      while (order.length < 11) {
        gate.release();
        await tick();
      }
      await Promise.all([...flood, real]);
    } finally {
      while (gate.release());
      gate.compare.mock.restore();
      await app.close();
    }
  });

  test('item 5: with the queue full of runs of failing addresses, a clean client still gets its run', async () => {
    const app = await appFor(await loadWebConfig(join(dir, 'auth-only.good.yml')));
    const gate = gatedCompare();
    try {
      // 20 addresses fail once (suspect), then each queues one more run: 16 fit (the bound), 4 do not.
      const first = Array.from({ length: 20 }, (_, i) =>
        scrape(app, basic('alice', `a-${i}`), `10.6.0.${i}`),
      );
      while (!(await Promise.race([Promise.all(first).then(() => true), tick().then(() => false)])))
        gate.release();
      const codes: number[] = [];
      const flood = Array.from({ length: 20 }, (_, i) =>
        scrape(app, basic('alice', `b-${i}`), `10.6.0.${i}`).then((r) => codes.push(r.statusCode)),
      );
      await until(() => codes.length >= 4);
      const real = scrape(app, basic('alice', PASSWORD), '10.6.1.1');
      await until(() => codes.length >= 5);
      // 4 found the queue full (503), then one queued run of a failing address gave way to the clean client.
      assert.deepEqual(codes, Array.from({ length: 5 }, () => 503));
      while (!(await Promise.race([real.then(() => true), tick().then(() => false)])))
        gate.release();
      assert.equal((await real).statusCode, 200);
      while (codes.length < 20) {
        gate.release();
        await tick();
      }
      await Promise.all(flood);
    } finally {
      while (gate.release());
      gate.compare.mock.restore();
      await app.close();
    }
  });

  test('item 5: wrong credentials do not spend the rate_limit tokens of the authenticated client', async () => {
    const file = join(dir, 'rate-auth.yml');
    writeFileSync(
      file,
      `rate_limit:\n  interval: 1h\n  burst: 3\nbasic_auth_users:\n  alice: $2y$04$48UFVOWcjendMk5lSLUGaeba.ynLlT1ZVcml7aZPj8Cw8ResXVJdu\n`,
    );
    const app = await appFor(await loadWebConfig(file));
    const compare = mock.method(bcrypt, 'compare', (password: string) =>
      Promise.resolve(password === PASSWORD),
    );
    try {
      for (let i = 0; i < 10; i++)
        assert.equal((await scrape(app, basic('alice', `junk-${i}`), `10.5.0.${i}`)).statusCode, 401);
      const codes: number[] = [];
      for (let i = 0; i < 4; i++)
        codes.push((await scrape(app, basic('alice', PASSWORD), '10.5.1.1')).statusCode);
      assert.deepEqual(codes, [200, 200, 200, 429], 'the burst of 3 is the authenticated client’s');
    } finally {
      compare.mock.restore();
      await app.close();
    }
  });

  test('item 5: a bcrypt cost above 12 is refused when the file is loaded', async () => {
    const file = join(dir, 'cost13.yml');
    writeFileSync(
      file,
      `basic_auth_users:\n  alice: '$2b$13$48UFVOWcjendMk5lSLUGaeba.ynLlT1ZVcml7aZPj8Cw8ResXVJdu'\n`,
    );
    await assert.rejects(loadWebConfig(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /basic_auth_users\.alice: bcrypt cost 13 is above 12/);
      assert.ok(!err.message.includes('48UFVOWcjendMk5'), 'the hash is not echoed');
      return true;
    });
    writeFileSync(
      file,
      `basic_auth_users:\n  alice: '$2b$12$48UFVOWcjendMk5lSLUGaeba.ynLlT1ZVcml7aZPj8Cw8ResXVJdu'\n`,
    );
    await loadWebConfig(file);
  });
});

describe('issue 15 item 11: client certificate settings that look safe and are not', () => {
  const tlsFile = (name: string, lines: string): string => {
    const file = join(dir, name);
    writeFileSync(file, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${lines}`);
    return file;
  };

  test('item 11: RequireAndVerifyClientCert without a client CA trusts the public roots: one warning line', async () => {
    const c = await loadWebConfig(
      tlsFile('verify-no-ca.yml', '  client_auth_type: RequireAndVerifyClientCert\n'),
    );
    assert.equal(c.warnings.length, 1);
    assert.match(
      c.warnings[0] ?? '',
      /RequireAndVerifyClientCert without client_ca_file trusts every public CA/,
    );
    assert.doesNotMatch(c.warnings[0] ?? '', /\n/);
  });

  test('item 11: client_allowed_sans with RequireAnyClientCert checks an unverified certificate: one warning line', async () => {
    const c = await loadWebConfig(
      tlsFile(
        'any-sans.yml',
        '  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [scraper.test]\n',
      ),
    );
    assert.equal(c.warnings.length, 1);
    assert.match(
      c.warnings[0] ?? '',
      /client_allowed_sans with RequireAnyClientCert checks the names of an unverified/,
    );
  });

  test('item 11: the warnings are logged when the server is set up; a safe mTLS file has none', async () => {
    const lines: string[] = [];
    const app = Fastify({
      logger: { level: 'warn', stream: { write: (l: string) => lines.push(l) } },
    });
    registerWebSecurity(
      app,
      await loadWebConfig(tlsFile('verify-no-ca2.yml', '  client_auth_type: RequireAndVerifyClientCert\n')),
    );
    await app.close();
    assert.equal(lines.filter((l) => l.includes('trusts every public CA')).length, 1);
    const safe = await loadWebConfig(join(dir, 'mtls.good.yml'));
    assert.deepEqual(safe.warnings, []);
  });
});

describe('issue 15 item 4: a TLS key file others can read', () => {
  test('item 4: key_file readable by group or others gives a warning; mode 600 none', async () => {
    const file = join(dir, 'key-mode.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
    chmodSync(join(dir, 'server.key'), 0o644);
    const loose = await loadWebConfig(file);
    assert.equal(loose.warnings.length, 1);
    assert.match(
      loose.warnings[0] ?? '',
      /tls_server_config\.key_file .*server\.key holds a secret and every user can read it \(mode 0644\)/,
    );
    chmodSync(join(dir, 'server.key'), 0o600);
    assert.deepEqual((await loadWebConfig(file)).warnings, []);
  });
});

describe('issue 15 item 1: YAML errors in the web configuration quote no line', () => {
  test('item 1: an unterminated quote and a duplicate user: line, column and code only', async () => {
    const file = join(dir, 'yaml-secret.yml');
    const secret = '$2y$04$48UFVOWcjendMk5lSLUGaeba.ynLlT1ZVcml7aZPj8Cw8ResXVJdu';
    writeFileSync(file, `basic_auth_users:\n  alice: "${secret}\n  alice: '${secret}'\n`);
    await assert.rejects(loadWebConfig(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /line \d+, column \d+: /);
      assert.ok(!err.message.includes('48UFVOWcjendMk5'), err.message);
      return true;
    });
  });
});
