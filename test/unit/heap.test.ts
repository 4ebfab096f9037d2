// SPDX-License-Identifier: Apache-2.0
// src/heap.ts: the heap-limit watch (decision on injected figures, then a real V8 heap with a small
// --max-old-space-size reaching it in a child process), settleHeap() shrinking a grown young generation,
// and the launchers' Node.js options (DAEMON_NODE_OPTIONS).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SHIPPED_NODE_ARGS } from '../helpers/shipped.ts';
import {
  DAEMON_NODE_OPTIONS,
  HEAP_EXIT_CODE,
  heapLimitMessage,
  oldGenerationLimitBytes,
  watchHeapLimit,
  type HeapLimitReached,
} from '../../src/heap.ts';

const HEAP = fileURLToPath(new URL('../../src/heap.ts', import.meta.url));
const MiB = 2 ** 20;

/** A hand-driven "after each full collection" source and heap figures. */
function fakeHeap(limit: number): {
  used: number;
  gc: () => void;
  stopped: () => boolean;
  options: Pick<Parameters<typeof watchHeapLimit>[0], 'stats' | 'afterFullGc'>;
} {
  let check: (() => void) | undefined;
  let stopped = false;
  const h = {
    used: 0,
    gc: () => check?.(),
    stopped: () => stopped,
    options: {
      stats: () => ({ usedBytes: h.used, limitBytes: limit }),
      afterFullGc: (c: () => void) => {
        check = c;
        return () => {
          stopped = true;
          check = undefined;
        };
      },
    },
  };
  return h;
}

/** Runs an ES module script in a fresh Node.js with tsx (so that it can import src/heap.ts). */
function node(args: readonly string[], script: string, env: NodeJS.ProcessEnv = {}) {
  const rest = { ...process.env };
  delete rest['LIBVIRT_EXPORTER_V8_FLAGS'];
  return spawnSync(process.execPath, [...args, '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...rest, ...env },
    timeout: 60_000,
  });
}

