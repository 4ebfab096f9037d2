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
