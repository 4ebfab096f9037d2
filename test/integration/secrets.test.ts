// SPDX-License-Identifier: Apache-2.0
/**
 * Secrets (issue 7): the telemetry secret, the AMQP password and the basic-auth hashes never appear in
 * the logs, the landing page or error messages. The real exporter runs on the lab with a publisher
 * whose transport URL holds a password (broker unreachable, so it keeps failing and retrying), a
 * telemetry secret, basic auth, and log level debug; then everything it printed and served, plus the
 * messages of bad configurations and of a failed reload, is searched for every form of every secret.
 */
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { freePort } from '../helpers/exporter.ts';
import { lab, waitFor } from '../helpers/lab.ts';
import { Recorder, sampleValue, spawnExporter, type SpawnedExporter } from '../helpers/reliability.ts';
import { parseExposition } from '../helpers/exposition.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

// TEST-ONLY secrets. Each carries characters that URLs and JSON escape, so that encoded forms are
// searched too.
const AMQP_USER = 'svc-ceilometer';
const AMQP_PASSWORD = 'amqp-S3cret/p@ss:w0rd%+';
const TELEMETRY_SECRET = 'telemetry-S3cret-"quoted"-7f3a';
const BASIC_USER = 'prometheus';
const BASIC_PASSWORD = 'basic-S3cret-pw';
const BASIC_HASH = bcrypt.hashSync(BASIC_PASSWORD, 10);

