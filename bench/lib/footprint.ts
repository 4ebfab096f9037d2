// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The figures of bench/footprint.ts (where the exporter's resident memory goes) and their tables, for the
 * script's own output and for docs/performance.md (bench/report.ts).
 */
import type { AnonByMapping } from './proc.ts';

/** Memory of a Node.js process, MiB. */
export interface Memory {
  readonly step: string;
  readonly rss: number;
  /** Of the RSS, the process's own memory (RssAnon); the rest is mapped files (the node binary). */
  readonly anon: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly code: number;
  readonly external: number;
}

/** The modules section. */
export interface ModulesResult {
  /** Each step on top of the ones before it. */
  readonly cumulative: readonly Memory[];
  /** Each dependency alone, over an empty Node.js in the same fresh process. */
  readonly alone: readonly { module: string; rss: number; anon: number; heapUsed: number }[];
}

/** The garbage collections `--trace-gc` printed. */
export interface GcSummary {
  scavenges: number;
  scavengeMs: number;
  markCompacts: number;
  markCompactMs: number;
  /** Heap after the last full collection (what is live), MiB. */
  liveAfterLastFullMiB: number;
}

/** One process over N back-to-back scrapes. */
export interface ProcessResult {
  readonly label: string;
  readonly command: string;
  readonly series: number;
  readonly failed: number;
  readonly rssListeningMiB: number;
  readonly rssFirstScrapeMiB: number;
  readonly rssSteadyMiB: number;
  /** Of the steady RSS sample, the process's own memory (RssAnon) and mapped files (RssFile). */
  readonly anonSteadyMiB: number;
  readonly fileSteadyMiB: number;
  readonly rssMaxMiB: number;
  readonly heapUsedMaxMiB: number;
  readonly heapTotalMaxMiB: number;
  readonly codeMiB: number;
  readonly externalMaxMiB: number;
  readonly cpuMsPerScrape: number;
  readonly gc?: GcSummary;
  /** The own memory after the last scrape by kind of mapping (/proc/PID/smaps), MiB. */
  readonly anonByMapping?: AnonByMapping;
}

/** What the script measures (`--json` prints it; bench/run.ts stores it in bench/results/). */
export interface FootprintResult {
  readonly date: string;
  readonly node: string;
  readonly scrapes: number;
  modules?: ModulesResult;
  process?: ProcessResult[];
  variants?: ProcessResult[];
  /** The Go peer's figures, or why there are none. */
  peer?: ProcessResult | string;
}

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function processTable(rows: readonly ProcessResult[]): string[] {
  return table(
    [
      'process',
      'series',
      'RSS listening',
      'RSS 1st scrape',
      'RSS steady (own + mapped files)',
      'heap used max',
      'heap total max',
      'code space',
      'external max',
      'CPU ms/scrape',
      'GC: scavenges (ms) / full (ms), live heap after the last full GC',
    ],
    rows.map((r) => [
      r.label,
      String(r.series),
      f1(r.rssListeningMiB),
      f1(r.rssFirstScrapeMiB),
      `**${f1(r.rssSteadyMiB)}** (${f1(r.anonSteadyMiB)} + ${f1(r.fileSteadyMiB)})`,
      f1(r.heapUsedMaxMiB),
      f1(r.heapTotalMaxMiB),
      f1(r.codeMiB),
      f1(r.externalMaxMiB),
      f1(r.cpuMsPerScrape),
      r.gc
        ? `${r.gc.scavenges} (${r.gc.scavengeMs}) / ${r.gc.markCompacts} (${r.gc.markCompactMs}), ${f1(r.gc.liveAfterLastFullMiB)}`
        : '',
    ]),
  );
}

