// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The benchmark's use of the test lab (test/lab/lab.sh): how many extra guests exist, bringing the lab to
 * N extra guests and back, and the libvirtd pid. Everything goes through lab.sh, which owns the lab.
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The lab script. */
export const LAB_SCRIPT = fileURLToPath(new URL('../../test/lab/lab.sh', import.meta.url));

/** The most extra guests lab.sh creates. */
export const MAX_EXTRA = 200;

/** The lab's environment (`lab.sh env`), e.g. LAB_STATE_DIR, LAB_RUNNING_GUESTS. */
export async function labEnv(options: { signal?: AbortSignal } = {}): Promise<Record<string, string>> {
  const { stdout } = await run('bash', [LAB_SCRIPT, 'env'], { signal: options.signal, encoding: 'utf8' });
  const env: Record<string, string> = {};
  for (const m of stdout.matchAll(/^export (\w+)='([^']*)'$/gm)) env[m[1]!] = m[2]!;
  return env;
}

/** Names of the running and paused core guests (the active guests that every lab has). */
export function coreActiveGuests(env: Record<string, string>): string[] {
  const words = (k: string): string[] => (env[k] ?? '').split(' ').filter((w) => w !== '');
  return [...words('LAB_RUNNING_GUESTS'), ...words('LAB_PAUSED_GUESTS')];
}

/** How many extra guests (`lab-extra-NNN`) the lab has defined right now. */
export function existingExtras(stateDir: string): number {
  try {
    return readdirSync(`${stateDir}/xml`).filter((f) => /^lab-extra-\d{3}\.xml$/.test(f)).length;
  } catch {
    return 0;
  }
}

/**
 * `lab.sh up --extra N`: installs what is missing, starts the daemons and makes exactly N extra guests
 * (extras above N are removed); with `runningExtras`, the extras above that many are kept paused. Its
 * progress goes to our stderr.
 */
export function labUp(
  extra: number,
  options: { signal?: AbortSignal; runningExtras?: number } = {},
): Promise<void> {
  const running =
    options.runningExtras !== undefined ? ['--running-extra', String(options.runningExtras)] : [];
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [LAB_SCRIPT, 'up', '--extra', String(extra), ...running], {
      stdio: ['ignore', 'ignore', 'inherit'],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`lab.sh up --extra ${extra} exited with ${code ?? 'a signal'}`));
    });
  });
}

/** The pid of the lab's libvirtd, or undefined when it does not run. */
export async function libvirtdPid(options: { signal?: AbortSignal } = {}): Promise<number | undefined> {
  try {
    const { stdout } = await run('bash', [LAB_SCRIPT, 'libvirtd-pid'], {
      signal: options.signal,
      encoding: 'utf8',
    });
    const pid = Number(stdout.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