/** Every form in which a secret could leak. */
const NEEDLES: Readonly<Record<string, string>> = {
  'AMQP password': AMQP_PASSWORD,
  'AMQP password, percent-encoded': encodeURIComponent(AMQP_PASSWORD),
  'AMQP password, JSON-escaped': JSON.stringify(AMQP_PASSWORD).slice(1, -1),
  'telemetry secret': TELEMETRY_SECRET,
  'telemetry secret, JSON-escaped': JSON.stringify(TELEMETRY_SECRET).slice(1, -1),
  'telemetry secret, HTML-escaped': TELEMETRY_SECRET.replace(/"/g, '&quot;'),
  'basic-auth hash': BASIC_HASH,
  'basic-auth hash, salt': BASIC_HASH.slice(7, 29),
  'basic-auth hash, checksum': BASIC_HASH.slice(29),
  'basic-auth password': BASIC_PASSWORD,
  'basic-auth credentials, base64': Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`).toString('base64'),
  // A common marker of the three plain secrets: any escaping the forms above miss.
  'marker S3cret': 'S3cret',
};

/** Where each needle was found. */
function leaks(text: string): string[] {
  return Object.entries(NEEDLES)
    .filter(([, n]) => text.includes(n))
    .map(([what]) => what);
}

interface Response {
  readonly status: number;
  readonly text: string;
}

/** GET with optional basic auth; the result holds the status line, every header and the body. */
function get(url: string, auth?: string, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent: false,
        headers: {
          ...headers,
          ...(auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            text: `HTTP ${res.statusCode} ${res.statusMessage}\n${res.rawHeaders.join('\n')}\n\n${body}`,
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Runs the exporter with `args` to its end (for --config.check and refused configurations). */
function run(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, output: stdout + stderr });
      },
    );
  });
}

describe('secrets never appear in logs, pages or errors', () => {
  let dir: string;
  let e: SpawnedExporter;
  let configFile: string;
  let brokerPort: number;
  const publisher = (url: string, extra = ''): string =>
    `publisher:\n  enabled: true\n  transport_url: ${JSON.stringify(url)}\n  telemetry_secret: ${JSON.stringify(TELEMETRY_SECRET)}\n  polling:\n    sources:\n      - { name: fast, interval: 1, meters: ["*"] }\n  send_timeout_seconds: 2\n${extra}`;
  const goodUrl = (): string =>
    `rabbit://${AMQP_USER}:${encodeURIComponent(AMQP_PASSWORD)}@127.0.0.1:${brokerPort}/`;

  before(async () => {
    lab('up');
    dir = mkdtempSync(join(tmpdir(), 'secrets-'));
    // Nothing listens there: the publisher keeps failing to connect, and says so at debug.
    brokerPort = await freePort();
    const web = join(dir, 'web.yml');
    writeFileSync(web, `basic_auth_users:\n  ${BASIC_USER}: ${JSON.stringify(BASIC_HASH)}\n`);
    configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, `log:\n  level: debug\nweb:\n  config_file: ${web}\n${publisher(goodUrl())}`);
    e = await spawnExporter([`--config.file=${configFile}`]);
  });
  after(async () => {
    await e.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('telemetry secret, AMQP password and basic-auth hash: not in anything printed or served', async () => {
    const rec = new Recorder(
      'secrets',
      'secrets kept out of logs, pages and errors',
      'security',
      'test/integration/secrets.test.ts',
      'The exporter runs on the lab at log level debug with basic auth (a bcrypt hash), and a publisher whose transport URL holds a password (its broker unreachable, so connections fail and are retried) and a telemetry secret. Every page is fetched (with, without and with wrong credentials), bad requests are made, a reload with a bad transport URL is signalled, bad configurations are checked with `--config.check`, and the process is stopped; then everything printed and served is searched for every form of each secret (plain, percent-encoded, JSON- and HTML-escaped, the hash and its salt and checksum, the base64 credentials).',
    );
    const auth = `${BASIC_USER}:${BASIC_PASSWORD}`;
    const served: { what: string; response: Response }[] = [];
    const fetchAll = async (): Promise<void> => {
      for (const [what, path, a, h] of [
        ['landing page', '/', auth, {}],
        ['metrics', '/metrics', auth, {}],
        ['metrics, OpenMetrics', '/metrics', auth, { accept: 'application/openmetrics-text' }],
        ['readiness', '/-/ready', auth, {}],
        ['health', '/-/healthy', auth, {}],
        ['landing page without credentials', '/', undefined, {}],
        ['metrics with a wrong password', '/metrics', `${BASIC_USER}:wrong`, {}],
        ['metrics with an unknown user', '/metrics', 'mallory:x', {}],
        ['metrics with the hash as password', '/metrics', `${BASIC_USER}:${BASIC_HASH}`, {}],
        ['unknown collector', '/metrics?collect[]=bogus', auth, {}],
        ['unknown path', '/nope', auth, {}],
      ] as const) {
        served.push({ what, response: await get(e.url + path, a, h) });
      }
    };
    await fetchAll();
    const status = (what: string): number => served.find((s) => s.what === what)?.response.status ?? 0;
    rec.check(
      'basic auth is enforced (401 without or with wrong credentials, 200 with)',
      status('landing page') === 200 &&
        status('metrics') === 200 &&
        status('landing page without credentials') === 401 &&
        status('metrics with a wrong password') === 401 &&
        status('metrics with an unknown user') === 401 &&
        status('metrics with the hash as password') === 401,
      served.map((s) => `${s.what}: ${s.response.status}`).join(', '),
    );
    const landing = served.find((s) => s.what === 'landing page')!.response.text;
    rec.check(
      'the landing page shows the publisher (so it had something to leak)',
      /Ceilometer publisher/.test(landing),
      /Ceilometer publisher/.test(landing) ? 'publisher section present' : 'no publisher section',
    );

    // Let the publisher poll and fail to publish for a while, at debug.
    await waitFor(
      async () => {
        const m = await get(`${e.url}/metrics`, auth);
        return (
          (sampleValue(
            parseExposition(m.text.split('\n\n').slice(1).join('\n\n')),
            'libvirt_publisher_send_failures_total',
          ) ?? 0) >= 2
        );
      },
      60_000,
      'two failed sends to the unreachable broker',
      500,
    );
    const m = await get(`${e.url}/metrics`, auth);
    served.push({ what: 'metrics after failed sends', response: m });
    const failures =
      sampleValue(
        parseExposition(m.text.split('\n\n').slice(1).join('\n\n')),
        'libvirt_publisher_send_failures_total',
      ) ?? 0;
    rec.figure('failed sends to the unreachable broker before the search', failures);

    // A reload with a transport URL the parser refuses (a port out of range), password included.
    writeFileSync(
      configFile,
      `log:\n  level: debug\nweb:\n  config_file: ${join(dir, 'web.yml')}\n${publisher(`rabbit://${AMQP_USER}:${encodeURIComponent(AMQP_PASSWORD)}@127.0.0.1:99999/`)}`,
    );
    e.signal('SIGHUP');
    await waitFor(
      () => e.output().includes('configuration reload failed'),
      20_000,
      'the failed reload logged',
    );
    rec.check('the failed reload is logged', e.output().includes('configuration reload failed'), 'logged');
    // Issue 15 item 4: a secret file others can read is warned about; a reload re-reads secret files
    // even when the configuration text is the same.
    const count = (needle: string): number => e.output().split(needle).length - 1;
    const secretFile = join(dir, 'telemetry-secret');
    writeFileSync(secretFile, `${TELEMETRY_SECRET}\n`);
    chmodSync(secretFile, 0o644);
    const withFile = `log:\n  level: debug\nweb:\n  config_file: ${join(dir, 'web.yml')}\n${publisher(goodUrl()).replace(`telemetry_secret: ${JSON.stringify(TELEMETRY_SECRET)}`, `telemetry_secret_file: ${secretFile}`)}`;
    writeFileSync(configFile, withFile);
    const reloaded = count('"msg":"configuration reloaded"');
    e.signal('SIGHUP');
    await waitFor(
      () => count('"msg":"configuration reloaded"') > reloaded,
      30_000,
      'the reload with a secret file',
    );
    rec.check(
      'item 4: a telemetry_secret_file readable by every user is warned about in one line',
      e
        .output()
        .split('\n')
        .some((l) =>
          /telemetry_secret_file .* holds a secret and every user can read it \(mode 0644\)/.test(l),
        ),
      'warning logged',
    );
    chmodSync(secretFile, 0o600);
    writeFileSync(secretFile, `${TELEMETRY_SECRET}-rotated\n`);
    const started = count('"msg":"publisher started"');
    const reloaded2 = count('"msg":"configuration reloaded"');
    e.signal('SIGHUP');
    await waitFor(
      () => count('"msg":"configuration reloaded"') > reloaded2,
      30_000,
      'the reload after the secret changed',
    );
    await waitFor(
      () => count('"msg":"publisher started"') > started,
      30_000,
      'the publisher restarted',
    ).catch(() => undefined);
    rec.check(
      'item 4: SIGHUP re-reads a changed secret file although the configuration text is the same',
      count('"msg":"publisher started"') > started,
      `publisher started ${started} → ${count('"msg":"publisher started"')} times`,
    );
    await fetchAll();
    const stopCode = await e.stop();
    rec.check('the exporter stopped cleanly (SIGTERM)', stopCode === 0, `exit code ${String(stopCode)}`);

    // Refused configurations (each message names the fault, never the secret).
    const bad = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const refused: { what: string; args: string[] }[] = [
      {
        what: 'transport URL with a port out of range',
        args: [
          `--config.file=${bad('b1.yaml', publisher(`rabbit://${AMQP_USER}:${encodeURIComponent(AMQP_PASSWORD)}@127.0.0.1:99999/`))}`,
        ],
      },
      {
        what: 'transport URL without a host',
        args: [
          `--config.file=${bad('b2.yaml', publisher(`rabbit://${AMQP_USER}:${encodeURIComponent(AMQP_PASSWORD)}@/`))}`,
        ],
      },
      {
        what: 'transport URL with an unknown scheme',
        args: [
          `--config.file=${bad('b3.yaml', publisher(`kafka://${AMQP_USER}:${encodeURIComponent(AMQP_PASSWORD)}@127.0.0.1:9092/`))}`,
        ],
      },
      {
        what: 'hosts with different passwords',
        args: [
          `--config.file=${bad('b4.yaml', publisher(`rabbit://${AMQP_USER}:${encodeURIComponent(AMQP_PASSWORD)}@h1:5672,${AMQP_USER}:other@h2:5672/`))}`,
        ],
      },
      {
        what: 'mistyped secret key (`telemetry_secert`)',
        args: [
          `--config.file=${bad('b5.yaml', publisher(goodUrl(), `  telemetry_secert: ${JSON.stringify(TELEMETRY_SECRET)}\n`))}`,
        ],
      },
      {
        what: 'telemetry secret of the wrong type (a list)',
        args: [
          `--config.file=${bad('b6.yaml', publisher(goodUrl()).replace(`telemetry_secret: ${JSON.stringify(TELEMETRY_SECRET)}`, `telemetry_secret: [${JSON.stringify(TELEMETRY_SECRET)}]`))}`,
        ],
      },
      {
        what: 'secret both inline and from a file',
        args: [
          `--config.file=${bad('b7.yaml', publisher(goodUrl(), `  telemetry_secret_file: ${join(dir, 'nope')}\n`))}`,
        ],
      },
      // Issue 15 item 1: YAML errors on the lines that hold the secrets.
      {
        what: 'YAML error: telemetry secret starting with @',
        args: [
          `--config.file=${bad('y1.yaml', publisher(goodUrl()).replace(`telemetry_secret: ${JSON.stringify(TELEMETRY_SECRET)}`, `telemetry_secret: @${TELEMETRY_SECRET.replace(/"/g, '')}`))}`,
        ],
      },
      {
        what: 'YAML error: unterminated quote in the telemetry secret',
        args: [
          `--config.file=${bad('y2.yaml', publisher(goodUrl()).replace(`telemetry_secret: ${JSON.stringify(TELEMETRY_SECRET)}`, `telemetry_secret: "${TELEMETRY_SECRET.replace(/"/g, '')}`))}`,
        ],
      },
      {
        what: 'YAML error: transport_url given twice',
        args: [
          `--config.file=${bad('y3.yaml', publisher(goodUrl(), `  transport_url: ${JSON.stringify(goodUrl())}\n`))}`,
        ],
      },
      // Issue 15 item 2: the password not percent-encoded ("/" and "@" in it; then ",").
      {
        what: 'transport URL with an unencoded password ("/", ":" and "@" in it)',
        args: [
          `--config.file=${bad('u1.yaml', publisher(`rabbit://${AMQP_USER}:${AMQP_PASSWORD}@127.0.0.1:${brokerPort}/`))}`,
        ],
      },
      {
        what: 'transport URL with an unencoded "," in the password',
        args: [
          `--config.file=${bad('u2.yaml', publisher(`rabbit://${AMQP_USER}:amqp-S3cret,5672@127.0.0.1:${brokerPort}/`))}`,
        ],
      },
      {
        what: 'basic-auth hash with a bad cost',
        args: [
          '--config.check',
          `--web.config.file=${bad('w1.yml', `basic_auth_users:\n  ${BASIC_USER}: ${JSON.stringify(BASIC_HASH.replace('$10$', '$99$'))}\n`)}`,
        ],
      },
      {
        what: 'basic-auth hash truncated',
        args: [
          '--config.check',
          `--web.config.file=${bad('w2.yml', `basic_auth_users:\n  ${BASIC_USER}: ${JSON.stringify(BASIC_HASH.slice(0, 50))}\n`)}`,
        ],
      },
      {
        what: 'basic-auth hash under a second user of the same name',
        args: [
          '--config.check',
          `--web.config.file=${bad('w3.yml', `basic_auth_users:\n  ${BASIC_USER}: ${JSON.stringify(BASIC_HASH)}\n  ${BASIC_USER}: ${JSON.stringify(BASIC_HASH)}\n`)}`,
        ],
      },
    ];
    const outputs: { what: string; text: string }[] = [];
    let refusedOk = 0;
    for (const r of refused) {
      const args = r.args.includes('--config.check') ? r.args : ['--config.check', ...r.args];
      const res = await run(args);
      outputs.push({ what: `refused: ${r.what}`, text: res.output });
      if (res.code !== 0) refusedOk += 1;
      rec.check(
        `refused with a message: ${r.what}`,
        res.code !== 0 && res.output.trim() !== '',
        `exit ${res.code}: ${res.output.trim().split('\n').slice(0, 2).join(' ').slice(0, 200)}`,
      );
    }
    const valid = await run([
      '--config.check',
      `--config.file=${bad('ok.yaml', `web:\n  config_file: ${join(dir, 'web.yml')}\n${publisher(goodUrl())}`)}`,
    ]);
    outputs.push({ what: '--config.check of a valid configuration', text: valid.output });
    rec.check(
      '--config.check accepts the valid configuration',
      valid.code === 0,
      `exit ${valid.code}: ${valid.output.trim()}`,
    );

    // The search.
    const everything = [
      { what: 'the exporter’s output (stdout and stderr, debug)', text: e.output() },
      ...served.map((s) => ({ what: `served: ${s.what}`, text: s.response.text })),
      ...outputs,
    ];
    const found = everything.flatMap((x) => leaks(x.text).map((l) => `${l} in ${x.what}`));
    const bytes = everything.reduce((n, x) => n + Buffer.byteLength(x.text), 0);
    const logLines = e.output().split('\n').filter(Boolean).length;
    rec.figure('log lines searched (level debug)', logLines);
    rec.figure('responses searched', served.length);
    rec.figure('refused configurations searched', refused.length + 1);
    rec.figure('bytes searched', bytes);
    rec.figure('forms of the secrets searched for', Object.keys(NEEDLES).length);
    rec.figure('secrets found', found.length);
    rec.check(
      'the publisher logged its failed connections (there was something to search)',
      /publisher/.test(e.output()) && /(connect|broker|ECONNREFUSED)/i.test(e.output()),
      'publisher connection failures in the log',
    );
    rec.check(
      'no secret in anything printed or served',
      found.length === 0,
      found.length === 0 ? `none in ${everything.length} texts` : found.slice(0, 10).join('; '),
    );
    rec.figure('refused configurations', `${refusedOk} of ${refused.length}`);
    rec.table(
      'Where the secrets were searched',
      ['text', 'bytes', 'secrets found'],
      everything.map((x) => [
        x.what.replace(/\|/g, '\\|'),
        String(Buffer.byteLength(x.text)),
        leaks(x.text).join(', ') || 'none',
      ]),
    );
    rec.finish();
  });
});

describe('issue 15 item 4: SIGHUP re-reads a changed secret file (no web configuration)', () => {
  test('item 4: the publisher restarts when only the secret file changed', async () => {
    lab('up');
    const dir = mkdtempSync(join(tmpdir(), 'secrets-reload-'));
    const secretFile = join(dir, 'telemetry-secret');
    writeFileSync(secretFile, `${TELEMETRY_SECRET}\n`, { mode: 0o600 });
    const configFile = join(dir, 'config.yaml');
    // Without a web configuration, a reload keeps the HTTP server and restarts only what changed.
    writeFileSync(
      configFile,
      `publisher:\n  enabled: true\n  transport_url: "rabbit://u:p@127.0.0.1:${await freePort()}/"\n  telemetry_secret_file: ${secretFile}\n  polling:\n    sources:\n      - { name: fast, interval: 60, meters: ["*"] }\n`,
    );
    const e = await spawnExporter([`--config.file=${configFile}`]);
    try {
      const count = (needle: string): number => e.output().split(needle).length - 1;
      await waitFor(() => count('"msg":"publisher started"') === 1, 30_000, 'the publisher started');
      writeFileSync(secretFile, `${TELEMETRY_SECRET}-rotated\n`);
      e.signal('SIGHUP');
      await waitFor(() => count('"msg":"configuration reloaded"') === 1, 30_000, 'the reload');
      await waitFor(() => count('"msg":"publisher started"') === 2, 10_000, 'the publisher restarted').catch(
        () => undefined,
      );
      const started = count('"msg":"publisher started"');
      if (started !== 2)
        throw new Error(`publisher started ${started} time(s); expected 2 (the secret file changed)`);
      // The same file again: nothing to restart.
      e.signal('SIGHUP');
      await waitFor(() => count('"msg":"configuration reloaded"') === 2, 30_000, 'the second reload');
      if (count('"msg":"publisher started"') !== 2)
        throw new Error('the publisher restarted without a change');
    } finally {
      await e.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
