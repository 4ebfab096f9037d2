// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * What the benchmark reads from /proc about a process: CPU time (user + system, from /proc/PID/stat) and
 * resident memory (VmRSS, from /proc/PID/status). Reading /proc costs nothing to the measured process,
 * unlike asking it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** The kernel's clock tick (USER_HZ), the unit of the CPU times in /proc/PID/stat. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU time (user + system) of `pid` so far, in ms; NaN when the process is gone. */
export function cpuMs(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }
  // The command name (field 2) may hold spaces and parentheses: split after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTicks();
}

/** Resident set size of `pid` in KiB; NaN when the process is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The load average over one minute. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

/**
 * Resident memory of `pid` split as the kernel counts it, KiB: `anon` (the process's own: heaps, stacks,
 * malloc) and `file` (pages of mapped files, mostly the node binary's code, shared with every other
 * process that maps the same file); NaN when the process is gone.
 */
export function rssPartsKiB(pid: number | 'self'): { anon: number; file: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]);
    return { anon: field('RssAnon'), file: field('RssFile') };
  } catch {
    return { anon: Number.NaN, file: Number.NaN };
  }
}

/** The process's own memory (anonymous resident pages) by the kind of mapping that holds it, KiB. */
export interface AnonByMapping {
  /** glibc malloc's main arena, grown with brk (`[heap]`). */
  readonly mallocMain: number;
  /** glibc malloc's other arenas: 64 MiB-aligned reservations of 64 MiB, one per arena. */
  readonly mallocArenas: number;
  /** Writable and executable mappings: V8's JIT code. */
  readonly jitCode: number;
  /** Copy-on-write pages of mapped files (relocations, the binary's data). */
  readonly fileCow: number;
  /**
   * Every other anonymous mapping: V8's heap pages (most of it), malloc blocks too large for an arena
   * (mmap'd one by one, e.g. big Buffers), thread stacks.
   */
  readonly other: number;
}

/** What /proc/PID/smaps says of the process's own memory ({@link AnonByMapping}); undefined when gone. */
export function anonByMappingKiB(pid: number): AnonByMapping | undefined {
  let smaps: string;
  try {
    smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const maps: { start: bigint; end: bigint; perm: string; path: string; anon: number }[] = [];
  for (const line of smaps.split('\n')) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (h)
      maps.push({ start: BigInt(`0x${h[1]}`), end: BigInt(`0x${h[2]}`), perm: h[3]!, path: h[4]!, anon: 0 });
    const a = /^Anonymous:\s+(\d+) kB/.exec(line);
    const last = maps.at(-1);
    if (a && last) last.anon = Number(a[1]);
  }
  const ARENA = 64n * 1024n * 1024n;
  const out = { mallocMain: 0, mallocArenas: 0, jitCode: 0, fileCow: 0, other: 0 };
  maps.forEach((m, i) => {
    if (m.anon === 0) return;
    const next = maps[i + 1];
    // An arena: its used part (rw-p) followed by the rest of its 64 MiB reservation (---p), 64 MiB-aligned.
    const reserved = next?.start === m.end && next.perm === '---p' && next.path === '' ? next.end : m.end;
    if (m.path === '[heap]') out.mallocMain += m.anon;
    else if (m.path.startsWith('/')) out.fileCow += m.anon;
    else if (m.perm.includes('x')) out.jitCode += m.anon;
    else if (m.path === '' && m.start % ARENA === 0n && reserved - m.start === ARENA)
      out.mallocArenas += m.anon;
    else out.other += m.anon;
  });
  return out;
}
