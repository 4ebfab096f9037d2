// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * V8 heap settings that fit a per-node daemon, applied by the exporter's own entry point (src/main.ts
 * imports this module first), so that every way of starting it gets them: `node dist/main.js`, the npm
 * bin, a single-file bundle or a single executable, with no command-line flag or NODE_OPTIONS to forget.
 *
 * Only flags that V8 reads while it runs can be set from inside the process (`--max-semi-space-size` and
 * `--max-old-space-size` are read once, when the heap is created). Node's defaults let the young
 * generation grow to 16 MiB semi-spaces (48 MiB with the space it is copied into) and let garbage that
 * a scrape promoted wait in the old generation until the heap has doubled; for a process whose whole live
 * heap is a few tens of MiB, that is most of its resident memory. So:
 *
 * - `--semi-space-growth-factor=1`: the young generation keeps its size instead of doubling under
 *   allocation (read at each scavenge);
 * - `--heap-growing-percent`: the old generation may grow by this share of the live heap before the
 *   next full collection, instead of V8's factor of up to 4 (read at each full collection).
 *
 * An ES module's imports are all read and compiled before the first of them runs, so in the compiled
 * build (`node dist/main.js`, about 150 files) the young generation has already grown to 16 MiB by the
 * time these flags are set (the single-file bundle runs this module before it loads the rest).
 * {@link settleHeap}, called once the exporter has started, brings it back to its initial size, where the
 * flag above keeps it (bench/footprint.ts measures both builds).
 *
 * Some settings cannot come from here: V8 reads them when it creates its heap and its platform, before
 * any script runs, and NODE_OPTIONS refuses them. So every launcher this project ships passes
 * {@link DAEMON_NODE_OPTIONS} on Node.js's command line: the single executable (scripts/package.sh, its SEA
 * configuration's `execArgv`: the systemd unit and the packages), the container image's ENTRYPOINT (the
 * Helm chart runs it) and `bin/libvirt-exporter.js` (npm's bin). Only `node dist/main.js` typed by hand
 * runs without them, and {@link launcherOptionsHint} says so in the log.
 *
 * The heap cap is V8's own limit (`heap_size_limit`: `--max-old-space-size` from the command line or
 * NODE_OPTIONS, else what Node.js derives from the memory it may use, a container's limit included).
 * {@link watchHeapLimit} turns a heap about to reach it into a clear fatal log line and an exit with
 * {@link HEAP_EXIT_CODE}, which systemd (`Restart=on-failure`) and Kubernetes restart, instead of V8's
 * abort ("Reached heap limit Allocation failed") with a core dump, or minutes of back-to-back full
 * collections before it.
 * `LIBVIRT_EXPORTER_V8_FLAGS` replaces the flags below, to compare in a benchmark (empty: V8's defaults,
 * and no settling; other flags are still followed by {@link settleHeap}, so that they compare like for like).
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** The flags set at start, unless LIBVIRT_EXPORTER_V8_FLAGS says otherwise. */
export const DAEMON_V8_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=30'] as const;

/**
 * Node.js options every launcher passes before the script (see the module's description).
 *
 * NOTE: `--single-threaded`: V8 compiles optimized code and collects garbage on the main thread instead of
 * in background threads, whose compiler zones and marking work lists took memory of their own (glibc's
 * second arena). An exporter serves a scrape every few seconds and has no use for extra cores: on a compute
 * node they are the guests'. bench/small-soak.ts at 50 guests (3240 series), same build, three interleaved
 * rounds of 200 back-to-back scrapes, 2026-12-04: steady RSS 112.2 / 112.3 / 111.3 MiB without it,
 * 103.8 / 103.1 / 103.5 with it (-8.5 MiB); CPU per scrape 21.7 / 22.3 / 22.2 ms without, 21.0 / 22.8 /
 * 23.0 with (the same within the noise). `--single-threaded-gc` alone: 112.9 / 109.1 MiB (so the saving
 * is mostly the compilers' threads, not the collector's). The benchmark's footprint variants, one process
 * of 200 scrapes each: at 5e810a9 they disagreed once (102.8 MiB without it against 104.2 with); at
 * f38de3f they agreed (107.9 MiB at 13.8 ms without it, 103.4 MiB at 13.4 ms with; docs/performance.md).
 * NOTE: not adopted from the same rounds, because they trade memory for CPU and CPU is this exporter's
 * strength against the Go peer while memory is its weakness: `--min-semi-space-size=2` (the young
 * generation's initial size, 1 MiB by default; fewer scavenges per scrape) 18.8 / 20.2 ms for 111.2 /
 * 110.1 MiB, and 20.9 / 20.3 / 18.4 ms for 106.7 / 106.1 / 108.0 MiB with `--single-threaded`;
 * `--min-semi-space-size=4` 19.2 / 23.4 ms for 113.8 / 119.4 MiB. bench/footprint.ts keeps them as variants.
 */
export const DAEMON_NODE_OPTIONS = ['--single-threaded'] as const;

const override = process.env['LIBVIRT_EXPORTER_V8_FLAGS'];

/** The flags applied, as a list (for the logs). */
export const appliedV8Flags: readonly string[] = (() => {
  const flags = override === undefined ? [...DAEMON_V8_FLAGS] : override.split(/\s+/).filter((f) => f !== '');
  for (const f of flags) setFlagsFromString(f);
  return flags;
})();

/** The V8 heap's hard limit in bytes (`--max-old-space-size` and the young generation). */
export function heapLimitBytes(): number {
  return getHeapStatistics().heap_size_limit;
}

/** V8's `gc()` with its options (the `--expose-gc` extension). */
type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * A line for the log when this process was started without every one of {@link DAEMON_NODE_OPTIONS}
 * (`node dist/main.js` by hand), else undefined.
 * @param execArgv the Node.js options of this process (`process.execArgv`: a single executable's
 *   `execArgv` included)
 */
export function launcherOptionsHint(execArgv: readonly string[] = process.execArgv): string | undefined {
  const missing = DAEMON_NODE_OPTIONS.filter((o) => !execArgv.includes(o));
  if (missing.length === 0) return undefined;
  return (
    `started without node ${missing.join(' ')} (the packages, the container image, bin/libvirt-exporter.js ` +
    'and npm run demo pass it): V8 runs its compilers in background threads, which hold about 8 MiB more resident memory'
  );
}

/**
 * Once the exporter has loaded its modules and started: one memory-reducing full collection, which
 * also shrinks the young generation back to its initial size (1 MiB semi-spaces). Does nothing when
 * LIBVIRT_EXPORTER_V8_FLAGS is set but empty (V8's defaults). Costs a few tens of ms, once.
 * @returns the young generation's size before and after, bytes
 */
export function settleHeap(): { before: number; after: number } | undefined {
  if (override?.trim() === '') return undefined;
  const newSpace = (): number =>
    getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? Number.NaN;
  const before = newSpace();
  // V8's own gc(), with the flavour that reduces memory: it is only reachable through --expose-gc,
  // which a context created while the flag is set gets; the flag is cleared again at once.
  setFlagsFromString('--expose-gc');
  let gc: GcFunction;
  try {
    gc = runInNewContext('gc') as GcFunction;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return { before, after: newSpace() };
}

/** The exit code of a process whose heap reached its limit (EX_SOFTWARE of sysexits.h). */
export const HEAP_EXIT_CODE = 70;

/** Share of its limit that the old generation still in use after a full collection may reach. */
export const HEAP_LIMIT_SHARE = 0.9;

/** What {@link watchHeapLimit} found. */
export interface HeapLimitReached {
  /** Old generation still in use after a full collection, bytes. */
  readonly usedBytes: number;
  /** Its limit, bytes (see {@link oldGenerationLimitBytes}). */
  readonly limitBytes: number;
}

/** Options of {@link watchHeapLimit}; the defaults watch this process's V8 heap. */
export interface HeapWatchOptions {
  /** Called once, when the old generation in use after a full collection reaches `share` of its limit. */
  readonly onLimit: (reached: HeapLimitReached) => void;
  /** Default {@link HEAP_LIMIT_SHARE}. */
  readonly share?: number;
  /** The heap's figures (default: this process's old generation, {@link oldGeneration}). */
  readonly stats?: () => HeapLimitReached;
  /**
   * Calls its argument after each full (major) collection and returns a function that stops; default:
   * a PerformanceObserver of `gc` entries.
   */
  readonly afterFullGc?: (check: () => void) => () => void;
}

const MiB = 2 ** 20;

/**
 * The old generation's limit, bytes: what V8 aborts at. `heap_size_limit` adds the young generation's
 * reserve (three semi-spaces) to it, which is no part of what a leak fills: with `--max-old-space-size=N`
 * on the command line or in NODE_OPTIONS the limit is N MiB; else V8 sized both from the memory it may
 * use, the semi-space being 1/64 of the old generation.
 */
export function oldGenerationLimitBytes(
  limit = heapLimitBytes(),
  args: readonly string[] = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)],
): number {
  let flag: number | undefined;
  for (const a of args) {
    const m = /^--max[-_]old[-_]space[-_]size=(\d+)$/.exec(a);
    if (m?.[1] !== undefined) flag = Number(m[1]) * MiB;
  }
  return flag !== undefined ? Math.min(flag, limit) : limit / (1 + 3 / 64);
}

