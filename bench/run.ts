// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The performance benchmark (issue 8): one command, on N real lab guests, interleaving in the same run
 * this exporter's full scrape, `virsh -r domstats` (the floor), Debian's prometheus-libvirt-exporter (the
 * Go peer), this exporter limited to what the peer exports, and a sweep of `libvirt.stats_shards`; then
 * 1000 back-to-back scrapes of a fresh process (CPU, RSS, heap), and the 1000-guest decode and exposition
 * micro-benchmark under the CPU profiler. It stores bench/results/<N>-guests.json and writes
 * docs/performance.md from the stored results.
 *
 *   npm run bench -- --guests 50                  everything (what docs/performance.md shows)
 *   npm run bench -- --guests 200 --only soak     the 200-guest RSS run
 *   npm run bench -- --help
 *
 * It needs root and the lab (test/lab/lab.sh, which it brings to N guests and back to the extra guests it
 * found); scripts/bench.sh installs the Go peer first. It is not a test: nothing here asserts.
 */
import { spawn } from 'node:child_process';
import type { FootprintResult } from './lib/footprint.ts';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { MicroResult } from './micro.ts';
import { coreActiveGuests, existingExtras, labEnv, labUp, libvirtdPid, MAX_EXTRA } from './lib/lab.ts';
import { cpuMs, loadAverage, rssKiB } from './lib/proc.ts';
import { summarizeProfile, type ProfileSummary } from './lib/profile.ts';
import { writeChart } from '../helm/tools/chart-sync.ts';
import { writeReport } from './report.ts';
import {
  allResults,
  writeResults,
  type Comparison,
  type Environment,
  type GroupCost,
  type Guests,
  type MethodResult,
  type ProcessSoak,
  type Results,
  type Soak,
  targetPhaseSum,
} from './lib/results.ts';
import { summarize } from './lib/stats.ts';
import { soakProcess } from './lib/soak.ts';
import { tracedCalls } from './lib/strace.ts';
import {
  BUNDLE,
  PEER_BINARY,
  SHIPPED_NODE_ARGS,
  buildBundle,
  buildExporter,
  sampleValue,
  scrape,
  seriesCount,
  settledRssKiB,
  startOurs,
  startPeer,
  versions,
  virshDomstats,
  type HttpTarget,
  type Sample,
} from './lib/targets.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECTIONS = ['compare', 'soak', 'footprint', 'micro'] as const;
type Section = (typeof SECTIONS)[number];
/** The collectors that cover what the Go peer exports: domain info and state, CPU time, disks, vNICs. */
const LIKE_FOR_LIKE = ['domain', 'cpu', 'block', 'interface'] as const;
/** The exporter's default `libvirt.stats_shards`. */
const DEFAULT_SHARDS = 4;

/**
 * The most guests that run by default; the others are paused. Each no-OS guest costs about 2 % of a core
 * under TCG: with 200 running on this 2-core machine the load average reached 110, `virsh domstats
 * --cpu-total` took 7 minutes and every inspection of the exporter hit its deadline (2026-12-04).
 */
const MAX_RUNNING_DEFAULT = 50;

const HELP = `usage: npm run bench -- [options]

  --guests N          running + paused lab guests (default 50; the lab's 5 core guests + N-5 extras, N <= 205)
  --running R         of those, how many run; the extra guests above R are kept paused (default: N, at most 50:
                      a 2-core machine cannot run 200 TCG guests and still answer libvirt's stats calls)
  --rounds R          interleaved rounds of the comparison (default 100)
  --scrapes S         back-to-back scrapes of the soak run (default 1000)
  --shards LIST       stats_shards values swept (default 1,2,3,4,6,8)
  --only LIST         sections to run: compare, soak, footprint, micro (default all)
  --micro-guests M    guests in the synthetic reply of the micro-benchmark (default 1000)
  --no-peer           leave the Go peer out
  --keep-guests       leave the lab at N guests (default: back to the extra guests found)
  --no-report         do not rewrite docs/performance.md
  --results DIR       where results are stored (default bench/results)
  --out FILE          the report (default docs/performance.md)
  --node-args="ARGS"  Node.js options for the exporter processes, e.g. --node-args="--max-semi-space-size=4"
  --profile-scrapes P scrapes of the soak's extra process under --cpu-prof (default 200; 0: none)
  --footprint-scrapes F  back-to-back scrapes of each process of the footprint section (bench/footprint.ts:
                      where the memory goes, bundle, V8 option sets, Go peer; default 200)
  --bundle FILE       the single-file bundle soaked beside the compiled build (default: one built
                      from this checkout by scripts/bundle.ts into the benchmark's cache; "none": not soaked)
  --bundle-node BIN   the node binary that runs the bundle (default: this one)
`;

interface Options {
  readonly guests: number;
  /** Of the guests, how many run (the extras above are paused). */
  readonly running: number;
  readonly rounds: number;
  readonly scrapes: number;
  readonly shards: readonly number[];
  readonly only: ReadonlySet<Section>;
  readonly microGuests: number;
  readonly peer: boolean;
  readonly keepGuests: boolean;
  readonly report: boolean;
  readonly resultsDir: string;
  readonly out: string;
  /** Node.js options for the exporter processes (to try V8 flags; none by default, as shipped). */
  readonly nodeArgs: readonly string[];
  /** Scrapes of the soak's profiled process (0: none). */
  readonly profileScrapes: number;
  /** Scrapes of each process of the footprint section. */
  readonly footprintScrapes: number;
  /** The single-file bundle to soak too, and the node binary that runs it (none when undefined). */
  readonly bundle: { readonly file: string; readonly node: string; readonly build: boolean } | undefined;
}

