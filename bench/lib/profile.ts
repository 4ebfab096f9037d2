// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where the time went: self time by function and by
 * area (a file of src/, an npm package, Node.js itself, the garbage collector).
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time of one function or area. */
export interface ProfileRow {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

/** A profile reduced to its busiest functions and areas (idle time left out). */
export interface ProfileSummary {
  readonly busyMs: number;
  /** Self time: the function itself, not what it calls. */
  readonly functions: readonly ProfileRow[];
  /** Total time (the function and everything it calls) of this project's functions. */
  readonly inclusive: readonly ProfileRow[];
  readonly areas: readonly ProfileRow[];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function where(url: string): string {
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  // The compiled exporter (the benchmark's build) counts as src/.
  const built = /node_modules\/\.cache\/libvirt-exporter-bench\/(src\/.*)$/.exec(path);
  if (built) return built[1]!.replace(/\.js$/, '.ts');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
  if (pkg) return pkg[1]!;
  if (path.startsWith(ROOT)) return path.slice(ROOT.length);
  if (path.startsWith('node:')) return 'node';
  return path === '' ? '' : path;
}

function area(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(program)') return 'V8 (program)';
    return 'V8 builtins';
  }
  const w = where(url);
  return w === 'node' ? 'Node.js core' : w;
}

const maps = new Map<string, SourceMap | undefined>();

/** The TypeScript line of a position in the compiled exporter, through its source map. */
function sourceLine(url: string, line: number, column: number): number | undefined {
  if (!url.startsWith('file://') || !url.includes('/libvirt-exporter-bench/')) return undefined;
  const file = `${fileURLToPath(url)}.map`;
  if (!maps.has(file)) {
    maps.set(
      file,
      existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as never) : undefined,
    );
  }
  const entry = maps.get(file)?.findEntry(line, column) as { originalLine?: number } | undefined;
  return entry?.originalLine;
}

/** `name (file:line)`; a line is only shown when the profile has one (code run through tsx has none). */
function label(n: ProfileNode): string {
  const { functionName, url, lineNumber, columnNumber } = n.callFrame;
  if (url === '') return functionName || '(anonymous)';
  const w = where(url);
  const line = sourceLine(url, lineNumber, columnNumber) ?? lineNumber;
  return `${functionName || '(anonymous)'} (${w}${line > 0 ? `:${line + 1}` : ''})`;
}

function isOurs(n: ProfileNode): boolean {
  const w = where(n.callFrame.url);
  return w.startsWith('src/') || w.startsWith('bench/');
}

/** Summarises the profile at `file`: the `top` busiest functions and every area. */
export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Sample i lasted timeDeltas[i + 1] (the delta stored with a sample is the time since the previous one).
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fn = new Map<string, number>();
  const incl = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (n === undefined || n.callFrame.functionName === '(idle)') continue;
    busy += us;
    const a = area(n);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const name = label(n);
    fn.set(name, (fn.get(name) ?? 0) + us);
    // Inclusive time: every distinct function of this project on the stack gets the sample.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const a = byId.get(at);
      if (a === undefined || !isOurs(a)) continue;
      const k = label(a);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  const rows = (m: Map<string, number>, n: number): ProfileRow[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return {
    busyMs: busy / 1000,
    functions: rows(fn, top),
    inclusive: rows(incl, top),
    areas: rows(areas, 12),
  };
}
