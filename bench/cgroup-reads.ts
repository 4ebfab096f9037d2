// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * How much CPU reading the running guests' cgroup files costs, on this machine's real cgroup v2 tree (the
 * lab's guests, found as the exporter finds them), per guest and pass, for the ways of reading them:
 *
 * - `readFileSync+regex`: what CgroupReader did up to this change (open + fstat + read + close with a path
 *   walk per file, the text split into lines and matched with regular expressions);
 * - `readFileSync+bytes`: the same reads, parsed from the bytes (no line arrays, no regex);
 * - `kept fds+bytes`: each file opened once and read again with pread at offset 0 (which makes the
 *   kernel generate a cgroup file's text anew) into one reused Buffer, parsed from the bytes; where the
 *   directory has no cpu.max (no cpu controller, e.g. a hybrid host), one of three ways of noticing one
 *   that appears later: a failing open per pass, `existsSync`, or a re-read kept `cgroup.controllers`;
 *
 * and `CgroupReader.read` as this checkout has it.
 *
 * It also checks that a kept descriptor sees new values: cpu.stat's usage_usec of the busiest guest,
 * read through the same descriptor twice, a second apart.
 *
 *   node --import tsx bench/cgroup-reads.ts [--passes 2000]
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CgroupReader } from '../src/inspector/cgroups.ts';

const { values } = parseArgs({ options: { passes: { type: 'string', default: '2000' } } });
const passes = Number(values.passes);

const doms = execFileSync('virsh', ['-r', '-c', 'qemu:///system', 'list'], { encoding: 'utf8' })
  .split('\n')
  .map((l) => /^\s*(\d+)\s+(\S+)\s+/.exec(l))
  .filter((m) => m !== null)
  .map((m) => ({ id: Number(m[1]), name: m[2] ?? '' }));
const reader = new CgroupReader();
if (reader.root === undefined || reader.unavailable !== undefined) throw new Error(reader.unavailable);
const root = reader.root;
const dirs = doms.flatMap((d) => {
  const dir = reader.resolve(d);
  return dir === undefined ? [] : [path.join(root, dir)];
});
const hasCpuMax = dirs.filter((d) => existsSync(path.join(d, 'cpu.max'))).length;
console.log(
  `${doms.length} running guests, ${dirs.length} with a cgroup under ${root}, ${hasCpuMax} with cpu.max`,
);

