// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The shape of a benchmark run's results, as stored in bench/results/<N>-guests.json and rendered into
 * docs/performance.md.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import type { MicroResult } from '../micro.ts';
import type { FootprintResult } from './footprint.ts';
import type { CallCount } from './strace.ts';
import type { ProfileSummary } from './profile.ts';
import type { Summary } from './stats.ts';

/** The phases of the micro-benchmark, each timed on its own, and the whole route. */
export const PHASES = ['reassemble', 'xdr', 'stats', 'collectors', 'exposition', 'e2e', 'gzip'] as const;
/** One of {@link PHASES}. */
export type Phase = (typeof PHASES)[number];
/** The phases issue 16's target adds up: what the exporter computes for a scrape (decode + collectors + exposition). */
export const TARGET_PHASES = ['xdr', 'stats', 'collectors', 'exposition'] as const satisfies readonly Phase[];

/** The sum of the CPU p50 of {@link TARGET_PHASES}, ms. */
export function targetPhaseSum(phases: Readonly<Record<Phase, Timing>>): number {
  return TARGET_PHASES.reduce((n, p) => n + phases[p].cpu.p50, 0);
}

/** Wall time and CPU time (the process, all threads) of one phase, ms. */
export interface Timing {
  readonly wall: Summary;
  readonly cpu: Summary;
}

