// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Watches the files the running configuration was read from (the configuration file, the web
 * configuration file and the TLS files it names) and calls back when one of them changes on disk, so
 * that a certificate renewed by cert-manager is served without a SIGHUP (which nothing sends in
 * Kubernetes) and without a sidecar.
 *
 * Each file's directory is watched, not the file: Kubernetes updates a mounted Secret or ConfigMap by
 * swapping a `..data` symlink in that directory, and tools replace files by renaming, both of which a
 * watch on the old file would miss. Events are debounced (a renewal writes the certificate and the key
 * one after the other), then the files' contents are compared with what was last seen: an event about
 * another file of the same directory calls nothing.
 */
import { createHash } from 'node:crypto';
import { watch as fsWatch, readFileSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A directory watch: calls `listener` on any event, `onError` when the watch fails. */
export type WatchDir = (
  dir: string,
  listener: () => void,
  onError: (err: Error) => void,
) => { close(): void };

/** What {@link watchFiles} needs. The defaults are the real file system. */
export interface WatchFilesOptions {
  /** Called once per debounced burst of changes, with the files whose contents changed. */
  readonly onChange: (changed: readonly string[]) => void;
  /** A watch that cannot be set up or fails later (the file is then no longer watched). */
  readonly onError?: (err: Error, dir: string) => void;
  /** Quiet time before the files are compared (default 1 s). */
  readonly debounceMs?: number;
  readonly watchDir?: WatchDir;
  /** A fingerprint of a file's content (default: its SHA-256, or the error code when unreadable). */
  readonly fingerprint?: (path: string) => string;
  /** The target of a symlink, whose directory is watched too (default: fs.realpathSync). */
  readonly realpath?: (path: string) => string;
}

/** Fingerprints of files' contents, by absolute path. */
export type Fingerprints = ReadonlyMap<string, string>;

/** A running watch. */
export interface FileWatcher {
  /**
   * Watches these files instead (after a reload that named other files); their contents become the
   * reference: as in `reference` for the files it has, as they are now for the others.
   */
  update(paths: readonly string[], reference?: Fingerprints): void;
  /** The files watched now. */
  readonly paths: readonly string[];
  /** The fingerprints of the watched files' contents now (read now, not the reference). */
  fingerprints(): Map<string, string>;
  /**
   * Makes `reference` (taken by {@link FileWatcher.fingerprints} before a reload read the files) what
   * the files are compared with: a change the reload has already read calls nothing, and one made
   * after the fingerprints were taken still differs from them and calls `onChange`.
   */
  settle(reference: Fingerprints): void;
  close(): void;
}

/** Whether `a` and `b` fingerprint the same files with the same contents. */
export function sameFingerprints(a: Fingerprints, b: Fingerprints): boolean {
  if (a.size !== b.size) return false;
  for (const [path, print] of a) if (b.get(path) !== print) return false;
  return true;
}

function contentFingerprint(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return `unreadable:${typeof code === 'string' ? code : (err as Error).message}`;
  }
}

const realWatchDir: WatchDir = (dir, listener, onError) => {
  const w = fsWatch(dir, { persistent: false }, () => {
    listener();
  });
  w.on('error', onError);
  return w;
};

/** The directories to watch for `files`: each file's own, and its symlink target's. */
function dirsOf(files: readonly string[], realpath: (path: string) => string): Set<string> {
  const dirs = new Set<string>();
  for (const f of files) {
    dirs.add(dirname(f));
    try {
      dirs.add(dirname(realpath(f)));
    } catch {
      // missing for now: its own directory is watched, and it is compared when that changes
    }
  }
  return dirs;
}

/** Makes `watchers` watch exactly `dirs`: closes the others, opens the missing ones. */
function watchDirs(
  watchers: Map<string, { close(): void }>,
  dirs: ReadonlySet<string>,
  open: (dir: string, fail: (err: Error) => void) => { close(): void },
  onError: ((err: Error, dir: string) => void) | undefined,
): void {
  for (const [dir, w] of watchers) {
    if (!dirs.has(dir)) {
      w.close();
      watchers.delete(dir);
    }
  }
  for (const dir of dirs) {
    if (watchers.has(dir)) continue;
    const fail = (err: Error): void => {
      watchers.get(dir)?.close();
      watchers.delete(dir);
      onError?.(err, dir);
    };
    try {
      watchers.set(dir, open(dir, fail));
    } catch (err) {
      onError?.(err as Error, dir);
    }
  }
}

/** Watches `paths` (see the module comment). */
export function watchFiles(paths: readonly string[], options: WatchFilesOptions): FileWatcher {
  const debounceMs = options.debounceMs ?? 1000;
  const watchDir = options.watchDir ?? realWatchDir;
  const fingerprint = options.fingerprint ?? contentFingerprint;
  const realpath = options.realpath ?? ((p: string) => realpathSync(p));
  let files: string[] = [];
  const seen = new Map<string, string>();
  const watchers = new Map<string, { close(): void }>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const check = (): void => {
    timer = undefined;
    if (closed) return;
    const changed: string[] = [];
    for (const f of files) {
      const now = fingerprint(f);
      if (seen.get(f) !== now) {
        seen.set(f, now);
        changed.push(f);
      }
    }
    if (changed.length > 0) options.onChange(changed);
  };
  const onEvent = (): void => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
  };

  const update = (next: readonly string[], reference?: Fingerprints): void => {
    files = [...new Set(next.map((p) => resolve(p)))];
    seen.clear();
    for (const f of files) seen.set(f, reference?.get(f) ?? fingerprint(f));
    watchDirs(
      watchers,
      dirsOf(files, realpath),
      (dir, fail) => watchDir(dir, onEvent, fail),
      options.onError,
    );
  };

  update(paths);
  return {
    update,
    get paths() {
      return files;
    },
    fingerprints: () => new Map(files.map((f) => [f, fingerprint(f)])),
    settle(reference) {
      for (const f of files) {
        const print = reference.get(f);
        if (print !== undefined) seen.set(f, print);
      }
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
