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
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial size instead of doubling
 *   under allocation (read at each scavenge);
 * - `--heap-growing-percent`: the old generation may grow by this share of the live heap before the
 *   next full collection, instead of V8's factor of up to 4 (read at each full collection).
 *
 * The heap cap (`--max-old-space-size`, which needs the command line) stays where it belongs, in the
 * launchers and the chart; this module reports it (`heapLimitBytes`) and refuses nothing.
 * `LIBVIRT_EXPORTER_V8_FLAGS` replaces the flags below (empty: V8's defaults), to compare in a benchmark.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/** The flags set at start, unless LIBVIRT_EXPORTER_V8_FLAGS says otherwise. */
export const DAEMON_V8_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=30'] as const;

/** The flags applied, as a list (for the logs). */
export const appliedV8Flags: readonly string[] = (() => {
  const env = process.env['LIBVIRT_EXPORTER_V8_FLAGS'];
  const flags = env === undefined ? [...DAEMON_V8_FLAGS] : env.split(/\s+/).filter((f) => f !== '');
  for (const f of flags) setFlagsFromString(f);
  return flags;
})();

/** The V8 heap's hard limit in bytes (`--max-old-space-size` and the young generation). */
export function heapLimitBytes(): number {
  return getHeapStatistics().heap_size_limit;
}
