// SPDX-License-Identifier: Apache-2.0
// The single executable of `npm run package` passes the exporter's own integration test
// (test/integration/exporter.test.ts, run again with LIBVIRT_EXPORTER_BIN) with no `node` on the
// PATH it runs with: every scrape check, inspect, the SIGHUP reload, libvirtd down and back.
// It reuses dist/pkg/libvirt-exporter when that was built from this very tree (package.test.ts,
// which sorts first, builds it in CI), else builds it.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_OPTIONS } from '../../src/heap.ts';
import { startExporter } from '../helpers/exporter.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const EXE = join(REPO, 'dist', 'pkg', 'libvirt-exporter');

/** The revision the bundler writes in (as scripts/bundle.ts asks git). */
function revision(): string {
  return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
}

/** True when dist/pkg holds an executable of this version and revision, built after the last change. */
function upToDate(version: string): boolean {
  if (!existsSync(EXE)) return false;
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'package-lock.json'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (dirty.trim() !== '') return false;
  const r = spawnSync(EXE, ['--version'], { encoding: 'utf8', env: {} });
  return r.stdout.startsWith(`libvirt-exporter ${version} (revision ${revision()},`);
}

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  delete rest['NODE_TEST_CONTEXT'];
  return rest;
}

describe('the single executable', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

  before(() => {
    if (!upToDate(pkg.version)) {
      execFileSync('sh', ['scripts/package.sh'], { cwd: REPO, stdio: 'inherit', timeout: 600_000 });
    }
  });

  test('runs with an empty environment (no PATH, no Node.js) and embeds Node.js 24', () => {
    const r = spawnSync(EXE, ['--version'], { encoding: 'utf8', env: {} });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^libvirt-exporter ${pkg.version} \\(revision \\w+, Node\\.js v24\\.`));
    // Its code cache was made with its own execArgv (scripts/package.sh), else V8 rejects it at each start.
    assert.doesNotMatch(r.stderr, /Code cache data rejected/);
  });

  test("passes the exporter's integration test with no node on its PATH", () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/integration/exporter.test.ts'],
      {
        cwd: REPO,
        encoding: 'utf8',
        // (Without NODE_TEST_CONTEXT: the inner run reports as a run of its own, not to this one.)
        env: { ...withoutTestContext(process.env), LIBVIRT_EXPORTER_BIN: EXE },
        timeout: 300_000,
      },
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^ℹ fail 0$/m);
    assert.match(r.stdout, /^ℹ pass [1-9]\d*$/m);
  });

  test("runs with the launchers' Node.js options (its execArgv): the listening line names them, no hint", async () => {
    const saved = process.env['LIBVIRT_EXPORTER_BIN'];
    process.env['LIBVIRT_EXPORTER_BIN'] = EXE;
    try {
      const e = await startExporter(['--log.format=json']);
      try {
        // (The line follows the first health answer by a moment: wait for it, at most 10 s.)
        for (let i = 0; i < 100 && !e.output().includes('"msg":"listening"'); i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const lines = e
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        const listening = lines.find((l) => l['msg'] === 'listening');
        assert.ok(listening, e.output());
        const options = String(listening['node_options']).split(' ');
        for (const o of DAEMON_NODE_OPTIONS) assert.ok(options.includes(o), `node_options: ${options.join(' ')}`);
        assert.ok(!e.output().includes('started without node'), e.output());
      } finally {
        await e.stop();
      }
    } finally {
      if (saved === undefined) delete process.env['LIBVIRT_EXPORTER_BIN'];
      else process.env['LIBVIRT_EXPORTER_BIN'] = saved;
    }
  });
});
