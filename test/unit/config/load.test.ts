// SPDX-License-Identifier: Apache-2.0
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../../src/config/load.ts';

const dir = fileURLToPath(new URL('../../fixtures/config/', import.meta.url));
const files = readdirSync(dir).sort();

describe('configuration files', () => {
  for (const f of files.filter((x) => x.endsWith('.good.yaml'))) {
    test(`${f} is valid`, () => {
      const c = loadConfig(dir + f);
      assert.equal(Object.isFrozen(c.web), true, 'deep-frozen');
    });
  }
  for (const f of files.filter((x) => x.endsWith('.bad.yaml'))) {
    test(`${f} is rejected with a message naming the fault`, () => {
      const expect = /# expect: (.+)/.exec(readFileSync(dir + f, 'utf8'))?.[1];
      assert.ok(expect, 'the fixture says what to expect');
      assert.throws(
        () => loadConfig(dir + f),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.ok(err.message.includes(expect), `"${err.message}" should contain "${expect}"`);
          return true;
        },
      );
    });
  }
  test('a missing file is named', () => {
    assert.throws(
      () => loadConfig('/nonexistent/config.yaml'),
      /cannot read configuration file \/nonexistent\/config.yaml/,
    );
  });
});

describe('defaults and overrides', () => {
  test('defaults live in the schema', () => {
    const c = loadConfig(undefined);
    assert.equal(c.libvirt.uri, 'qemu:///system');
    assert.equal(c.libvirt.read_only, true);
    assert.equal(c.web.listen_address, ':9177');
    assert.equal(c.web.telemetry_path, '/metrics');
    assert.equal(c.collectors.domain.enabled, true);
    assert.equal(c.collectors.job.enabled, false);
    assert.equal(c.metrics.inovex_compatibility, true);
    assert.equal(c.publisher.enabled, false);
  });
  test('flag overrides win over the file', () => {
    const c = loadConfig(dir + 'identity.good.yaml', {
      'web.listen_address': '127.0.0.1:1',
      'collectors.cpu.enabled': true,
    });
    assert.equal(c.web.listen_address, '127.0.0.1:1');
    assert.equal(c.collectors.cpu.enabled, true);
    assert.deepEqual(c.metrics.identity_labels, ['project_id', 'instance_name']);
  });
});

test('docs/configuration.md is generated from the schema and up to date', () => {
  // The generator is a script: it runs as a process (tests import nothing from scripts/).
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/config-docs.ts', '--check'], {
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
});
