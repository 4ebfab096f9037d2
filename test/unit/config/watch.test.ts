// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { sameFingerprints, watchFiles, type WatchDir } from '../../../src/config/watch.ts';

/** A fake file system: contents by path, and the directory watches set up on it. */
function fakeFs() {
  const content = new Map<string, string>();
  const listeners = new Map<string, { listener: () => void; onError: (err: Error) => void }>();
  const watchDir: WatchDir = (dir, listener, onError) => {
    listeners.set(dir, { listener, onError });
    return {
      close: () => {
        listeners.delete(dir);
      },
    };
  };
  return {
    content,
    listeners,
    watchDir,
    fingerprint: (p: string) => content.get(p) ?? 'missing',
    realpath: (p: string) => {
      if (!content.has(p)) throw new Error('ENOENT');
      return p;
    },
    /** Changes a file and fires its directory's watch. */
    write(path: string, text: string, dir = path.slice(0, path.lastIndexOf('/'))) {
      content.set(path, text);
      listeners.get(dir)?.listener();
    },
  };
}

describe('watchFiles: a debounced reload when a watched file changes', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  test('a burst of events calls once, after the quiet time, with the files that changed', () => {
    const fs = fakeFs();
    fs.content.set('/tls/tls.crt', 'cert 1');
    fs.content.set('/tls/tls.key', 'key 1');
    fs.content.set('/etc/exporter/config.yaml', 'a: 1');
    const calls: (readonly string[])[] = [];
    const w = watchFiles(['/tls/tls.crt', '/tls/tls.key', '/etc/exporter/config.yaml'], {
      onChange: (c) => calls.push(c),
      debounceMs: 1000,
      ...fs,
    });
    assert.deepEqual([...fs.listeners.keys()].sort(), ['/etc/exporter', '/tls']);
    fs.write('/tls/tls.crt', 'cert 2');
    mock.timers.tick(600);
    fs.write('/tls/tls.key', 'key 2');
    mock.timers.tick(999);
    assert.deepEqual(calls, [], 'nothing before the quiet time');
    mock.timers.tick(1);
    assert.deepEqual(calls, [['/tls/tls.crt', '/tls/tls.key']]);
    w.close();
  });

  test('an event about another file of the directory, or the same content again, calls nothing', () => {
    const fs = fakeFs();
    fs.content.set('/etc/exporter/config.yaml', 'a: 1');
    const calls: (readonly string[])[] = [];
    const w = watchFiles(['/etc/exporter/config.yaml'], { onChange: (c) => calls.push(c), ...fs });
    fs.write('/etc/exporter/unrelated', 'x');
    fs.write('/etc/exporter/config.yaml', 'a: 1');
    mock.timers.tick(5000);
    assert.deepEqual(calls, []);
    fs.write('/etc/exporter/config.yaml', 'a: 2');
    mock.timers.tick(1000);
    assert.deepEqual(calls, [['/etc/exporter/config.yaml']]);
    w.close();
  });

  test('a file that disappears and comes back (a Kubernetes ..data swap) counts as changes', () => {
    const fs = fakeFs();
    fs.content.set('/tls/tls.crt', 'cert 1');
    const calls: (readonly string[])[] = [];
    const w = watchFiles(['/tls/tls.crt'], { onChange: (c) => calls.push(c), ...fs });
    fs.content.delete('/tls/tls.crt');
    fs.listeners.get('/tls')?.listener();
    mock.timers.tick(1000);
    fs.write('/tls/tls.crt', 'cert 2');
    mock.timers.tick(1000);
    assert.deepEqual(calls, [['/tls/tls.crt'], ['/tls/tls.crt']]);
    w.close();
  });

  test('update() swaps the files and directories watched; close() stops everything', () => {
    const fs = fakeFs();
    fs.content.set('/a/x', '1');
    fs.content.set('/b/y', '1');
    const calls: (readonly string[])[] = [];
    const w = watchFiles(['/a/x'], { onChange: (c) => calls.push(c), ...fs });
    w.update(['/b/y']);
    assert.deepEqual([...fs.listeners.keys()], ['/b']);
    assert.deepEqual(w.paths, ['/b/y']);
    fs.write('/b/y', '2');
    w.close();
    mock.timers.tick(5000);
    assert.deepEqual(calls, [], 'a pending check is cancelled by close()');
    assert.equal(fs.listeners.size, 0);
  });

  test('settle(): a change a reload already read calls nothing; one made after its fingerprints does', () => {
    const fs = fakeFs();
    fs.content.set('/etc/exporter/config.yaml', 'a: 1');
    fs.content.set('/etc/exporter/web.yml', 'w: 1');
    const calls: (readonly string[])[] = [];
    const w = watchFiles(['/etc/exporter/config.yaml', '/etc/exporter/web.yml'], {
      onChange: (c) => calls.push(c),
      ...fs,
    });
    const applied = w.fingerprints();
    // Written, then a SIGHUP reload reads it before the watcher's quiet time is over (main.ts).
    fs.write('/etc/exporter/config.yaml', 'a: 2');
    const read = w.fingerprints();
    assert.equal(sameFingerprints(read, applied), false, 'a SIGHUP reload loads the new content');
    w.settle(read);
    mock.timers.tick(5000);
    assert.deepEqual(calls, [], 'the watcher does not reload it a second time');

    // Written while a reload runs, after its fingerprints were taken: still reloaded.
    const before = w.fingerprints();
    fs.write('/etc/exporter/web.yml', 'w: 2');
    w.settle(before);
    mock.timers.tick(1000);
    assert.deepEqual(calls, [['/etc/exporter/web.yml']]);

    // The watcher sees a change first (its reload is queued behind one in progress, which took its
    // fingerprints before the change and settles after): the queued reload finds content that differs
    // from what the last reload read, so main.ts runs it.
    fs.write('/etc/exporter/config.yaml', 'a: 3');
    mock.timers.tick(1000);
    assert.deepEqual(calls, [['/etc/exporter/web.yml'], ['/etc/exporter/config.yaml']]);
    w.settle(before);
    assert.equal(sameFingerprints(w.fingerprints(), before), false);
    w.close();
  });

  test('sameFingerprints: the same files with the same contents', () => {
    const a = new Map([
      ['/x', '1'],
      ['/y', '2'],
    ]);
    assert.equal(
      sameFingerprints(
        a,
        new Map([
          ['/y', '2'],
          ['/x', '1'],
        ]),
      ),
      true,
    );
    assert.equal(
      sameFingerprints(
        a,
        new Map([
          ['/x', '1'],
          ['/y', '3'],
        ]),
      ),
      false,
    );
    assert.equal(sameFingerprints(a, new Map([['/x', '1']])), false);
    assert.equal(sameFingerprints(new Map([['/x', '1']]), a), false);
  });

  test('update() with a reference: the files it has are compared with it, the others as they are now', () => {
    const fs = fakeFs();
    fs.content.set('/a/x', '2');
    fs.content.set('/b/y', '1');
    const calls: (readonly string[])[] = [];
    const w = watchFiles(['/a/x'], { onChange: (c) => calls.push(c), ...fs });
    // A reload read /a/x as "1" (it changed since) and now names /b/y too.
    w.update(['/a/x', '/b/y'], new Map([['/a/x', '1']]));
    fs.listeners.get('/a')?.listener();
    mock.timers.tick(1000);
    assert.deepEqual(calls, [['/a/x']]);
    w.close();
  });

  test('a directory that cannot be watched is reported, the others still work', () => {
    const fs = fakeFs();
    fs.content.set('/ok/f', '1');
    const errors: string[] = [];
    const calls: (readonly string[])[] = [];
    const w = watchFiles(['/gone/f', '/ok/f'], {
      onChange: (c) => calls.push(c),
      onError: (_e, dir) => errors.push(dir),
      ...fs,
      watchDir: (dir, l, e) => {
        if (dir === '/gone') throw new Error('ENOENT');
        return fs.watchDir(dir, l, e);
      },
    });
    assert.deepEqual(errors, ['/gone']);
    fs.write('/ok/f', '2');
    mock.timers.tick(1000);
    assert.deepEqual(calls, [['/ok/f']]);
    // A watch that fails later is reported and dropped.
    fs.listeners.get('/ok')?.onError(new Error('EMFILE'));
    assert.deepEqual(errors, ['/gone', '/ok']);
    w.close();
  });
});