function int(v: string | undefined, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

function parseOptions(argv: readonly string[]): Options | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      guests: { type: 'string' },
      running: { type: 'string' },
      rounds: { type: 'string' },
      scrapes: { type: 'string' },
      shards: { type: 'string' },
      only: { type: 'string' },
      'micro-guests': { type: 'string' },
      'no-peer': { type: 'boolean', default: false },
      'keep-guests': { type: 'boolean', default: false },
      'no-report': { type: 'boolean', default: false },
      results: { type: 'string' },
      out: { type: 'string' },
      'node-args': { type: 'string' },
      'profile-scrapes': { type: 'string' },
      'footprint-scrapes': { type: 'string' },
      bundle: { type: 'string' },
      'bundle-node': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  const only = new Set<Section>();
  for (const s of (values.only ?? SECTIONS.join(',')).split(',')) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section "${s}"`);
    only.add(s as Section);
  }
  const guests = int(values.guests, 'guests', 5, 5 + MAX_EXTRA, 50);
  const shards = (values.shards ?? '1,2,3,4,6,8').split(',').map((s) => int(s, 'shards', 1, 64, 1));
  if (!shards.includes(DEFAULT_SHARDS)) shards.push(DEFAULT_SHARDS);
  return {
    guests,
    running: int(values.running, 'running', 5, guests, Math.min(guests, MAX_RUNNING_DEFAULT)),
    rounds: int(values.rounds, 'rounds', 5, 10_000, 100),
    scrapes: int(values.scrapes, 'scrapes', 10, 100_000, 1000),
    shards: [...new Set(shards)].sort((a, b) => a - b),
    only,
    microGuests: int(values['micro-guests'], 'micro-guests', 1, 16_384, 1000),
    peer: !values['no-peer'],
    keepGuests: values['keep-guests'],
    report: !values['no-report'],
    resultsDir: values.results ?? `${ROOT}bench/results`,
    out: values.out ?? `${ROOT}docs/performance.md`,
    nodeArgs: (values['node-args'] ?? '').split(' ').filter((a) => a !== ''),
    profileScrapes: int(values['profile-scrapes'], 'profile-scrapes', 0, 100_000, 200),
    footprintScrapes: int(values['footprint-scrapes'], 'footprint-scrapes', 10, 100_000, 200),
    bundle: bundleOption(values.bundle, values['bundle-node']),
  };
}

/**
 * The bundle to soak: the one named, else one built from this checkout by scripts/bundle.ts (into the
 * benchmark's cache, as the compiled build), unless `--bundle none`.
 */
function bundleOption(
  file: string | undefined,
  node: string | undefined,
): { file: string; node: string; build: boolean } | undefined {
  if (file === 'none') return undefined;
  if (file !== undefined && !existsSync(file)) throw new Error(`--bundle: ${file} does not exist`);
  return { file: file ?? BUNDLE, node: node ?? process.execPath, build: file === undefined };
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------------------
// The interleaved comparison
// ---------------------------------------------------------------------------------------------------------

/** One method of the comparison and how to take one sample of it. */
interface Method {
  readonly name: string;
  readonly label: string;
  readonly target?: HttpTarget;
  readonly query?: string;
  readonly shards?: number;
  /** Takes a sample and says whether it saw the expected guests. */
  sample(signal: AbortSignal): Promise<{ sample: Sample; ms: number; wallMs?: number; problem?: string }>;
}

interface Expected {
  readonly active: number;
  readonly all: number;
  /** Of the active guests, the extras kept paused (`--running`). */
  readonly paused: number;
}

function ourMethod(
  name: string,
  label: string,
  target: HttpTarget,
  expected: Expected,
  query = '',
  shards?: number,
): Method {
  return {
    name,
    label,
    target,
    query,
    ...(shards !== undefined ? { shards } : {}),
    async sample(signal) {
      const s = await scrape(`${target.url}${query}`, { signal });
      let problem: string | undefined;
      if (!s.ok) problem = s.error ?? 'failed';
      else if (sampleValue(s.body, 'libvirt_up') !== 1) problem = 'libvirt_up 0';
      else if (sampleValue(s.body, 'libvirt_domains') !== expected.all) {
        problem = `${sampleValue(s.body, 'libvirt_domains')} domains, not ${expected.all}`;
      }
      return { sample: s, ms: s.ms, ...(problem ? { problem } : {}) };
    },
  };
}

function peerMethod(target: HttpTarget, expected: Expected): Method {
  return {
    name: 'peer',
    label: 'prometheus-libvirt-exporter (Go peer)',
    target,
    async sample(signal) {
      const s = await scrape(target.url, { signal });
      let problem: string | undefined;
      if (!s.ok) problem = s.error ?? 'failed';
      else if (sampleValue(s.body, 'libvirt_up') !== 1) problem = 'peer: libvirt_up 0';
      else if (sampleValue(s.body, 'libvirt_domains_number') !== expected.active) {
        problem = `peer: ${sampleValue(s.body, 'libvirt_domains_number')} active domains, not ${expected.active}`;
      }
      return { sample: s, ms: s.ms, ...(problem ? { problem } : {}) };
    },
  };
}

function virshMethod(expected: Expected): Method {
  return {
    name: 'virsh',
    label: '`virsh -r domstats` (all groups, one call)',
    async sample(signal) {
      const s = await virshDomstats([], { signal });
      let problem: string | undefined;
      const domains = (s.body.match(/^Domain: '/gm) ?? []).length;
      if (!s.ok) problem = `virsh: ${s.error ?? 'failed'}`;
      else if (domains !== expected.all) problem = `virsh: ${domains} domains, not ${expected.all}`;
      return { sample: s, ms: s.commandMs, wallMs: s.ms, ...(problem ? { problem } : {}) };
    },
  };
}

interface Accumulator {
  latency: number[];
  wall: number[];
  libvirtdCpu: number[];
  roundTrips: number[];
  /** Process CPU during each sample, ms (clock ticks: 10 ms steps, averaged over the samples). */
  cpu: number[];
  lastBody: string;
  cpuStart: number;
  scrapes: number;
}

async function compare(
  opts: Options,
  main: string,
  expected: Expected,
  dir: string,
  signal: AbortSignal,
): Promise<Comparison> {
  const targets: HttpTarget[] = [];
  try {
    log(`starting ${opts.shards.length + 1} exporter processes${opts.peer ? ' and the Go peer' : ''}`);
    const byShards = new Map<number, HttpTarget>();
    for (const k of opts.shards) {
      const t = await startOurs(`shards-${k}`, main, k, dir, { signal, nodeArgs: opts.nodeArgs });
      targets.push(t);
      byShards.set(k, t);
    }
    const like = await startOurs('like', main, DEFAULT_SHARDS, dir, { signal, nodeArgs: opts.nodeArgs });
    targets.push(like);
    const peer = opts.peer ? await startPeer({ signal }) : undefined;
    if (peer) targets.push(peer);

    const full = byShards.get(DEFAULT_SHARDS)!;
    const likeQuery = `?${LIKE_FOR_LIKE.map((c) => `collect[]=${c}`).join('&')}`;
    const methods: Method[] = [
      virshMethod(expected),
      ourMethod(
        'full',
        `this exporter, full scrape (stats_shards ${DEFAULT_SHARDS}, the default)`,
        full,
        expected,
        '',
        DEFAULT_SHARDS,
      ),
      ourMethod(
        'like',
        'this exporter, like for like (domain, cpu, block, interface)',
        like,
        expected,
        likeQuery,
        DEFAULT_SHARDS,
      ),
      ...(peer ? [peerMethod(peer, expected)] : []),
      ...opts.shards
        .filter((k) => k !== DEFAULT_SHARDS)
        .map((k) =>
          ourMethod(`shards-${k}`, `this exporter, stats_shards ${k}`, byShards.get(k)!, expected, '', k),
        ),
    ];

    // Warm-up: the first scrape of each process reads every guest's XML (the cold round trips).
    let coldScrapeMs = Number.NaN;
    let coldRoundTrips = Number.NaN;
    let coldDomains = Number.NaN;
    for (const m of methods) {
      if (m.target === undefined) continue;
      for (let i = 0; i < 3; i++) {
        const s = await scrape(`${m.target.url}${m.query ?? ''}`, { signal });
        if (m.name === 'full' && i === 0) {
          coldScrapeMs = s.ms;
          coldRoundTrips = sampleValue(s.body, 'libvirt_scrape_libvirt_round_trips');
          coldDomains = sampleValue(s.body, 'libvirt_domains');
        }
      }
    }
    // The libvirt calls of one scrape, counted from outside with strace (not timed).
    const traced = new Map<string, Awaited<ReturnType<typeof tracedCalls>>>();
    for (const m of methods) {
      if (m.name !== 'full' && m.name !== 'peer' && m.name !== 'like') continue;
      traced.set(m.name, await tracedCalls(m.target!.pid, () => m.sample(signal), { signal }));
    }

    const acc = new Map<string, Accumulator>();
    for (const m of methods) {
      acc.set(m.name, {
        latency: [],
        wall: [],
        libvirtdCpu: [],
        cpu: [],
        roundTrips: [],
        lastBody: '',
        cpuStart: m.target ? cpuMs(m.target.pid) : Number.NaN,
        scrapes: 0,
      });
    }
    const discarded: string[] = [];
    let valid = 0;
    let attempted = 0;
    const maxAttempts = opts.rounds * 2 + 10;
    let lvPid = await libvirtdPid({ signal });
    log(`${opts.rounds} interleaved rounds of ${methods.length} methods`);
    while (valid < opts.rounds && attempted < maxAttempts) {
      signal.throwIfAborted();
      attempted++;
      // Rotate the order each round so that no method always follows the same one.
      const order = methods.map((_, i) => methods[(i + attempted) % methods.length]!);
      const round: { m: Method; ms: number; wallMs?: number; body: string; lvCpu: number; cpu: number }[] =
        [];
      let problem: string | undefined;
      for (const m of order) {
        const lv0 = lvPid !== undefined ? cpuMs(lvPid) : Number.NaN;
        const p0 = m.target ? cpuMs(m.target.pid) : Number.NaN;
        const r = await m.sample(signal);
        const p1 = m.target ? cpuMs(m.target.pid) : Number.NaN;
        const lv1 = lvPid !== undefined ? cpuMs(lvPid) : Number.NaN;
        if (m.target) acc.get(m.name)!.scrapes++;
        if (r.problem !== undefined) {
          problem = `${m.name}: ${r.problem}`;
          break;
        }
        round.push({
          m,
          ms: r.ms,
          ...(r.wallMs !== undefined ? { wallMs: r.wallMs } : {}),
          body: r.sample.body,
          lvCpu: lv1 - lv0,
          cpu: p1 - p0,
        });
      }
      if (problem !== undefined) {
        discarded.push(`round ${attempted}: ${problem}`);
        log(`round ${attempted} discarded (${problem})`);
        await sleep(1000);
        lvPid = await libvirtdPid({ signal });
        continue;
      }
      valid++;
      for (const r of round) {
        const a = acc.get(r.m.name)!;
        a.latency.push(r.ms);
        if (r.wallMs !== undefined) a.wall.push(r.wallMs);
        if (Number.isFinite(r.lvCpu)) a.libvirtdCpu.push(r.lvCpu);
        if (Number.isFinite(r.cpu)) a.cpu.push(r.cpu);
        a.lastBody = r.body;
        const rt = sampleValue(r.body, 'libvirt_scrape_libvirt_round_trips');
        if (Number.isFinite(rt)) a.roundTrips.push(rt);
      }
      if (valid % 10 === 0) log(`${valid}/${opts.rounds} rounds`);
    }

    const out: Record<string, MethodResult> = {};
    for (const m of methods) {
      const a = acc.get(m.name)!;
      const mean = (xs: number[]): number =>
        xs.length > 0 ? xs.reduce((x, y) => x + y, 0) / xs.length : Number.NaN;
      const isVirsh = m.name === 'virsh';
      const tr = traced.get(m.name);
      out[m.name] = {
        label: m.label,
        latency: summarize(a.latency),
        ...(isVirsh ? { wall: summarize(a.wall) } : {}),
        ...(m.target
          ? {
              cpuMsPerScrape: mean(a.cpu),
              cpuMsPerScrapeWithIdle: (cpuMs(m.target.pid) - a.cpuStart) / Math.max(1, a.scrapes),
              rssKiB: rssKiB(m.target.pid),
            }
          : {}),
        libvirtdCpuMs: mean(a.libvirtdCpu),
        series: isVirsh ? (a.lastBody.match(/^ {2}\S+=/gm) ?? []).length : seriesCount(a.lastBody),
        libvirtSeries: isVirsh
          ? (a.lastBody.match(/^ {2}\S+=/gm) ?? []).length
          : seriesCount(a.lastBody, 'libvirt_'),
        bodyBytes: Buffer.byteLength(a.lastBody),
        ...(m.target && m.name !== 'peer'
          ? {
              roundTrips: {
                warm: [...new Set(a.roundTrips)].sort((x, y) => x - y),
                ...(m.name === 'full' ? { cold: coldRoundTrips, coldDomains } : {}),
                ...(tr ? { traced: tr } : {}),
              },
            }
          : {}),
        ...(m.name === 'peer' && tr ? { roundTrips: { warm: [tr.total], traced: tr } } : {}),
        ...(m.shards !== undefined ? { shards: m.shards } : {}),
      };
    }
    const groups = await groupCosts(signal);
    const rev = (await versions({ signal }))['revision'] ?? 'unknown';
    return {
      groups,
      rounds: valid,
      attempted,
      discarded,
      methods: out,
      shards: opts.shards,
      defaultShards: DEFAULT_SHARDS,
      coldScrapeMs,
      date: new Date().toISOString(),
      revision: rev,
    };
  } finally {
    for (const t of targets) await t.stop();
  }
}

/** Stats groups (as virsh flags), alone and in the sets the targets compare. */
const GROUP_SETS: readonly (readonly [string, readonly string[]])[] = [
  ['state', ['--state']],
  ['cpu-total', ['--state', '--cpu-total']],
  ['balloon', ['--state', '--balloon']],
  ['vcpu', ['--state', '--vcpu']],
  ['interface', ['--state', '--interface']],
  ['block', ['--state', '--block']],
  [
    'what the Go peer reads: state, cpu-total, interface, block',
    ['--state', '--cpu-total', '--interface', '--block'],
  ],
  [
    "this exporter's default groups: state, cpu-total, balloon, vcpu, interface, block",
    ['--state', '--cpu-total', '--balloon', '--vcpu', '--interface', '--block'],
  ],
  ['every group (no flag)', []],
];

/** What libvirtd takes for one bulk call of each group set over every guest (median of 7, NOWAIT like the exporter). */
async function groupCosts(signal: AbortSignal): Promise<GroupCost[]> {
  log('stats groups: 7 calls of each set');
  const out: GroupCost[] = [];
  for (const [label, flags] of GROUP_SETS) {
    const ms: number[] = [];
    for (let i = 0; i < 7; i++) {
      const s = await virshDomstats([...flags, '--nowait'], { signal });
      if (s.ok) ms.push(s.commandMs);
    }
    out.push({ label, flags: flags.join(' '), ms: summarize(ms).p50 });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The soak run: back-to-back scrapes of a fresh process
// ---------------------------------------------------------------------------------------------------------

function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** RSS of a Node.js process that does nothing, in KiB. */
async function nodeBaselineRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  await sleep(1000);
  const kib = child.pid !== undefined ? rssKiB(child.pid) : Number.NaN;
  child.kill('SIGTERM');
  return kib;
}

/** Profiles `scrapes` full scrapes of a fresh process against the lab (`--cpu-prof`, written at exit). */
async function liveProfile(
  opts: Options,
  main: string,
  scrapes: number,
  dir: string,
  signal: AbortSignal,
): Promise<(ProfileSummary & { scrapes: number }) | undefined> {
  const profDir = mkdtempSync(`${tmpdir()}/libvirt-exporter-bench-live-`);
  try {
    const t = await startOurs('profiled', main, DEFAULT_SHARDS, dir, {
      signal,
      nodeArgs: [...opts.nodeArgs, '--cpu-prof', `--cpu-prof-dir=${profDir}`],
    });
    try {
      await scrape(t.url, { signal });
      log(`live profile: ${scrapes} scrapes under --cpu-prof`);
      for (let i = 0; i < scrapes; i++) await scrape(t.url, { signal });
    } finally {
      await t.stop();
    }
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    return file === undefined
      ? undefined
      : { ...summarizeProfile(`${profDir}/${file}`, 20), scrapes: scrapes + 1 };
  } finally {
    rmSync(profDir, { recursive: true, force: true });
  }
}

async function soak(
  opts: Options,
  main: string,
  expected: Expected,
  dir: string,
  signal: AbortSignal,
): Promise<Soak> {
  const nodeBaselineRssKiB = await nodeBaselineRss();
  const snapDir = mkdtempSync(`${tmpdir()}/libvirt-exporter-bench-heap-`);
  const t = await startOurs('soak', main, DEFAULT_SHARDS, dir, {
    signal,
    // A heap snapshot at the end (SIGUSR2) tells the live heap after a full GC from garbage not yet collected.
    nodeArgs: [...opts.nodeArgs, '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`],
  });
  try {
    // What the process loaded before it served anything.
    const rssAfterStartKiB = await settledRssKiB(t.pid, signal);
    // Warm-up: the XML of every guest is read once, then cached. Other test runs may have stopped the
    // shared libvirtd for a moment: wait for a scrape that sees every guest.
    await untilHealthy(t, expected, signal);
    const lvPid = await libvirtdPid({ signal });
    const lv0 = lvPid !== undefined ? cpuMs(lvPid) : Number.NaN;
    const cpu0 = cpuMs(t.pid);
    const latency: number[] = [];
    const memory: [number, number, number, number, number][] = [];
    const roundTrips = new Map<number, number>();
    const failures = new Map<string, number>();
    let failed = 0;
    let series = 0;
    let lastBody = '';
    log(`soak: ${opts.scrapes} back-to-back scrapes of a fresh process`);
    let consecutive = 0;
    for (let i = 1; i <= opts.scrapes; i++) {
      signal.throwIfAborted();
      const s = await scrape(t.url, { signal });
      const ok =
        s.ok &&
        sampleValue(s.body, 'libvirt_up') === 1 &&
        sampleValue(s.body, 'libvirt_domains') === expected.all;
      if (s.ok) lastBody = s.body;
      consecutive = ok ? 0 : consecutive + 1;
      if (!ok) {
        failed++;
        const why = !s.ok
          ? (s.error ?? 'failed')
          : sampleValue(s.body, 'libvirt_up') !== 1
            ? 'libvirt_up 0'
            : `${sampleValue(s.body, 'libvirt_domains')} domains`;
        failures.set(why, (failures.get(why) ?? 0) + 1);
        // Another test run stopped or restarted the shared libvirtd: wait until it is back (or give up).
        if (consecutive >= 10) {
          log(`soak: 10 scrapes in a row failed (${why}); waiting for libvirt. The exporter said:`);
          process.stderr.write(`${t.output().split('\n').slice(-8).join('\n')}\n`);
          await untilHealthy(t, expected, signal);
          consecutive = 0;
        }
      } else {
        latency.push(s.ms);
        const rt = sampleValue(s.body, 'libvirt_scrape_libvirt_round_trips');
        roundTrips.set(rt, (roundTrips.get(rt) ?? 0) + 1);
        series = seriesCount(s.body);
      }
      if (i === 1 || i % 10 === 0)
        memory.push([
          i,
          rssKiB(t.pid),
          sampleValue(s.body, 'nodejs_heap_size_used_bytes'),
          sampleValue(s.body, 'nodejs_heap_size_total_bytes'),
          sampleValue(s.body, 'nodejs_external_memory_bytes'),
        ]);
      if (i % 100 === 0) log(`soak: ${i}/${opts.scrapes}, RSS ${(rssKiB(t.pid) / 1024).toFixed(1)} MiB`);
    }
    const cpu = (cpuMs(t.pid) - cpu0) / opts.scrapes;
    const lv = lvPid !== undefined ? (cpuMs(lvPid) - lv0) / opts.scrapes : Number.NaN;
    const half = memory.filter(([i]) => i > opts.scrapes / 2).map(([i, rss]) => [i, rss] as const);
    const finite = (xs: number[]): number[] => xs.filter((x) => Number.isFinite(x));
    const rssBeforeSnapshot = rssKiB(t.pid);
    const liveHeapBytes = await liveHeap(t.pid, snapDir);
    await t.stop();
    const prof =
      opts.profileScrapes > 0 ? await liveProfile(opts, main, opts.profileScrapes, dir, signal) : undefined;
    // The bundle and the Go peer the same way; one that cannot start is logged, and the soak kept.
    const others: Record<string, ProcessSoak> = {};
    const other = async (key: string, run: () => Promise<ProcessSoak>): Promise<void> => {
      try {
        others[key] = await run();
      } catch (err) {
        signal.throwIfAborted();
        log(`soak: ${key} left out: ${(err as Error).message}`);
      }
    };
    const b = opts.bundle;
    if (b !== undefined) {
      await other('bundle', async () => {
        if (b.build) await buildBundle({ signal });
        return soakProcess(
          await startOurs('bundle', b.file, DEFAULT_SHARDS, dir, {
            signal,
            nodeArgs: opts.nodeArgs,
            node: b.node,
          }),
          'this exporter, single-file bundle',
          `${b.node === process.execPath ? 'node' : b.node} ${b.file.replace(ROOT, '')}`,
          opts.scrapes,
          (body) => ourProblem(body, expected),
          signal,
        );
      });
    }
    if (opts.peer && existsSync(PEER_BINARY)) {
      await other('peer', async () =>
        soakProcess(
          await startPeer({ signal }),
          'prometheus-libvirt-exporter (Go peer)',
          PEER_BINARY,
          opts.scrapes,
          (body) => peerProblem(body, expected),
          signal,
        ),
      );
    }
    return {
      guests: expected.active,
      ...(expected.paused > 0 ? { paused: expected.paused } : {}),
      scrapes: opts.scrapes,
      failed,
      latency: summarize(latency),
      cpuMsPerScrape: cpu,
      libvirtdCpuMsPerScrape: lv,
      memory,
      rssStartKiB: memory[0]?.[1] ?? Number.NaN,
      rssEndKiB: memory[memory.length - 1]?.[1] ?? Number.NaN,
      rssMaxKiB: Math.max(...finite(memory.map((m) => m[1]))),
      rssSlopeKiBPer100: slope(half) * 100,
      heapStartBytes: memory[0]?.[2] ?? Number.NaN,
      heapEndBytes: memory[memory.length - 1]?.[2] ?? Number.NaN,
      roundTrips: [...roundTrips.keys()].sort((a, b) => a - b),
      roundTripCounts: Object.fromEntries([...roundTrips].sort((a, b) => a[0] - b[0])),
      failures: Object.fromEntries(failures),
      counters: Object.fromEntries(
        [
          'libvirt_exporter_inspections_total',
          'libvirt_exporter_libvirt_calls_total',
          'libvirt_exporter_libvirt_call_errors_total',
          'libvirt_exporter_libvirt_abandoned_calls_total',
          'libvirt_exporter_libvirt_reconnects_total',
        ].map((n) => [n, sampleValue(lastBody, n)]),
      ),
      series,
      nodeBaselineRssKiB,
      liveHeapBytes,
      rssBeforeSnapshotKiB: rssBeforeSnapshot,
      ...(prof ? { liveProfile: prof } : {}),
      rssAfterStartKiB,
      rssSteadyKiB: Math.max(...finite(half.map((p) => p[1]))),
      ...(Object.keys(others).length > 0 ? { others } : {}),
      date: new Date().toISOString(),
      revision: (await versions({ signal }))['revision'] ?? 'unknown',
    };
  } finally {
    await t.stop();
    rmSync(snapDir, { recursive: true, force: true });
  }
}