// --- the parsing as it was (split + regex) ---
function psiRegex(text: string): number | undefined {
  let some: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^(some|full)\s.*\btotal=(\d+)/.exec(line);
    if (m !== null && m[1] === 'some') some = Number(m[2]);
  }
  return some;
}
function flatRegex(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

// --- parsing from the bytes (the "some" total only: the same work as both totals) ---
const TOTAL = Buffer.from(' total=');
function psiBytes(buf: Buffer, len: number): number | undefined {
  let some: number | undefined;
  let start = 0;
  while (start < len) {
    let end = buf.indexOf(10, start);
    if (end < 0 || end > len) end = len;
    const at = buf.lastIndexOf(TOTAL, end - TOTAL.length);
    if (buf[start] === 0x73 && at > start) {
      let n = 0;
      for (let i = at + TOTAL.length; i < end; i++) n = n * 10 + (buf[i] ?? 0) - 48;
      some = n;
    }
    start = end + 1;
  }
  return some;
}
const isMax = (buf: Buffer, len: number): boolean =>
  len >= 3 && buf[0] === 0x6d && buf[1] === 0x61 && buf[2] === 0x78;

const buf = Buffer.allocUnsafe(4096);
const pread = (fd: number): number => readSync(fd, buf, 0, buf.length, 0);
let sink = 0;

function viaReadFile(dir: string, bytes: boolean): void {
  for (const f of ['cpu.pressure', 'memory.pressure', 'io.pressure']) {
    const b = readFileSync(path.join(dir, f));
    sink += (bytes ? psiBytes(b, b.length) : psiRegex(b.toString('utf8'))) ?? 0;
  }
  try {
    const max = readFileSync(path.join(dir, 'cpu.max'), 'utf8').trim().split(/\s+/)[0];
    if (max !== 'max') sink += flatRegex(readFileSync(path.join(dir, 'cpu.stat'), 'utf8')).size;
  } catch {
    // no cpu controller
  }
}

type Probe = 'failing open' | 'existsSync' | 'cgroup.controllers';
interface Kept {
  dir: string;
  psi: number[];
  max: number | undefined;
  controllers: number;
}
const open = (dir: string): Kept => ({
  dir,
  psi: ['cpu.pressure', 'memory.pressure', 'io.pressure'].map((f) => openSync(path.join(dir, f), 'r')),
  max: existsSync(path.join(dir, 'cpu.max')) ? openSync(path.join(dir, 'cpu.max'), 'r') : undefined,
  controllers: openSync(path.join(dir, 'cgroup.controllers'), 'r'),
});
function viaKept(k: Kept, probe: Probe): void {
  for (const fd of k.psi) sink += psiBytes(buf, pread(fd)) ?? 0;
  if (k.max !== undefined) {
    if (!isMax(buf, pread(k.max))) sink += pread(k.controllers);
    return;
  }
  if (probe === 'failing open') {
    try {
      closeSync(openSync(path.join(k.dir, 'cpu.max'), 'r'));
    } catch {
      sink++;
    }
  } else if (probe === 'existsSync') sink += existsSync(path.join(k.dir, 'cpu.max')) ? 1 : 0;
  else sink += buf.indexOf('cpu', 0) < pread(k.controllers) ? 1 : 0;
}

function cpuUs(run: () => void): number {
  for (let i = 0; i < Math.min(200, passes); i++) run(); // warm up (JIT)
  const t0 = process.cpuUsage();
  for (let i = 0; i < passes; i++) run();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / passes / dirs.length;
}

const kept = dirs.map(open);
const rows: [string, () => void][] = [
  [
    'readFileSync+regex (as it was)',
    () => {
      dirs.forEach((d) => {
        viaReadFile(d, false);
      });
    },
  ],
  [
    'readFileSync+bytes',
    () => {
      dirs.forEach((d) => {
        viaReadFile(d, true);
      });
    },
  ],
  [
    'kept fds+bytes, failing open of cpu.max',
    () => {
      kept.forEach((k) => {
        viaKept(k, 'failing open');
      });
    },
  ],
  [
    'kept fds+bytes, existsSync(cpu.max)',
    () => {
      kept.forEach((k) => {
        viaKept(k, 'existsSync');
      });
    },
  ],
  [
    'kept fds+bytes, pread cgroup.controllers',
    () => {
      kept.forEach((k) => {
        viaKept(k, 'cgroup.controllers');
      });
    },
  ],
  [
    'CgroupReader.read of this checkout',
    () => {
      doms.forEach((d) => (sink += reader.read(d)?.cpu.someUs ?? 0));
    },
  ],
];
// Two rounds, interleaved, so that a neighbour's load hits every way alike.
const results = new Map<string, number[]>();
for (let round = 0; round < 2; round++)
  for (const [name, run] of rows) results.set(name, [...(results.get(name) ?? []), cpuUs(run)]);
for (const [name, us] of results)
  console.log(
    `${name.padEnd(44)} ${us.map((u) => u.toFixed(2).padStart(7)).join(' ')} µs CPU per guest and pass`,
  );

// A kept descriptor re-read at offset 0 sees new values.
const stats = dirs.map((d) => openSync(path.join(d, 'cpu.stat'), 'r'));
const usage = (fd: number): number =>
  Number(/usage_usec (\d+)/.exec(buf.toString('latin1', 0, pread(fd)))?.[1]);
const first = stats.map(usage);
await sleep(1000);
const second = stats.map(usage);
const moved = second.filter((v, i) => v !== first[i]).length;
const best = second.reduce((b, v, i) => (v - (first[i] ?? 0) > second[b]! - (first[b] ?? 0) ? i : b), 0);
console.log(
  `re-read through the same fd a second later: ${moved}/${stats.length} cpu.stat usage_usec moved; busiest ${path.basename(dirs[best] ?? '')}: ${first[best]} → ${second[best]}`,
);
for (const k of kept) for (const fd of [...k.psi, k.max, k.controllers]) if (fd !== undefined) closeSync(fd);
stats.forEach((fd) => {
  closeSync(fd);
});
reader.close();
if (sink === -1) console.log(sink);