/** This process's old generation: what is in use (the heap but the young generation) and its limit. */
export function oldGeneration(): HeapLimitReached {
  const young = getHeapSpaceStatistics()
    .filter((s) => s.space_name === 'new_space' || s.space_name === 'new_large_object_space')
    .reduce((n, s) => n + s.space_used_size, 0);
  return { usedBytes: getHeapStatistics().used_heap_size - young, limitBytes: oldGenerationLimitBytes() };
}

/** A PerformanceObserver that calls `check` after each major collection. */
function observeFullGc(check: () => void): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        check();
        return;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
  };
}

/**
 * Watches the old generation after each full collection and calls `onLimit` once when what is still
 * in use reaches `share` of its limit: past that point V8 spends its time in full collections and then
 * aborts. Returns a function that stops watching.
 */
export function watchHeapLimit(options: HeapWatchOptions): () => void {
  const share = options.share ?? HEAP_LIMIT_SHARE;
  const stats = options.stats ?? oldGeneration;
  let fired = false;
  const stop = (options.afterFullGc ?? observeFullGc)(() => {
    if (fired) return;
    const s = stats();
    if (s.usedBytes >= share * s.limitBytes) {
      fired = true;
      stop();
      options.onLimit(s);
    }
  });
  return stop;
}

/** The fatal log message for a heap at its limit (with the figures as fields). */
export function heapLimitMessage(r: HeapLimitReached): string {
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  return (
    `JavaScript heap nearly full: ${mib(r.usedBytes)} MiB still in use after a full garbage collection, ` +
    `limit ${mib(r.limitBytes)} MiB; exiting with code ${HEAP_EXIT_CODE} so that the service manager starts ` +
    'a fresh process (raise the limit with NODE_OPTIONS=--max-old-space-size=MiB or the container memory limit)'
  );
}
