// SPDX-License-Identifier: Apache-2.0
/**
 * Issue 15 item 1: a YAML error in any file the exporter reads (the configuration, polling.yaml; the
 * web configuration is in test/unit/http/web-hardening.test.ts) gives line, column and code only,
 * never the line that holds a secret (nor the line before it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/load.ts';
import { loadPollingFile, PollingConfigError } from '../../../src/publisher/polling.ts';

/** TEST ONLY secret. */
const SECRET = 'Zq7-topsecret-4411';

const broken: [string, string, RegExp][] = [
  [
    'a value starting with @',
    `publisher:\n  telemetry_secret: @${SECRET}\n`,
    /line 2, column 21: bad scalar start/,
  ],
  [
    'an unterminated quote',
    `publisher:\n  telemetry_secret: "${SECRET}\n  enabled: true\n`,
    /line \d+, column \d+: missing char/,
  ],
  [
    'a duplicated transport_url key',
    `publisher:\n  transport_url: rabbit://u:${SECRET}@h/\n  transport_url: rabbit://u:${SECRET}@h/\n`,
    /line 3, column 3: duplicate key/,
  ],
];

test('issue 15 item 1: YAML errors in the configuration quote no line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yaml-secrets-'));
  try {
    for (const [what, text, re] of broken) {
      const file = join(dir, 'config.yaml');
      writeFileSync(file, text);
      assert.throws(
        () => loadConfig(file),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, what);
          assert.match(err.message, re, `${what}: ${err.message}`);
          assert.ok(err.message.includes(file), `${what}: the file is named`);
          assert.ok(!err.message.includes('topsecret'), `${what}: the secret leaked: ${err.message}`);
          assert.ok(!err.message.includes('telemetry_secret'), `${what}: a line was quoted: ${err.message}`);
          return true;
        },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('issue 15 item 1: YAML errors in polling.yaml quote no line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'yaml-secrets-'));
  try {
    const file = join(dir, 'polling.yaml');
    writeFileSync(file, `sources:\n  - name: "${SECRET}\n    interval: 300\n`);
    await assert.rejects(loadPollingFile(file), (err: unknown) => {
      assert.ok(err instanceof PollingConfigError);
      assert.match(err.message, /line \d+, column \d+: /);
      assert.ok(err.message.includes(file));
      assert.ok(!err.message.includes('topsecret'), err.message);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