/** Why a scrape of this exporter does not count, or undefined. */
function ourProblem(body: string, expected: Expected): string | undefined {
  if (sampleValue(body, 'libvirt_up') !== 1) return 'libvirt_up 0';
  const n = sampleValue(body, 'libvirt_domains');
  return n === expected.all ? undefined : `${n} domains`;
}

/** Why a scrape of the Go peer does not count, or undefined. */
function peerProblem(body: string, expected: Expected): string | undefined {
  if (sampleValue(body, 'libvirt_up') !== 1) return 'libvirt_up 0';
  const n = sampleValue(body, 'libvirt_domains_number');
  return n === expected.active ? undefined : `${n} active domains`;
}

/** Scrapes until one sees libvirt up and the expected guests (at most a minute). */
async function untilHealthy(t: HttpTarget, expected: Expected, signal: AbortSignal): Promise<void> {
  let last = '';
  for (let i = 0; i < 30; i++) {
    // A process that died answers nothing more: say how it ended and what it said, at once.
    if (t.child.exitCode !== null || t.child.signalCode !== null)
      throw new Error(
        `${t.name} ended (${t.child.exitCode ?? t.child.signalCode}) before it saw libvirt with ${expected.all} ` +
          `domains; it said:\n${t.output().split('\n').slice(-20).join('\n')}`,
      );
    const s = await scrape(t.url, { signal });
    if (
      s.ok &&
      sampleValue(s.body, 'libvirt_up') === 1 &&
      sampleValue(s.body, 'libvirt_domains') === expected.all
    )
      return;
    last = s.ok
      ? `libvirt_up ${sampleValue(s.body, 'libvirt_up')}, ${sampleValue(s.body, 'libvirt_domains')} domains`
      : (s.error ?? '');
    await sleep(2000);
  }
  throw new Error(
    `the exporter never saw libvirt with ${expected.all} domains (last: ${last}); it said:\n` +
      t.output().split('\n').slice(-20).join('\n'),
  );
}

