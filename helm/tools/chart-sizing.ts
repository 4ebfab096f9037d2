// SPDX-License-Identifier: Apache-2.0
/**
 * The memory request and limit of the chart, derived from measurement (issue 12): the request covers
 * the steady RSS at 50 guests measured by the benchmark, the limit 1.5 times the peak RSS of the load
 * test. helm/tools/chart-sync.ts writes them into values.yaml, with the figures they come from in the
 * comment above `resources:`; test/unit/helm/chart-sync.test.ts fails when values.yaml drifts from the
 * figures. After a new benchmark (`npm run bench`) or reliability run (docs/reliability.md), one
 * command brings the chart up to date:
 *
 *   node --import tsx helm/tools/chart-sync.ts --write
 *
 * Sources, both committed:
 * - bench/results/50-guests.json (`npm run bench -- --guests 50`): `soak.memory`, RSS every 10 of 1000
 *   back-to-back scrapes of a fresh process. "Steady" is the maximum over the second half of the run,
 *   the definition of issue 16's footprint targets (the first half is the process warming up).
 * - docs/reliability.md, rendered by test/tools/reliability-report.ts from what test/integration/load.test.ts
 *   recorded (50 concurrent scrapers for 60 s): its "RSS before / peak / after" figure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResults, type Results } from '../../bench/lib/results.ts';

/** Guest count whose steady RSS the request must cover. */
export const REQUEST_GUESTS = 50;
/** The limit is at least this many times the peak RSS under load. */
export const LIMIT_FACTOR = 1.5;
/** Requests and limits are rounded up to a multiple of this many MiB. */
export const ROUND_MIB = 16;

/** The RSS figures of one benchmark run. */
export interface SteadyRss {
  readonly guests: number;
  readonly scrapes: number;
  /** Maximum RSS over the second half of the run, MiB. */
  readonly steadyMiB: number;
  readonly date: string;
  readonly revision: string;
  /** Repository path of the results file. */
  readonly source: string;
}

/** The peak RSS of the load test. */
export interface LoadPeak {
  readonly peakMiB: number;
  /** When the load test recorded it (as docs/reliability.md says). */
  readonly recorded: string;
  readonly source: string;
}

/** What the chart's memory values are derived from, and the values. */
export interface Sizing {
  readonly steady: SteadyRss;
  /** Steady RSS of the other stored benchmark runs (larger hosts), for the comment. */
  readonly others: readonly SteadyRss[];
  readonly load: LoadPeak;
  /** `resources.requests.memory`, MiB. */
  readonly requestMiB: number;
  /** `resources.limits.memory`, MiB. */
  readonly limitMiB: number;
}

/** The steady RSS of a stored benchmark run, or undefined when the run has no soak section. */
export function steadyRss(results: Results, source: string): SteadyRss | undefined {
  const soak = results.soak;
  if (soak === undefined) return undefined;
  const lastHalf = soak.memory.filter(([scrape]) => scrape > soak.scrapes / 2);
  if (lastHalf.length === 0)
    throw new Error(`${source}: soak.memory has no sample in the second half of the run`);
  return {
    guests: soak.guests,
    scrapes: soak.scrapes,
    steadyMiB: Math.max(...lastHalf.map(([, rssKiB]) => rssKiB)) / 1024,
    date: soak.date,
    revision: soak.revision,
    source,
  };
}

/**
 * The load test's peak RSS from docs/reliability.md: the "RSS before / peak / after" row of the
 * Load section, and the date of its record.
 */
export function loadPeak(markdown: string, source = 'docs/reliability.md'): LoadPeak {
  const start = markdown.indexOf('\n## Load\n');
  if (start < 0)
    throw new Error(
      `${source}: no "## Load" section (run the load test and test/tools/reliability-report.ts)`,
    );
  const next = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, next < 0 ? undefined : next);
  const row = /^\| RSS before \/ peak \/ after \| ([\d.]+) \/ ([\d.]+) \/ ([\d.]+) MiB \|$/m.exec(section);
  if (row?.[2] === undefined)
    throw new Error(`${source}: the Load section has no "RSS before / peak / after" row`);
  const recorded =
    /^<sub>test\/integration\/load\.test\.ts · recorded ([^·]+?) ·/m.exec(section)?.[1] ?? 'unknown';
  return { peakMiB: Number(row[2]), recorded, source };
}

/** Rounds MiB up to the next multiple of {@link ROUND_MIB}. */
export function roundUpMiB(mib: number): number {
  return Math.ceil(mib / ROUND_MIB) * ROUND_MIB;
}

/** The sizing from the committed measurement files under `root`. */
export function chartSizing(root: string): Sizing {
  const stored = [REQUEST_GUESTS, 200, 1000]
    .map((guests) => {
      const source = `bench/results/${guests}-guests.json`;
      const results = readResults(join(root, source));
      return results === undefined ? undefined : steadyRss(results, source);
    })
    .filter((s): s is SteadyRss => s !== undefined);
  const steady = stored.find((s) => s.guests === REQUEST_GUESTS);
  if (steady === undefined)
    throw new Error(
      `bench/results/${REQUEST_GUESTS}-guests.json has no soak run: npm run bench -- --guests ${REQUEST_GUESTS}`,
    );
  const load = loadPeak(readFileSync(join(root, 'docs', 'reliability.md'), 'utf8'));
  return {
    steady,
    others: stored.filter((s) => s !== steady),
    load,
    requestMiB: roundUpMiB(steady.steadyMiB),
    limitMiB: roundUpMiB(LIMIT_FACTOR * load.peakMiB),
  };
}

/** Kubernetes quantity of a MiB count. */
export function mi(mib: number): string {
  return `${mib}Mi`;
}

