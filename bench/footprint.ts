// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Where the exporter's resident memory goes (issue 16), printed as a breakdown that docs/performance.md
 * quotes. Leaves the lab as it is: the exporter processes read the guests the libvirtd has now.
 *
 * - **modules**: an empty Node.js, then each production dependency loaded on top of the ones before it
 *   (in one process, with the daemon's V8 settings of src/heap.ts), then the whole compiled exporter
 *   loaded without serving (`main.js --version`: every module it imports at start), and each dependency
 *   alone in a fresh process: RSS, V8 heap used and total, code space, external memory.
 * - **process**: the compiled build (`node main.js`, as `npm run build` emits it) and the single-file
 *   bundle (scripts/bundle.ts), each a fresh process: RSS once it listens, after the first scrape (every
 *   guest's XML read) and over N back-to-back scrapes (steady: the largest sample of the second half), the
 *   V8 heap, code space and external memory it serves, and its garbage collections (`--trace-gc`: count,
 *   pause time, live heap after the last full collection).
 * - **variants**: the compiled build under V8 option sets (V8's defaults, `--lite-mode`, `--max-lazy`,
 *   `--no-opt`, a smaller young generation, ...): steady RSS and CPU per scrape, to weigh a trade-off.
 * - **peer**: Debian's prometheus-libvirt-exporter (the Go peer), the same scrapes: RSS and CPU.
 *
 *   node --import tsx bench/footprint.ts [--scrapes 200] [--only modules,process,variants,peer] [--json]
 *     [--variants TEXT,...]
 *
 * CPU figures are only meaningful on a quiet machine; RSS figures much less so.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import type { FootprintResult, GcSummary, Memory, ModulesResult, ProcessResult } from './lib/footprint.ts';
import { renderFootprint } from './lib/footprint.ts';
import { anonByMappingKiB, cpuMs, rssKiB, rssPartsKiB } from './lib/proc.ts';
import {
  DIST,
  PEER_BINARY,
  SHIPPED_ENV,
  buildBundle,
  buildExporter,
  sampleValue,
  scrape,
  seriesCount,
  startOurs,
  startPeer,
  type HttpTarget,
} from './lib/targets.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const SECTIONS = ['modules', 'process', 'variants', 'peer'] as const;
type Section = (typeof SECTIONS)[number];

/** The production dependencies, in the order the exporter's start loads them. */
export const MODULES = [
  'fastify',
  '@fastify/compress',
  'pino',
  'prom-client',
  'zod',
  'yaml',
  'fast-xml-parser',
  'bcryptjs',
  'rabbitmq-client',
] as const;

/** Node.js's own modules that the dependencies load (measured before them, so as not to count them twice). */
export const NODE_CORE = [
  'node:http',
  'node:https',
  'node:http2',
  'node:zlib',
  'node:crypto',
  'node:tls',
] as const;

/**
 * Option sets weighed against the daemon's own (src/heap.ts): Node.js/V8 command-line options, and
 * environment variables read before the process starts (glibc's malloc tunables, libuv's thread pool,
 * `LIBVIRT_EXPORTER_V8_FLAGS`, which replaces the flags src/heap.ts sets), on top of the options and the
 * environment the product ships with (SHIPPED_NODE_ARGS, which a variant's options follow and override,
 * and SHIPPED_ENV of bench/lib/targets.ts; `base: false` leaves the environment out).
 */
export const VARIANTS: readonly {
  name: string;
  env?: Readonly<Record<string, string>>;
  args: readonly string[];
  /** false: without the shipped environment (SHIPPED_ENV of bench/lib/targets.ts). */
  base?: false;
}[] = [
  { name: "as shipped (src/heap.ts flags, the launchers' --single-threaded, unit/image environment)", args: [] },
  { name: 'without MALLOC_ARENA_MAX (glibc default: 8 arenas per core)', args: [], base: false },
  { name: "V8's defaults (LIBVIRT_EXPORTER_V8_FLAGS='')", env: { LIBVIRT_EXPORTER_V8_FLAGS: '' }, args: [] },
  { name: 'MALLOC_ARENA_MAX=1', env: { MALLOC_ARENA_MAX: '1' }, args: [] },
  { name: '+ MALLOC_TRIM_THRESHOLD_=131072', env: { MALLOC_TRIM_THRESHOLD_: '131072' }, args: [] },
  {
    name: '+ MALLOC_MMAP_THRESHOLD_=131072 (fixed: no dynamic raise)',
    env: { MALLOC_MMAP_THRESHOLD_: '131072' },
    args: [],
  },
  { name: '+ UV_THREADPOOL_SIZE=1', env: { UV_THREADPOOL_SIZE: '1' }, args: [] },
  { name: '--v8-pool-size=1', args: ['--v8-pool-size=1'] },
  {
    name: "without --single-threaded (V8's compilers and collector in background threads)",
    args: ['--no-single-threaded'],
  },
  ...[15, 50].map((p) => ({
    name: `--heap-growing-percent=${p} (30 shipped)`,
    env: { LIBVIRT_EXPORTER_V8_FLAGS: `--semi-space-growth-factor=1 --heap-growing-percent=${p}` },
    args: [],
  })),
  ...[2, 4].map((mib) => ({
    name: `--min-semi-space-size=${mib} (the young generation; V8's own: 1)`,
    args: [`--min-semi-space-size=${mib}`],
  })),
  { name: '--max-lazy', args: ['--max-lazy'] },
  { name: '--no-opt', args: ['--no-opt'] },
  { name: '--lite-mode', args: ['--lite-mode'] },
];

const { values } = parseArgs({
  options: {
    scrapes: { type: 'string', default: '200' },
    only: { type: 'string', default: SECTIONS.join(',') },
    json: { type: 'boolean', default: false },
    variants: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'node --import tsx bench/footprint.ts [--scrapes 200] [--only modules,process,variants,peer] [--json]\n' +
      '  [--variants TEXT,...]   only the variants whose name contains one of these texts\n',
  );
  process.exit(0);
}
const scrapes = Number(values.scrapes);
const only = new Set(values.only.split(',').map((s) => s.trim()) as Section[]);
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section ${s}`);

const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/**
 * The script a child Node.js runs to report its memory after each step, one JSON line per step: `steps` is
 * a list of [label, specifier]; a specifier `@exit:FILE` imports FILE with process.exit() caught, to load
 * a whole entry point that exits at once (main.js --version) and measure before it does.
 */
const CHILD = String.raw`
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
const steps = JSON.parse(process.env.FOOTPRINT_STEPS);
const report = (step) => {
  // A full collection first when exposed, so that "heap used" is what stays, not what loading left.
  globalThis.gc?.();
  const m = process.memoryUsage();
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (n) => Number(new RegExp('^' + n + ':\\s+(\\d+) kB$', 'm').exec(status)[1]) * 1024;
  const rss = kib('VmRSS');
  const anon = kib('RssAnon');
  const code = getHeapSpaceStatistics().find((s) => s.space_name === 'code_space')?.space_used_size ?? 0;
  process.stdout.write(JSON.stringify({ step, rss, anon, heapUsed: m.heapUsed, heapTotal: m.heapTotal, code, external: m.external }) + '\n');
};
report('empty Node.js');
for (const [label, spec] of steps) {
  if (spec.startsWith('@exit:')) {
    const exit = process.exit;
    process.exit = () => { report(label); exit.call(process, 0); };
    process.stdout.write = ((w) => (s, ...a) => (String(s).startsWith('{') ? w.call(process.stdout, s, ...a) : true))(process.stdout.write);
    process.argv = [process.argv[0], spec.slice(6), '--version'];
    await import(spec.slice(6));
    await new Promise(() => {});
  }
  await import(spec);
  report(label);
}
`;

/** Runs the child script with `steps` and returns its reports. */
function childSteps(steps: readonly [string, string][], nodeArgs: readonly string[] = []): Promise<Memory[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...nodeArgs, '--input-type=module', '-e', CHILD], {
      cwd: DIST,
      env: { ...process.env, FOOTPRINT_STEPS: JSON.stringify(steps) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const rows = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Memory);
      if (code !== 0 || rows.length !== steps.length + 1)
        reject(new Error(`module probe failed (exit ${code}): ${err.slice(0, 2000)}`));
      else
        resolve(
          rows.map((r) => ({
            step: r.step,
            rss: mib(r.rss),
            anon: mib(r.anon),
            heapUsed: mib(r.heapUsed),
            heapTotal: mib(r.heapTotal),
            code: mib(r.code),
            external: mib(r.external),
          })),
        );
    });
  });
}

async function modules(main: string): Promise<ModulesResult> {
  // The daemon's V8 settings first, as the entry point applies them.
  const heap = `${DIST}src/heap.js`;
  const base: [string, string][] = [
    ["src/heap.ts (the daemon's V8 flags; Node's module loader)", heap],
    ...NODE_CORE.map((m): [string, string] => [`+ ${m}`, m]),
  ];
  const cumulative = await childSteps([
    ...base,
    ...MODULES.map((m): [string, string] => [`+ ${m}`, m]),
    ["+ the exporter's own modules (main.js loaded, not serving)", `@exit:${main}`],
  ]);
  const alone: { module: string; rss: number; anon: number; heapUsed: number }[] = [];
  for (const m of MODULES) {
    const rows = await childSteps([...base, [m, m]]);
    const [before, after] = rows.slice(-2);
    alone.push({
      module: m,
      rss: after!.rss - before!.rss,
      anon: after!.anon - before!.anon,
      heapUsed: after!.heapUsed - before!.heapUsed,
    });
  }
  return { cumulative, alone };
}

function traceGc(t: HttpTarget): () => GcSummary {
  const s: GcSummary = {
    scavenges: 0,
    scavengeMs: 0,
    markCompacts: 0,
    markCompactMs: 0,
    liveAfterLastFullMiB: NaN,
  };
  let rest = '';
  t.child.stdout?.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      // [pid:addr:gc] 1234 ms: Scavenge 10.1 (12.0) -> 9.0 (13.0) MB, pooled: 0 MB, 1.23 / 0.00 ms ...
      const m =
        /: (Scavenge|Mark-Compact|Minor Mark-Sweep)[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \//.exec(
          l,
        );
      if (!m) continue;
      if (m[1] === 'Mark-Compact') {
        s.markCompacts++;
        s.markCompactMs += Number(m[3]);
        s.liveAfterLastFullMiB = Number(m[2]);
      } else {
        s.scavenges++;
        s.scavengeMs += Number(m[3]);
      }
    }
  });
  return () => ({ ...s, scavengeMs: Math.round(s.scavengeMs), markCompactMs: Math.round(s.markCompactMs) });
}

function value(body: string, name: string, labels: string): number {
  const i = body.indexOf(`\n${name}{${labels}} `);
  return i < 0
    ? Number.NaN
    : Number(body.slice(i + name.length + labels.length + 4, body.indexOf('\n', i + 1)));
}

async function soak(
  t: HttpTarget,
  label: string,
  command: string,
  gc: (() => GcSummary) | undefined,
): Promise<ProcessResult> {
  try {
    const rssListening = rssKiB(t.pid) / 1024;
    const first = await scrape(t.url);
    const rssFirst = rssKiB(t.pid) / 1024;
    for (let i = 0; i < 2; i++) await scrape(t.url);
    const cpu0 = cpuMs(t.pid);
    const rss: number[] = [];
    let parts = { anon: NaN, file: NaN };
    const used: number[] = [];
    const total: number[] = [];
    const ext: number[] = [];
    let failed = first.ok ? 0 : 1;
    let series = 0;
    let code = NaN;
    for (let i = 1; i <= scrapes; i++) {
      const s = await scrape(t.url);
      if (!s.ok) {
        failed++;
        continue;
      }
      series = seriesCount(s.body);
      if (i % 5 === 0 || i === scrapes) {
        if (i > scrapes / 2) {
          const r = rssKiB(t.pid) / 1024;
          if (!(r < Math.max(...rss))) parts = rssPartsKiB(t.pid);
          rss.push(r);
        }
        used.push(sampleValue(s.body, 'nodejs_heap_size_used_bytes'));
        total.push(sampleValue(s.body, 'nodejs_heap_size_total_bytes'));
        ext.push(sampleValue(s.body, 'nodejs_external_memory_bytes'));
        code = value(s.body, 'nodejs_heap_space_size_used_bytes', 'space="code"');
      }
    }
    const cpu = (cpuMs(t.pid) - cpu0) / scrapes;
    const byMapping = anonByMappingKiB(t.pid);
    const max = (xs: number[]): number => mib(Math.max(...xs.filter(Number.isFinite)));
    return {
      label,
      command,
      series,
      failed,
      rssListeningMiB: Math.round(rssListening * 10) / 10,
      rssFirstScrapeMiB: Math.round(rssFirst * 10) / 10,
      rssSteadyMiB: Math.round(Math.max(...rss) * 10) / 10,
      anonSteadyMiB: Math.round(parts.anon / 102.4) / 10,
      fileSteadyMiB: Math.round(parts.file / 102.4) / 10,
      rssMaxMiB: Math.round(Math.max(rssFirst, ...rss) * 10) / 10,
      heapUsedMaxMiB: max(used),
      heapTotalMaxMiB: max(total),
      codeMiB: mib(code),
      externalMaxMiB: max(ext),
      cpuMsPerScrape: Math.round(cpu * 10) / 10,
      ...(gc ? { gc: gc() } : {}),
      ...(byMapping
        ? {
            anonByMapping: {
              mallocMain: mib(byMapping.mallocMain * 1024),
              mallocArenas: mib(byMapping.mallocArenas * 1024),
              jitCode: mib(byMapping.jitCode * 1024),
              fileCow: mib(byMapping.fileCow * 1024),
              other: mib(byMapping.other * 1024),
            },
          }
        : {}),
    };
  } finally {
    await t.stop();
  }
}

const dir = mkdtempSync(`${tmpdir()}/libvirt-exporter-footprint-`);
const log = (m: string): void => {
  process.stderr.write(`footprint: ${m}\n`);
};
const result: FootprintResult = { date: new Date().toISOString(), node: process.version, scrapes };
try {
  log('compiling the exporter (tsconfig.build.json)');
  const main = await buildExporter();
  if (only.has('modules')) {
    log('modules');
    result.modules = await modules(main);
  }
  if (only.has('process')) {
    const bundle = await buildBundle();
    const procs: ProcessResult[] = [];
    for (const [label, file] of [
      ['compiled build', main],
      ['single-file bundle', bundle],
    ] as const) {
      log(`process: ${label}, ${scrapes} scrapes`);
      const t = await startOurs('footprint', file, 4, dir, { nodeArgs: ['--trace-gc'] });
      procs.push(await soak(t, label, `node ${file.replace(ROOT, '')}`, traceGc(t)));
    }
    result.process = procs;
  }
  if (only.has('variants')) {
    const rows: ProcessResult[] = [];
    const picked = values.variants?.split(',');
    for (const v of VARIANTS.filter((x) => picked?.some((p) => x.name.includes(p)) ?? true)) {
      log(`variant: ${v.name}, ${scrapes} scrapes`);
      const env = { ...(v.base === false ? { MALLOC_ARENA_MAX: undefined } : SHIPPED_ENV), ...v.env };
      const t = await startOurs('footprint', main, 4, dir, { nodeArgs: v.args, env });
      const shown = Object.entries(env).map(([k, x]) =>
        x === undefined ? '' : `${k}=${x === '' ? "''" : x} `,
      );
      rows.push(await soak(t, v.name, `${shown.join('')}node ${v.args.join(' ')}`, undefined));
    }
    result.variants = rows;
  }
  if (only.has('peer')) {
    if (existsSync(PEER_BINARY)) {
      log(`peer: ${scrapes} scrapes`);
      result.peer = await soak(
        await startPeer(),
        'prometheus-libvirt-exporter (Go peer)',
        PEER_BINARY,
        undefined,
      );
    } else result.peer = `not installed (${PEER_BINARY}; apt-get install prometheus-libvirt-exporter)`;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else
  process.stdout.write(
    `# Footprint breakdown (bench/footprint.ts), ${result.date}, Node.js ${result.node}\n\n${renderFootprint(result)}\n`,
  );
