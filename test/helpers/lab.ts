// SPDX-License-Identifier: Apache-2.0
/** Helpers for integration tests against the lab (test/lab/lab.sh): virsh, lab commands, polling. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LAB = fileURLToPath(new URL('../lab/lab.sh', import.meta.url));

/** Runs a lab.sh subcommand and returns its stdout. */
export function lab(...args: string[]): string {
  return execFileSync('bash', [LAB, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 600_000,
  });
}

/** Read-only virsh against the lab's libvirtd. */
export function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-q', '-r', '-c', 'qemu:///system', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** Read-write virsh (for tests that create, pause or destroy guests). */
export function virshRw(...args: string[]): string {
  return execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** `virsh domstats` of running domains as name → field → value. */
export function domstats(...args: string[]): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of virsh('domstats', ...args).split('\n')) {
    const dom = /^Domain: '(.+)'$/.exec(line.trim());
    if (dom) {
      cur = new Map();
      out.set(dom[1]!, cur);
      continue;
    }
    const kv = /^\s*([^=]+)=(.*)$/.exec(line);
    if (kv && cur) cur.set(kv[1]!, kv[2]!);
  }
  return out;
}

/** Waits until `fn` returns true, polling every `stepMs`, or throws after `timeoutMs`. */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  stepMs = 200,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The guests the lab defines, and what they are like. */
export const LAB_GUESTS = {
  running: ['instance-00000001', 'instance-00000002', 'instance-00000003', 'lab-plain-1'],
  paused: ['instance-00000004'],
  shutoff: ['instance-00000005'],
  nova11: ['instance-00000001', 'instance-00000002', 'instance-00000004', 'instance-00000005'],
  nova10: ['instance-00000003'],
  noMetadata: ['lab-plain-1'],
  tiny: ['instance-00000001', 'instance-00000002'],
} as const;

/** The pid of a guest's QEMU process (found by `guest=NAME,` in its command line). */
export function guestPid(name: string): number {
  const out = execFileSync('pgrep', ['-f', `guest=${name},`], { encoding: 'utf8' })
    .trim()
    .split('\n');
  if (out.length !== 1 || !out[0])
    throw new Error(`expected one QEMU process for ${name}, found ${out.length}`);
  return Number(out[0]);
}

/** Stops (SIGSTOP) or resumes (SIGCONT) a guest's QEMU: a hung guest. */
export function guestSignal(name: string, signal: 'SIGSTOP' | 'SIGCONT'): void {
  process.kill(guestPid(name), signal);
}