/** The machine and the versions of everything measured. */
export interface Environment {
  readonly date: string;
  readonly command: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly versions: Readonly<Record<string, string>>;
  /** Node.js options the exporter processes ran with ('' as shipped). */
  readonly nodeArgs?: string;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

/** The guests of a run. */
export interface Guests {
  /** Running and paused guests (what `--guests` asks for). */
  readonly active: number;
  /** Shut-off guests listed too (the lab's core has one). */
  readonly shutoff: number;
  /** Of the active guests, the tiny real Linux guests (the rest boot no OS). */
  readonly tiny: number;
  readonly extras: number;
  /** Of the extras, how many were kept paused (`--running`; absent: none). */
  readonly pausedExtras?: number;
}

/** One thing measured in the interleaved rounds. */
export interface MethodResult {
  readonly label: string;
  /** Latency of the valid rounds, ms (for virsh: its own --timing figure). */
  readonly latency: Summary;
  /** virsh only: the wall time of the whole virsh process (start, connect, call, print). */
  readonly wall?: Summary;
  /** Process CPU (user + system) during a scrape, mean over the valid samples, ms; undefined for virsh. */
  readonly cpuMsPerScrape?: number;
  /** The process's CPU over the whole comparison (idle time between its samples included) per scrape. */
  readonly cpuMsPerScrapeWithIdle?: number;
  /** The process's RSS at the end of the comparison, KiB (undefined for virsh). */
  readonly rssKiB?: number;
  /** libvirtd CPU during this method's samples, per sample, ms. */
  readonly libvirtdCpuMs: number;
  /** Sample lines served (virsh: stat fields printed). */
  readonly series: number;
  /** Of those, the ones about libvirt (without process and runtime metrics). */
  readonly libvirtSeries: number;
  readonly bodyBytes: number;
  /** libvirt calls per scrape: from the exporter's own gauge, or counted with strace. */
  readonly roundTrips?: {
    readonly warm: readonly number[];
    readonly cold?: number;
    /** Domains listed by that first scrape (each needs its XML once). */
    readonly coldDomains?: number;
    readonly traced?: CallCount;
  };
  readonly shards?: number;
}

/** libvirtd's time for one bulk call of a set of stats groups over every guest (`virsh -t`, median). */
export interface GroupCost {
  readonly label: string;
  readonly flags: string;
  readonly ms: number;
}

/** The interleaved comparison. */
export interface Comparison {
  /** What each stats group costs libvirtd (measured after the rounds). */
  readonly groups?: readonly GroupCost[];
  readonly rounds: number;
  readonly attempted: number;
  readonly discarded: readonly string[];
  readonly methods: Readonly<Record<string, MethodResult>>;
  /** Shard counts swept, in order; each has a method named `shards-N`. */
  readonly shards: readonly number[];
  readonly defaultShards: number;
  readonly coldScrapeMs: number;
  readonly date: string;
  readonly revision: string;
}

/** A long run of back-to-back full scrapes of a fresh exporter process. */
export interface Soak {
  readonly guests: number;
  /** Of the guests, the extras kept paused (`--running`; absent: none). */
  readonly paused?: number;
  readonly scrapes: number;
  readonly failed: number;
  readonly latency: Summary;
  readonly cpuMsPerScrape: number;
  readonly libvirtdCpuMsPerScrape: number;
  /**
   * Every 10 scrapes: [scrape number, RSS KiB, V8 heap used, V8 heap total, memory outside the V8 heap
   * (Buffers, zlib) in bytes], the last three as the exporter serves them.
   */
  readonly memory: readonly (readonly [number, number, number, number?, number?])[];
  readonly rssStartKiB: number;
  readonly rssEndKiB: number;
  readonly rssMaxKiB: number;
  /** Least-squares slope of RSS over the second half of the run, KiB per 100 scrapes. */
  readonly rssSlopeKiBPer100: number;
  readonly heapStartBytes: number;
  readonly heapEndBytes: number;
  readonly roundTrips: readonly number[];
  /** How many valid scrapes made each number of libvirt calls. */
  readonly roundTripCounts?: Readonly<Record<string, number>>;
  /** Why scrapes did not count, and how many. */
  readonly failures?: Readonly<Record<string, number>>;
  /** The exporter's own libvirt counters at the end of the run (calls, errors, abandoned calls, reconnects). */
  readonly counters?: Readonly<Record<string, number>>;
  readonly series: number;
  /** RSS of a bare `node` process that only waits, for comparison. */
  readonly nodeBaselineRssKiB: number;
  /** Objects in a heap snapshot taken at the end (after the full GC a snapshot makes), bytes. */
  readonly liveHeapBytes?: number;
  /** RSS just before that snapshot, KiB. */
  readonly rssBeforeSnapshotKiB?: number;
  /** A shorter run of the same process under --cpu-prof: where the CPU of a real scrape goes. */
  readonly liveProfile?: ProfileSummary & { readonly scrapes: number };
  /** RSS once the process listens, before its first scrape (the code it loaded), KiB. */
  readonly rssAfterStartKiB?: number;
  /** The steady RSS: the largest sample of the second half of the run, KiB. */
  readonly rssSteadyKiB?: number;
  /** The same back-to-back scrapes of other processes: the Go peer, the single-file bundle. */
  readonly others?: Readonly<Record<string, ProcessSoak>>;
  readonly date: string;
  readonly revision: string;
}

/** Back-to-back scrapes of one process other than the compiled exporter (the Go peer, the bundle). */
export interface ProcessSoak {
  readonly label: string;
  /** How it was started (the command, without the ports and files the benchmark chose). */
  readonly command: string;
  readonly scrapes: number;
  readonly failed: number;
  readonly latency: Summary;
  readonly cpuMsPerScrape: number;
  /** Every 10 scrapes: [scrape number, RSS KiB, V8 heap used, V8 heap total, external bytes] (NaN when not served). */
  readonly memory: readonly (readonly [number, number, number, number, number])[];
  readonly rssAfterStartKiB: number;
  readonly rssSteadyKiB: number;
  readonly rssMaxKiB: number;
  readonly series: number;
}

/** Everything one run measured; sections not run are absent. */
export interface Results {
  readonly environment: Environment;
  readonly guests?: Guests;
  readonly comparison?: Comparison;
  readonly soak?: Soak;
  readonly micro?: MicroResult & { readonly date: string; readonly revision: string };
  /** bench/footprint.ts against the run's guests. */
  readonly footprint?: FootprintResult & { readonly revision: string };
  readonly profile?: ProfileSummary & { readonly loopMsPerScrape: number };
}

/** The results file of a guest count. */
export function resultsFile(dir: string, guests: number): string {
  return `${dir}/${guests}-guests.json`;
}

/** Reads a results file, or undefined. */
export function readResults(file: string): Results | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as Results;
}

/** Every stored results file, by guest count. */
export function allResults(dir: string): Map<number, Results> {
  const out = new Map<number, Results>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) {
    const m = /^(\d+)-guests\.json$/.exec(f);
    if (m) {
      const r = readResults(`${dir}/${f}`);
      if (r) out.set(Number(m[1]), r);
    }
  }
  return out;
}

/** Writes a results file (sections of this run replace the stored ones; the others are kept). */
export function writeResults(dir: string, guests: number, r: Results): Results {
  mkdirSync(dir, { recursive: true });
  const file = resultsFile(dir, guests);
  const old = readResults(file);
  const fresh = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Partial<Results>;
  const merged = { ...(old ?? {}), ...fresh } as Results;
  writeFileSync(file, `${JSON.stringify(merged, null, 1)}\n`);
  return merged;
}