/** Asks `pid` for a heap snapshot (SIGUSR2) and sums the objects in it: the heap still live after a full GC. */
async function liveHeap(pid: number, snapDir: string): Promise<number> {
  process.kill(pid, 'SIGUSR2');
  let last = -1;
  for (let i = 0; i < 120; i++) {
    await sleep(500);
    const f = readdirSync(snapDir).find((x) => x.endsWith('.heapsnapshot'));
    if (f === undefined) continue;
    const size = statSync(`${snapDir}/${f}`).size;
    if (size > 0 && size === last) {
      try {
        const snap = JSON.parse(readFileSync(`${snapDir}/${f}`, 'utf8')) as {
          snapshot: { meta: { node_fields: string[] } };
          nodes: number[];
        };
        const fields = snap.snapshot.meta.node_fields;
        const at = fields.indexOf('self_size');
        let total = 0;
        for (let j = at; j < snap.nodes.length; j += fields.length) total += snap.nodes[j]!;
        return total;
      } catch {
        // still being written
      }
    }
    last = size;
  }
  return Number.NaN;
}

// ---------------------------------------------------------------------------------------------------------
// The micro-benchmark, in child processes (one clean, one under the CPU profiler), with the launchers' options
// ---------------------------------------------------------------------------------------------------------

function node(args: readonly string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], signal });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`node ${args.join(' ')} exited with ${code ?? 'a signal'}`));
    });
  });
}

