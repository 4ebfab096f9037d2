// SPDX-License-Identifier: Apache-2.0
// The one load path of the start and every reload (src/server.ts): what a reload keeps and what it
// builds again. No libvirt is needed: the inspector connects lazily, to a socket that does not exist.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Writable } from 'node:stream';
import { parseCli } from '../../src/cli/flags.ts';
import { createSelfMetrics } from '../../src/http/self-metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { apply, load, start, stop, type Running, type ServerContext } from '../../src/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'server-test-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const file = join(dir, 'config.yaml');
const cli = parseCli([`--config.file=${file}`]);
const ctx: ServerContext = {
  log: createLogger(
    'error',
    new Writable({
      write: (_c, _e, done) => {
        done();
      },
    }),
  ),
  self: createSelfMetrics(),
  systemd: false,
};

function write(libvirtUri: string, listen = '127.0.0.1:0', level = 'info'): void {
  writeFileSync(
    file,
    [
      'libvirt:',
      `  uri: ${libvirtUri}`,
      'web:',
      `  listen_address: "${listen}"`,
      'log:',
      `  level: ${level}`,
      'collectors:',
      '  events: { enabled: false }',
      '',
    ].join('\n'),
  );
}

const URI = `qemu:///system?socket=${join(dir, 'no-such-socket')}`;

test('load: the configuration, its digests and the files to watch, the same for the start and a reload', async () => {
  write(URI);
  const loaded = await load(cli);
  assert.equal(loaded.config.libvirt.uri, URI);
  assert.equal(loaded.web, undefined);
  assert.deepEqual(loaded.watched, [file]);
  assert.deepEqual(await load(cli), loaded, 'loading the same files twice gives the same result');
});

test('load: a bad listen address stops the load with its message', async () => {
  write(URI, 'localhost');
  await assert.rejects(load(cli), /invalid listen address "localhost"/);
});

test('apply: the server and the libvirt connection are kept or rebuilt by what changed', async () => {
  write(URI);
  let r: Running = await start(await load(cli), ctx);
  try {
    const first = r;
    // Only the log level: everything is kept.
    write(URI, '127.0.0.1:0', 'debug');
    r = await apply(r, await load(cli), ctx);
    assert.equal(r.app, first.app, 'same server');
    assert.equal(r.inspector, first.inspector, 'same libvirt connection');
    assert.equal(r.deps.config.log.level, 'debug', 'the app reads the new configuration');

    // Another libvirt URI: a new inspector under the same server.
    const other = `${URI}-2`;
    write(other, '127.0.0.1:0', 'debug');
    r = await apply(r, await load(cli), ctx);
    assert.equal(r.app, first.app, 'same server');
    assert.notEqual(r.inspector, first.inspector, 'a new libvirt connection');
    assert.equal(r.deps.inspector, r.inspector, 'the app uses it');

    // Another listen address: a new server, the libvirt connection kept.
    const kept = r.inspector;
    write(other, '127.0.0.2:0', 'debug');
    r = await apply(r, await load(cli), ctx);
    assert.notEqual(r.app, first.app, 'a new server');
    assert.equal(first.app.server.listening, false, 'the old one is closed');
    assert.equal(r.inspector, kept, 'same libvirt connection');
  } finally {
    await stop(r);
  }
});