/** The tables of a footprint run, in Markdown (MiB throughout). */
export function renderFootprint(r: FootprintResult): string {
  const out: string[] = [];
  const m = r.modules;
  if (m) {
    out.push(
      '### Loading the modules, one on top of the other',
      '',
      "One process, with the daemon's V8 flags (src/heap.ts) first; heap figures after a full collection. " +
        '"Own" is the anonymous part of the RSS (heaps, stacks, malloc); the rest is pages of mapped files, ' +
        "mostly the node binary's code, shared with every other process that maps it.",
      '',
    );
    let prev: Memory | undefined;
    out.push(
      ...table(
        ['step', 'RSS', '+RSS', 'own', '+own', 'heap used', 'heap total', 'code space', 'external'],
        m.cumulative.map((x) => {
          const row = [
            x.step,
            f1(x.rss),
            prev ? f1(x.rss - prev.rss) : '',
            f1(x.anon),
            prev ? f1(x.anon - prev.anon) : '',
            f1(x.heapUsed),
            f1(x.heapTotal),
            f1(x.code),
            f1(x.external),
          ];
          prev = x;
          return row;
        }),
      ),
      '',
      '### Each dependency alone',
      '',
      "A fresh process for each, over Node.js with the daemon's flags and the Node.js modules above: what " +
        'it costs without the others (the sum is more than the column above, where shared code counts once).',
      '',
      ...table(
        ['module', '+RSS', '+own', '+heap used'],
        m.alone.map((a) => [a.module, f1(a.rss), f1(a.anon), f1(a.heapUsed)]),
      ),
      '',
    );
  }
  const peer = r.peer;
  const procs = [...(r.process ?? []), ...(typeof peer === 'object' ? [peer] : [])];
  if (procs.length > 0) {
    out.push(
      `### The compiled build, the single-file bundle and the Go peer (${r.scrapes} back-to-back scrapes each)`,
      '',
      'Each a fresh process against the same guests; steady is the largest RSS sample of the second half; ' +
        'heap and external memory as the process serves them (`nodejs_*`); garbage collections from `--trace-gc`.',
      '',
      ...processTable(procs),
      '',
    );
  }
  if (typeof peer === 'string') out.push(`Go peer: ${peer}`, '');
  const byMapping = procs.filter((p) => p.anonByMapping !== undefined);
  if (byMapping.length > 0) {
    out.push(
      '### Own memory by kind of mapping, after the last scrape (`/proc/PID/smaps`)',
      '',
      "glibc's malloc: its main arena (`[heap]`) and its other arenas (64 MiB reservations, one per arena " +
        'that a thread contended for); JIT code: writable and executable mappings; "other": the remaining ' +
        "anonymous mappings, mostly V8's heap pages (compare heap total above), with malloc blocks too large " +
        'for an arena and thread stacks.',
      '',
      ...table(
        [
          'process',
          'malloc main arena',
          'malloc other arenas',
          'JIT code',
          'file copy-on-write',
          'other (V8 heap, ...)',
        ],
        byMapping.map((p) => {
          const a = p.anonByMapping!;
          return [p.label, f1(a.mallocMain), f1(a.mallocArenas), f1(a.jitCode), f1(a.fileCow), f1(a.other)];
        }),
      ),
      '',
    );
  }
  if (r.variants) {
    out.push(
      `### V8 option sets (compiled build, ${r.scrapes} back-to-back scrapes each)`,
      '',
      ...processTable(r.variants),
      '',
    );
  }
  return out.join('\n');
}

const find = (rows: readonly ProcessResult[] | undefined, start: string): ProcessResult | undefined =>
  rows?.find((r) => r.label.startsWith(start));

/**
 * What the figures say about the remaining megabytes, in sentences built from them (for
 * docs/performance.md): what an empty Node.js is, what the modules add, what the daemon settings save, the
 * bundle against the compiled build, the V8 option sets, and the Go peer beside ours.
 */