/** Processes of the micro-benchmark; the one with the median phase sum is reported. */
const MICRO_PROCESSES = 3;

async function micro(
  opts: Options,
  signal: AbortSignal,
): Promise<{ micro: MicroResult; profile: ProfileSummary & { loopMsPerScrape: number } }> {
  // NOTE: one process's figures moved by up to a fifth from run to run on the same revision (where its
  // start-up garbage and the optimiser's choices land), around a target that sits close to them: the median
  // of several processes, whole (its phases from one process, not medians of different ones).
  const runs: MicroResult[] = [];
  for (let i = 0; i < MICRO_PROCESSES; i++) {
    log(`micro-benchmark: ${opts.microGuests} guests, process ${i + 1} of ${MICRO_PROCESSES}`);
    runs.push(
      JSON.parse(
        await node(
          [
            ...SHIPPED_NODE_ARGS,
            '--import',
            'tsx',
            'bench/micro.ts',
            '--json',
            '--guests',
            String(opts.microGuests),
          ],
          signal,
        ),
      ) as MicroResult,
    );
  }
  const processSums = runs.map((r) => targetPhaseSum(r.phases));
  const byPhaseSum = runs.map((_, i) => i).sort((a, b) => processSums[a]! - processSums[b]!);
  const m: MicroResult = { ...runs[byPhaseSum[Math.floor(runs.length / 2)]!]!, processSums };
  const profDir = mkdtempSync(`${tmpdir()}/libvirt-exporter-bench-prof-`);
  try {
    log('micro-benchmark under the CPU profiler');
    const file = `${profDir}/micro.cpuprofile`;
    const out = await node(
      [
        ...SHIPPED_NODE_ARGS,
        '--import',
        'tsx',
        'bench/micro.ts',
        '--guests',
        String(opts.microGuests),
        '--loop',
        '40',
        '--profile',
        file,
      ],
      signal,
    );
    const { loopMsPerScrape } = JSON.parse(out) as { loopMsPerScrape: number };
    return { micro: m, profile: { ...summarizeProfile(file, 20), loopMsPerScrape } };
  } finally {
    rmSync(profDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------

async function environment(
  opts: Options,
  command: string,
  loadBefore: number,
  signal: AbortSignal,
): Promise<Environment> {
  const v = await versions({ signal });
  return {
    date: new Date().toISOString(),
    command,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: totalmem() / 2 ** 30,
    versions: { ...v, node: process.version },
    nodeArgs: opts.nodeArgs.join(' '),
    loadBefore,
    loadAfter: loadAverage(),
  };
}

/** Runs one section; an error is logged and collected instead of ending the run (unless interrupted). */
/**
 * bench/footprint.ts on the lab as it is now (the requested guests): where the memory goes, the compiled
 * build and the bundle, V8 option sets and the Go peer, as JSON.
 */
function footprint(opts: Options, signal: AbortSignal): Promise<FootprintResult> {
  log(`footprint: bench/footprint.ts, ${opts.footprintScrapes} scrapes per process`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', `${ROOT}bench/footprint.ts`, '--json', '--scrapes', String(opts.footprintScrapes)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], signal },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as FootprintResult);
      else reject(new Error(`bench/footprint.ts exited with ${String(code)}`));
    });
  });
}

