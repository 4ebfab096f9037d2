// SPDX-License-Identifier: Apache-2.0
/**
 * Issue 15 item 4: one-line warnings for a secret file others can read and for an AMQP password sent
 * over plain TCP, and the file digest that makes a reload (SIGHUP) notice a changed secret file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesDigest, secretFileWarning } from '../../../src/config/secret-file.ts';
import { parseTransportUrl, plainTcpPasswordWarning } from '../../../src/publisher/transport-url.ts';

test('item 4: a secret file readable by its group or everyone gets a warning; mode 600 none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'secret-file-'));
  try {
    const file = join(dir, 'secret');
    writeFileSync(file, 'TEST ONLY\n');
    chmodSync(file, 0o640);
    assert.match(
      (await secretFileWarning(file, 'publisher.telemetry_secret_file')) ?? '',
      /^publisher\.telemetry_secret_file .*secret holds a secret and its group can read it \(mode 0640\)/,
    );
    chmodSync(file, 0o604);
    assert.match((await secretFileWarning(file, 'k')) ?? '', /every user can read it/);
    chmodSync(file, 0o600);
    assert.equal(await secretFileWarning(file, 'k'), undefined);
    assert.equal(await secretFileWarning(join(dir, 'missing'), 'k'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('item 4: the digest of the files changes with their content (a reload then restarts the section)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'secret-file-'));
  try {
    const file = join(dir, 'url');
    writeFileSync(file, 'rabbit://u:one@h/\n');
    const before = await filesDigest([file, undefined]);
    assert.equal(await filesDigest([file]), before);
    writeFileSync(file, 'rabbit://u:two@h/\n');
    assert.notEqual(await filesDigest([file]), before);
    assert.doesNotMatch(before, /one|rabbit/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('item 4: the AMQP password over plain TCP to another host gets a warning; TLS or loopback none', () => {
  const remote = parseTransportUrl('rabbit://u:p@broker.example:5672/');
  assert.match(plainTcpPasswordWarning(remote, false) ?? '', /over plain TCP/);
  assert.equal(plainTcpPasswordWarning(remote, true), undefined);
  for (const local of ['rabbit://u:p@127.0.0.1/', 'rabbit://u:p@localhost/', 'rabbit://u:p@[::1]/'])
    assert.equal(plainTcpPasswordWarning(parseTransportUrl(local), false), undefined, local);
});
