// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Counts the libvirt RPC calls a process makes during one action, from the outside: strace records every
 * write to a socket (hex dumps of the first bytes), and each buffer that starts with a libvirt header of
 * type CALL is one call. This works the same for this exporter and for the Go peer (libvirt's C client),
 * so their round trips are measured, not inferred from their source.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

/** libvirt's remote program number, as the 4 header bytes after the length word. */
const REMOTE_PROGRAM_HEX = '20008086';

/** Calls seen, in total and by procedure number. */
export interface CallCount {
  readonly total: number;
  readonly byProc: Readonly<Record<string, number>>;
}

/** Buffers ("\x00\x01…" strings) written in one strace line, decoded to bytes. */
function buffers(line: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of line.matchAll(/"((?:\\x[0-9a-f]{2})+)"/g)) {
    out.push(Buffer.from(m[1]!.replace(/\\x/g, ''), 'hex'));
  }
  return out;
}

/** Parses an strace log (-xx -s 32) into the libvirt calls it shows. */
export function countCalls(log: string): CallCount {
  const byProc: Record<string, number> = {};
  let total = 0;
  for (const line of log.split('\n')) {
    if (!/\b(write|writev|sendmsg)\(/.test(line)) continue;
    for (const b of buffers(line)) {
      // length(4) prog(4) vers(4) proc(4) type(4): type 0 is a CALL.
      if (b.length < 20 || b.subarray(4, 8).toString('hex') !== REMOTE_PROGRAM_HEX) continue;
      if (b.readInt32BE(16) !== 0) continue;
      const proc = String(b.readInt32BE(12));
      byProc[proc] = (byProc[proc] ?? 0) + 1;
      total++;
    }
  }
  return { total, byProc };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Traces every thread of `pid` while `action` runs and returns the libvirt calls it made. Returns
 * undefined when strace is missing or cannot attach.
 */
export async function tracedCalls(
  pid: number,
  action: () => Promise<unknown>,
  options: { signal?: AbortSignal } = {},
): Promise<CallCount | undefined> {
  const file = `/tmp/libvirt-exporter-bench-strace-${process.pid}-${pid}.log`;
  const child = spawn(
    'strace',
    ['-f', '-p', String(pid), '-xx', '-s', '32', '-e', 'trace=write,writev,sendmsg', '-o', file],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) },
  );
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      resolve(code);
    });
    child.on('error', () => {
      resolve(-1);
    });
  });
  // strace says "Process N attached" on stderr once it traces every thread.
  for (let i = 0; i < 50 && !/attached/.test(err) && child.exitCode === null; i++) await sleep(100);
  if (child.exitCode !== null || !/attached/.test(err)) {
    child.kill('SIGKILL');
    await exited;
    return undefined;
  }
  try {
    await action();
    await sleep(200);
  } finally {
    if (child.pid !== undefined) process.kill(child.pid, 'SIGINT');
    await exited;
  }
  try {
    return countCalls(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  } finally {
    rmSync(file, { force: true });
  }
}