async function section(name: string, failures: string[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if ((err as Error).message === 'interrupted') throw err;
    log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
    failures.push(`${name}: ${(err as Error).message}`);
  }
}

/**
 * Puts the lab back to `extras` extra guests. Other test runs use the lab at the same time and may make
 * one `lab.sh up` fail (a guest they just changed): try again, and only warn in the end.
 */
async function restoreLab(extras: number): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    log(`lab: back to ${extras} extra guests`);
    try {
      await labUp(extras);
      return;
    } catch (err) {
      log(`lab: ${(err as Error).message}${attempt < 3 ? '; trying again in 10 s' : ''}`);
      await sleep(10_000);
    }
  }
  log(`lab: could not restore ${extras} extra guests: run \`bash test/lab/lab.sh up --extra ${extras}\``);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opts = parseOptions(argv);
  if (opts === undefined) return;
  const controller = new AbortController();
  const { signal } = controller;
  // Every scrape and child process listens to this one signal for the whole run.
  setMaxListeners(0, signal);
  const onSignal = (): void => {
    log('interrupted: stopping the processes and restoring the lab');
    controller.abort(new Error('interrupted'));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const loadBefore = loadAverage();
  const command = `npm run bench -- ${argv.join(' ')}`.trim();
  const needLab = opts.only.has('compare') || opts.only.has('soak') || opts.only.has('footprint');
  let guests: Guests = { active: opts.guests, shutoff: 0, tiny: 0, extras: 0 };
  let fresh: Partial<Results> = {};
  let restoreTo: number | undefined;
  const failures: string[] = [];
  const dir = mkdtempSync(`${tmpdir()}/libvirt-exporter-bench-`);
  try {
    if (needLab) {
      if (process.getuid?.() !== 0) throw new Error('the lab needs root');
      if (opts.peer && opts.only.has('compare') && !existsSync(PEER_BINARY)) {
        throw new Error(
          `${PEER_BINARY} is missing: run scripts/bench.sh (it installs it), or pass --no-peer`,
        );
      }
      const env = await labEnv({ signal });
      const core = coreActiveGuests(env);
      const extras = opts.guests - core.length;
      const stateDir = env['LAB_STATE_DIR'] ?? '/var/lib/libvirt-exporter-lab';
      const found = existingExtras(stateDir);
      if (!opts.keepGuests) restoreTo = found;
      const runningExtras = Math.max(0, Math.min(extras, opts.running - core.length));
      log(
        `lab: ${found} extra guests now; bringing it to ${core.length} core + ${extras} extra guests` +
          (runningExtras < extras ? ` (${extras - runningExtras} of them paused)` : ''),
      );
      await labUp(extras, { signal, ...(runningExtras < extras ? { runningExtras } : {}) });
      const shutoff = (env['LAB_SHUTOFF_GUESTS'] ?? '').split(' ').filter((w) => w !== '').length;
      const tiny = (env['LAB_TINY_GUESTS'] ?? '').split(' ').filter((w) => w !== '').length;
      guests = { active: opts.guests, shutoff, tiny, extras, pausedExtras: extras - runningExtras };
      const expected: Expected = {
        active: opts.guests,
        all: opts.guests + shutoff,
        paused: extras - runningExtras,
      };

      log('compiling the exporter (tsconfig.build.json) into node_modules/.cache/libvirt-exporter-bench');
      const mainJs = await buildExporter({ signal });
      // A section that fails (the shared libvirtd stopped by another test run, say) is reported and the
      // others still run; its stored figures are left as they were.
      if (opts.only.has('compare')) {
        await section('compare', failures, async () => {
          fresh = { ...fresh, comparison: await compare(opts, mainJs, expected, dir, signal) };
        });
      }
      if (opts.only.has('soak')) {
        await section('soak', failures, async () => {
          fresh = { ...fresh, soak: await soak(opts, mainJs, expected, dir, signal) };
        });
      }
      if (opts.only.has('footprint')) {
        await section('footprint', failures, async () => {
          const rev = (await versions({ signal }))['revision'] ?? 'unknown';
          fresh = { ...fresh, footprint: { ...(await footprint(opts, signal)), revision: rev } };
        });
      }
    }
    if (opts.only.has('micro')) {
      await section('micro', failures, async () => {
        const r = await micro(opts, signal);
        const rev = (await versions({ signal }))['revision'] ?? 'unknown';
        fresh = {
          ...fresh,
          micro: { ...r.micro, date: new Date().toISOString(), revision: rev },
          profile: r.profile,
        };
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (restoreTo !== undefined && restoreTo !== guests.extras) await restoreLab(restoreTo);
  }
  // NOTE: a run where every section failed stores nothing: its environment (date, revision, Node.js) would
  // otherwise be written over figures that an earlier run measured.
  if (Object.keys(fresh).length === 0) {
    log(`failed sections: ${failures.join('; ')}; nothing stored`);
    process.exitCode = 1;
    return;
  }
  const env = await environment(opts, command, loadBefore, signal);
  // A micro-benchmark alone says nothing about the lab: keep the stored guests then.
  const results: Results = { environment: env, ...(needLab ? { guests } : {}), ...fresh };
  writeResults(opts.resultsDir, opts.guests, results);
  log(`results: ${opts.resultsDir}/${opts.guests}-guests.json`);
  if (opts.report) {
    await writeReport(opts.out, allResults(opts.resultsDir));
    log(`report: ${opts.out}`);
  }
  // The chart's and the systemd unit's sizing text cite the stored figures (helm/tools/chart-sizing.ts):
  // rewritten here, so that a benchmark run never leaves the chart behind its results (a unit test fails then).
  for (const path of writeChart()) log(`chart: wrote ${path}`);
  if (failures.length > 0) {
    log(`failed sections: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

await main();
