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
 * The young generation's size is the one setting that cannot come from here: V8 takes its initial (and
 * smallest) size from `--min-semi-space-size` when it creates the heap, and NODE_OPTIONS refuses that flag.
 * So every launcher this project ships passes {@link DAEMON_NODE_OPTIONS} on Node.js's command line: the
 * single executable (scripts/package.sh, its SEA configuration's `execArgv`: the systemd unit and the
 * packages), the container image's ENTRYPOINT (the Helm chart runs it) and `bin/libvirt-exporter.js`
 * (npm's bin). Only `node dist/main.js` typed by hand runs without them, and {@link youngGenerationHint}
 * says so in the log.
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

const MiB = 2 ** 20;

/** The flags set at start, unless LIBVIRT_EXPORTER_V8_FLAGS says otherwise. */
export const DAEMON_V8_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=30'] as const;

/** The young generation's size the launchers give it: MiB per semi-space (V8's initial size: 1). */
export const YOUNG_SEMI_SPACE_MIB = 4;

/**
 * Node.js options every launcher passes before the script (see the module's description): the young
 * generation's initial size, which is also the smallest V8 shrinks it to.
 *
 * NOTE: 4 MiB semi-spaces: with V8's 1 MiB a scrape runs many scavenges and promotes its own garbage
 * into the old generation. bench/small-soak.ts at 50 guests, 300 scrapes each, same build, 1, 4, 1 MiB
 * one after the other on a loaded machine: 1 MiB 29.7 and 32.0 ms CPU per scrape, RSS max 106.6 and
 * 111.5 MiB, heap total 32.6 and 32.1; 4 MiB 25.9 ms, 115.1 MiB, 36.3 (two semi-spaces committed).
 * A trade of RSS for CPU: 2 and 8 MiB are variants of bench/footprint.ts, to be weighed there.
 * NOTE: not set from inside the process (tried, with figures in the commit): growing it at run time
 * (growth factor set, objects kept alive across forced scavenges until it has the size, factor 1 again)
 * reaches 2, 4 or 8 MiB exactly, but V8 shrinks it back to its initial size at the first scavenge after
 * an idle spell (allocation throughput below 1000 bytes/ms, or a memory-reducing collection): with
 * scrapes 15 s apart it was at 1 MiB again from the second scrape on.
 */
export const DAEMON_NODE_OPTIONS = [`--min-semi-space-size=${YOUNG_SEMI_SPACE_MIB}`] as const;

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
export type GcFunction = (options: { type: 'major' | 'minor'; execution: 'sync'; flavor?: 'last-resort' }) => void;

/** V8's own gc(): only reachable through --expose-gc, which a context created while it is set gets. */
function v8Gc(): GcFunction {
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as GcFunction;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/**
 * The young generation's capacity, bytes: one semi-space (a little less than its nominal size: page
 * headers), read right after a scavenge run for it.
 */
export function youngGenerationCapacity(gc: GcFunction = v8Gc()): number {
  // NOTE: `space_size` is the memory committed, one semi-space or both (a memory-reducing collection
  // releases the idle one), and `used + available` drifts between collections; right after a scavenge
  // it is the capacity that --trace-gc-verbose prints.
  gc({ type: 'minor', execution: 'sync' });
  const s = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  return s === undefined ? Number.NaN : s.space_used_size + s.space_available_size;
}

/**
 * A line for the log when this process was started without {@link DAEMON_NODE_OPTIONS} (its young
 * generation is smaller than theirs), else undefined.
 * @param capacity the young generation's capacity after {@link settleHeap}, bytes
 */
export function youngGenerationHint(capacity: number): string | undefined {
  // 90 %: the capacity leaves out the page headers.
  if (capacity >= 0.9 * YOUNG_SEMI_SPACE_MIB * MiB) return undefined;
  return (
    `young generation ${(capacity / MiB).toFixed(1)} MiB: started without node ${DAEMON_NODE_OPTIONS.join(' ')} ` +
    '(the packages, the container image and bin/libvirt-exporter.js pass it); scrapes cost more CPU in garbage collection'
  );
}

/**
 * Once the exporter has loaded its modules and started: one memory-reducing full collection, which
 * also shrinks the young generation back to its initial size ({@link DAEMON_NODE_OPTIONS}; V8's 1 MiB
 * semi-spaces without them). Does nothing when LIBVIRT_EXPORTER_V8_FLAGS is set but empty (V8's
 * defaults). Costs a few tens of ms, once.
 * @returns the young generation's capacity before and after, bytes ({@link youngGenerationCapacity})
 */
export function settleHeap(): { before: number; after: number } | undefined {
  if (override?.trim() === '') return undefined;
  const gc = v8Gc();
  const before = youngGenerationCapacity(gc);
  // The flavour that reduces memory, which shrinks the young generation to its initial size.
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return { before, after: youngGenerationCapacity(gc) };
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