describe('watchHeapLimit', () => {
  it('calls onLimit once, when the heap in use after a full collection reaches the share of the limit', () => {
    const h = fakeHeap(100 * MiB);
    const calls: HeapLimitReached[] = [];
    watchHeapLimit({ ...h.options, share: 0.9, onLimit: (r) => calls.push(r) });
    h.used = 89 * MiB;
    h.gc();
    assert.deepEqual(calls, [], 'below 90 % of the limit: nothing');
    h.used = 90 * MiB;
    h.gc();
    assert.deepEqual(calls, [{ usedBytes: 90 * MiB, limitBytes: 100 * MiB }]);
    assert.equal(h.stopped(), true, 'the watch stops once it fired');
    h.used = 99 * MiB;
    h.gc();
    assert.equal(calls.length, 1);
  });

  it('stops watching when asked', () => {
    const h = fakeHeap(100 * MiB);
    let fired = false;
    const stop = watchHeapLimit({ ...h.options, onLimit: () => (fired = true) });
    stop();
    h.used = 100 * MiB;
    h.gc();
    assert.equal(fired, false);
    assert.equal(h.stopped(), true);
  });

  it('says what is full, the figures, the exit code and how to raise the limit', () => {
    const m = heapLimitMessage({ usedBytes: 58.5 * MiB, limitBytes: 64 * MiB });
    assert.match(m, /^JavaScript heap nearly full: 58\.5 MiB still in use after a full garbage collection/);
    assert.match(m, /limit 64\.0 MiB/);
    assert.match(m, new RegExp(`exiting with code ${HEAP_EXIT_CODE}`));
    assert.match(m, /--max-old-space-size/);
  });

  it('exits a real process whose live heap grows to its --max-old-space-size with the message, before V8 aborts', () => {
    // Keeps about 200 KiB more alive at every turn of the event loop (as a leak across scrapes would), with the
    // daemon's own watch: it must fire before V8's "Reached heap limit" abort.
    const r = node(
      ['--max-old-space-size=32'],
      `
      const { watchHeapLimit, heapLimitMessage, HEAP_EXIT_CODE } = await import(${JSON.stringify(HEAP)});
      watchHeapLimit({ onLimit: (r) => { process.stderr.write(heapLimitMessage(r) + '\\n'); process.exit(HEAP_EXIT_CODE); } });
      const kept = [];
      const grow = () => { kept.push(Array.from({ length: 8192 }, (_, i) => ({ i }))); setImmediate(grow); };
      grow();
      `,
    );
    assert.equal(r.status, HEAP_EXIT_CODE, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr.slice(-2000)}`);
    assert.match(r.stderr, /JavaScript heap nearly full: [\d.]+ MiB still in use .*limit [\d.]+ MiB/);
    assert.doesNotMatch(r.stderr, /Reached heap limit/);
  });
});

describe('oldGenerationLimitBytes', () => {
  it('is --max-old-space-size when the command line or NODE_OPTIONS sets it (the last one wins)', () => {
    assert.equal(
      oldGenerationLimitBytes(224 * MiB, ['--max-old-space-size=64', '--max_old_space_size=32']),
      32 * MiB,
    );
  });
  it("else V8's limit without the young generation's three semi-spaces of 1/64 of the old generation", () => {
    // 4 GiB of old generation and 64 MiB semi-spaces: V8's heap_size_limit of 4288 MiB.
    assert.equal(oldGenerationLimitBytes(4288 * MiB, []), 4096 * MiB);
  });
});

describe('settleHeap', () => {
  it('brings a young generation that grew before the flags were set back to its initial size', () => {
    // As in the compiled ES module build: allocation first (module loading), the daemon's flags after.
    const r = node(
      [],
      `
      let garbage;
      for (let i = 0; i < 200000; i++) garbage = { i, s: 'x' + i, a: [i, i] };
      const { settleHeap } = await import(${JSON.stringify(HEAP)});
      process.stdout.write(JSON.stringify(settleHeap()));
      `,
    );
    assert.equal(r.status, 0, r.stderr);
    const { before, after } = JSON.parse(r.stdout) as { before: number; after: number };
    assert.ok(before > 2 * MiB, `the young generation grew first (${before} bytes)`);
    assert.ok(after <= 2 * MiB, `back to its initial size (${after} bytes, from ${before})`);
  });

  it('does nothing when LIBVIRT_EXPORTER_V8_FLAGS replaces the daemon settings', () => {
    const r = node(
      [],
      `const { settleHeap } = await import(${JSON.stringify(HEAP)}); process.stdout.write(String(settleHeap()));`,
      { LIBVIRT_EXPORTER_V8_FLAGS: '' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'undefined');
  });
});

describe("the launchers' Node.js options (DAEMON_NODE_OPTIONS)", () => {
  it('a process started with them logs no hint; without one, a hint that names it', () => {
    const script = `
      const { launcherOptionsHint } = await import(${JSON.stringify(HEAP)});
      process.stdout.write(JSON.stringify(launcherOptionsHint() ?? null));
    `;
    const withThem = node(DAEMON_NODE_OPTIONS, script);
    assert.equal(withThem.status, 0, withThem.stderr);
    assert.equal(JSON.parse(withThem.stdout), null);
    const without = node([], script);
    assert.equal(without.status, 0, without.stderr);
    const hint = JSON.parse(without.stdout) as string;
    for (const o of DAEMON_NODE_OPTIONS) assert.ok(hint.includes(`node ${o}`), hint);
  });

  it('NODE_OPTIONS refuses them, which is why the launchers pass them on the command line', () => {
    for (const o of DAEMON_NODE_OPTIONS) {
      const r = spawnSync(process.execPath, ['-e', '0'], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: o },
        timeout: 60_000,
      });
      assert.notEqual(r.status, 0, o);
      assert.match(r.stderr, /not allowed in NODE_OPTIONS/);
    }
  });

  it('every launcher the project ships passes them (SEA execArgv, image ENTRYPOINT, npm bin, demo, the benchmark)', () => {
    const read = (f: string): string =>
      readFileSync(fileURLToPath(new URL(`../../${f}`, import.meta.url)), 'utf8');
    const sea = /"execArgv": (\[[^\]]*\])/.exec(read('scripts/package.sh'));
    assert.deepEqual(JSON.parse(sea?.[1] ?? 'null'), [...DAEMON_NODE_OPTIONS], 'scripts/package.sh sea.json');
    // The code cache's maker runs with the same options, or V8 rejects the cache at each start.
    const maker = /^node (.*) --experimental-sea-config /m.exec(read('scripts/package.sh'));
    assert.deepEqual(
      maker?.[1]?.split(' '),
      [...DAEMON_NODE_OPTIONS],
      'scripts/package.sh --experimental-sea-config',
    );
    const entry = /^ENTRYPOINT (.*)$/m.exec(read('Dockerfile'));
    assert.deepEqual(
      JSON.parse(entry?.[1] ?? 'null'),
      ['/nodejs/bin/node', ...DAEMON_NODE_OPTIONS, '/app/libvirt-exporter.cjs'],
      'Dockerfile',
    );
    assert.equal(
      read('bin/libvirt-exporter.js').split('\n')[0],
      `#!/usr/bin/env -S node ${DAEMON_NODE_OPTIONS.join(' ')}`,
    );
    assert.match(
      read('scripts/demo.sh'),
      new RegExp(`^exec node ${DAEMON_NODE_OPTIONS.join(' ')} --import tsx src/main\\.ts "\\$@"$`, 'm'),
      'scripts/demo.sh',
    );
    // The benchmark and the tests that run the bundle as it ships (bench/lib/targets.ts imports the same).
    assert.deepEqual(SHIPPED_NODE_ARGS, [...DAEMON_NODE_OPTIONS]);
    assert.match(
      read('bench/lib/targets.ts'),
      /import \{ SHIPPED_ENV, SHIPPED_NODE_ARGS \} from '\.\.\/\.\.\/test\/helpers\/shipped\.ts'/,
    );
  });

  it('the npm bin starts Node.js with them (the shebang, run as a program)', () => {
    const bin = fileURLToPath(new URL('../../bin/libvirt-exporter.js', import.meta.url));
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^libvirt-exporter /);
  });
});