/** MiB of a Kubernetes memory quantity (binary or decimal suffixes, or bytes). */
export function quantityMiB(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (m?.[1] === undefined) throw new Error(`not a memory quantity: ${String(q)}`);
  const factor: Record<string, number> = {
    '': 1,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return (Number(m[1]) * (factor[m[2] ?? ''] ?? 1)) / 1024 ** 2;
}

/** First line of the generated comment block above `resources:` in values.yaml. */
export const SIZING_MARKER =
  '# Measured (helm/tools/chart-sync.ts --write writes these lines and the memory values):';

const f1 = (n: number): string => n.toFixed(1);

/** The generated comment lines (marker included). */
export function sizingComment(s: Sizing): string[] {
  const day = (iso: string): string => iso.slice(0, 10);
  return [
    SIZING_MARKER,
    `# request ${mi(s.requestMiB)} >= ${f1(s.steady.steadyMiB)} MiB, the steady RSS at ${s.steady.guests} guests (max over the`,
    `# last half of ${s.steady.scrapes} back-to-back scrapes, ${s.steady.source}, ${day(s.steady.date)}, ${s.steady.revision});`,
    `# limit ${mi(s.limitMiB)} >= ${LIMIT_FACTOR} x ${f1(s.load.peakMiB)} MiB = ${f1(LIMIT_FACTOR * s.load.peakMiB)} MiB, the peak RSS under 50 concurrent`,
    `# scrapers for 60 s (load test, ${s.load.source}, recorded ${s.load.recorded}).`,
    ...s.others.map(
      (o) =>
        `# For larger hosts: steady RSS ${f1(o.steadyMiB)} MiB at ${o.guests} guests (${o.source}, ${day(o.date)}).`,
    ),
  ];
}

/**
 * values.yaml with the generated comment and memory values. The comment replaces the lines from
 * {@link SIZING_MARKER} to `resources:`; `memory:` under `resources.requests` and `resources.limits`
 * get the derived values; every other line is kept as it is.
 */
export function renderSizedValues(valuesYaml: string, s: Sizing): string {
  const lines = valuesYaml.split('\n');
  const marker = lines.indexOf(SIZING_MARKER);
  const resources = lines.indexOf('resources:');
  if (marker < 0 || resources < marker)
    throw new Error(`values.yaml: the line "${SIZING_MARKER}" must stand above "resources:"`);
  const out = [...lines.slice(0, marker), ...sizingComment(s), 'resources:'];
  let section = '';
  const seen = new Set<string>();
  let i = resources + 1;
  for (; i < lines.length && /^ {2}\S|^ {4}/.test(lines[i] ?? ''); i++) {
    const line = lines[i]!;
    const key = /^ {2}(\w+):/.exec(line)?.[1];
    if (key !== undefined) section = key;
    if (/^ {4}memory:/.test(line) && (section === 'requests' || section === 'limits')) {
      out.push(`    memory: ${mi(section === 'requests' ? s.requestMiB : s.limitMiB)}`);
      seen.add(section);
    } else out.push(line);
  }
  for (const needed of ['requests', 'limits'])
    if (!seen.has(needed)) throw new Error(`values.yaml: resources.${needed}.memory is missing`);
  return [...out, ...lines.slice(i)].join('\n');
}

/** The line of the systemd unit that chart-sync.ts writes, above `MemoryHigh=` and `MemoryMax=`. */
export const UNIT_SIZING_PREFIX = '# Sized by helm/tools/chart-sync.ts --write from ';

/**
 * The systemd unit (packaging/libvirt-exporter.service) sized from the same figures as the chart:
 * `MemoryMax=` is the chart's limit (1.5 times the load test's peak RSS: beyond it the kernel kills the
 * process and systemd restarts it); `MemoryHigh=`, beyond which the kernel reclaims the service's memory
 * (and slows it) before it reaches the hard limit, is the largest RSS measured: the load test's peak or
 * the steady RSS of the largest stored benchmark run, rounded up. The comment line starting with
 * {@link UNIT_SIZING_PREFIX} names the figures; every other line is kept.
 */
/**
 * The unit's MemoryMax, MiB: the chart's limit, or 1.5 x the largest steady RSS measured when that is more
 * (a node unit serves every guest count, the chart's limit is sized for the benchmark's 50 guests).
 */
export function unitMaxMiB(s: Sizing): number {
  const largest = Math.max(s.steady.steadyMiB, ...s.others.map((o) => o.steadyMiB));
  return Math.max(s.limitMiB, roundUpMiB(1.5 * largest));
}

export function renderSizedUnit(unit: string, s: Sizing): string {
  const largest = [s.steady, ...s.others].reduce((a, b) => (b.steadyMiB > a.steadyMiB ? b : a));
  const high = Math.max(s.load.peakMiB, largest.steadyMiB);
  const wanted: Record<string, string> = {
    '#':
      `${UNIT_SIZING_PREFIX}peak RSS ${f1(s.load.peakMiB)} MiB (${s.load.source}, ${s.load.recorded}), ` +
      `steady RSS ${f1(largest.steadyMiB)} MiB at ${largest.guests} guests (${largest.source})`,
    MemoryHigh: `MemoryHigh=${roundUpMiB(high)}M`,
    MemoryMax: `MemoryMax=${unitMaxMiB(s)}M`,
  };
  const seen = new Set<string>();
  const out = unit.split('\n').map((line) => {
    const key = line.startsWith(UNIT_SIZING_PREFIX) ? '#' : /^(MemoryHigh|MemoryMax)=/.exec(line)?.[1];
    if (key === undefined) return line;
    seen.add(key);
    return wanted[key]!;
  });
  for (const key of Object.keys(wanted))
    if (!seen.has(key)) throw new Error(`libvirt-exporter.service: the ${key} line is missing`);
  return out.join('\n');
}