export function explainFootprint(r: FootprintResult, perGuest?: string): string[] {
  const out: string[] = [];
  const c = r.modules?.cumulative;
  const step = (prefix: string): Memory | undefined => c?.find((x) => x.step.startsWith(prefix));
  const empty = step('empty');
  const flags = step('src/heap.ts');
  const tls = step('+ node:tls');
  const lastDep = c?.filter((x) => x.step.startsWith('+ ') && !x.step.startsWith('+ node:')).at(-2);
  const all = c?.at(-1);
  if (empty && flags && tls && lastDep && all) {
    out.push(
      `- **An empty Node.js ${r.node} is ${f1(empty.rss)} MiB**, of which only ${f1(empty.anon)} MiB is its own ` +
        `memory: the other ${f1(empty.rss - empty.anon)} MiB are pages of the node binary it runs (V8, ICU, OpenSSL), ` +
        'counted in RSS but shared with any other process that maps it and dropped and read again by the kernel ' +
        `under memory pressure. Node's own HTTP, TLS, zlib and crypto modules, which any Node.js exporter needs, ` +
        `bring it to ${f1(tls.rss)} MiB (${f1(tls.anon)} MiB own).`,
      `- **The dependencies add ${f1(lastDep.rss - tls.rss)} MiB** (${f1(lastDep.anon - tls.anon)} MiB own) loaded together, ` +
        `and the exporter's own modules ${f1(all.rss - lastDep.rss)} MiB more: ${f1(all.rss)} MiB with every module ` +
        `loaded and nothing served, ${f1(all.heapUsed)} MiB of it live V8 heap (code and the objects modules create). ` +
        'Alone, the largest are ' +
        [...(r.modules?.alone ?? [])]
          .sort((a, b) => b.rss - a.rss)
          .slice(0, 4)
          .map((a) => `${a.module} ${f1(a.rss)} MiB`)
          .join(', ') +
        ' (zod loads every one of its locales with any import; the AMQP client is loaded only when the ' +
        `publisher is on, while bcryptjs, ${f1(r.modules?.alone.find((a) => a.module === 'bcryptjs')?.rss ?? Number.NaN)} MiB alone, ` +
        'comes with src/http/web-config.ts in every configuration).',
    );
  }
  const comp = find(r.process, 'compiled');
  const bundle = find(r.process, 'single-file');
  if (comp && bundle) {
    out.push(
      `- **Serving** (${r.scrapes} back-to-back scrapes, ${bundle.series} series): the compiled build's steady RSS ` +
        `is ${f1(comp.rssSteadyMiB)} MiB (${f1(comp.anonSteadyMiB)} MiB own, ${f1(comp.fileSteadyMiB)} MiB mapped ` +
        `files), the single-file bundle's ${f1(bundle.rssSteadyMiB)} MiB (${f1(bundle.anonSteadyMiB)} MiB own); ` +
        `the bundle listens at ${f1(bundle.rssListeningMiB)} MiB against ${f1(comp.rssListeningMiB)} MiB and keeps ` +
        `${f1(bundle.gc?.liveAfterLastFullMiB ?? Number.NaN)} MiB of live heap after a full collection against ` +
        `${f1(comp.gc?.liveAfterLastFullMiB ?? Number.NaN)} MiB (one script's source instead of a few hundred files'). ` +
        `Of the own memory, the V8 heap is ${f1(comp.heapTotalMaxMiB)} MiB at most and memory outside it ` +
        `(Buffers, zlib) ${f1(comp.externalMaxMiB)} MiB; the rest is malloc, thread stacks and the compilers' zones.` +
        (perGuest ? ` ${perGuest}` : ''),
    );
  }
  const shipped = find(r.variants, 'as shipped');
  const defaults = find(r.variants, "V8's defaults");
  const lite = find(r.variants, '--lite-mode');
  const threads = find(r.variants, 'without --single-threaded');
  if (shipped && defaults) {
    out.push(
      `- **The daemon's heap settings** (src/heap.ts) hold the steady RSS at ${f1(shipped.rssSteadyMiB)} MiB, ` +
        `against ${f1(defaults.rssSteadyMiB)} MiB with V8's defaults (heap ${f1(shipped.heapTotalMaxMiB)} against ` +
        `${f1(defaults.heapTotalMaxMiB)} MiB).` +
        (threads
          ? ` Without the launchers' \`--single-threaded\` (V8's compilers and collector in background threads) ` +
            `this run measured ${f1(threads.rssSteadyMiB)} MiB at ${f1(threads.cpuMsPerScrape)} ms of CPU per scrape, ` +
            `against ${f1(shipped.rssSteadyMiB)} MiB at ${f1(shipped.cpuMsPerScrape)} ms with it (one process each; ` +
            'the figures that decided it, three interleaved rounds, are in src/heap.ts).'
          : '') +
        (lite
          ? ` \`--lite-mode\` (no optimizing compiler) would save ${f1(shipped.rssSteadyMiB - lite.rssSteadyMiB)} MiB more ` +
            `(${f1(lite.rssSteadyMiB)} MiB) for ${f1(lite.cpuMsPerScrape)} ms of CPU per scrape against ` +
            `${f1(shipped.cpuMsPerScrape)} ms; it is not adopted: ${f1(lite.cpuMsPerScrape / shipped.cpuMsPerScrape)} ` +
            'times the CPU of every scrape' +
            (typeof r.peer === 'object'
              ? `, for a process still ${f1(lite.rssSteadyMiB / r.peer.rssSteadyMiB)} times the Go peer's ${f1(r.peer.rssSteadyMiB)} MiB `
              : ' ') +
            '(the other option sets are in the table: each changes the steady RSS by a few MiB at most).'
          : ''),
    );
  }
  const peer = typeof r.peer === 'object' ? r.peer : undefined;
  if (peer && (bundle ?? comp)) {
    const ours = bundle ?? comp!;
    out.push(
      `- **The Go peer** serves ${peer.series} series in ${f1(peer.rssSteadyMiB)} MiB (${f1(peer.anonSteadyMiB)} MiB own, ` +
        `${f1(peer.fileSteadyMiB)} MiB of its binary and libvirt's libraries), at ${f1(peer.cpuMsPerScrape)} ms of CPU ` +
        `per scrape against our ${f1(ours.cpuMsPerScrape)} ms. A Go binary has no JIT, no second copy of its ` +
        'code as source text and no heap sized for throughput' +
        (empty
          ? `; an empty Node.js (${f1(empty.rss)} MiB) and Node's HTTP and TLS modules (${f1((tls ?? empty).rss)} MiB) ` +
            'take most of the 64 MiB target before the first line of this exporter runs.'
          : '.'),
    );
  } else if (typeof r.peer === 'string') out.push(`- Go peer: ${r.peer}.`);
  return out;
}
