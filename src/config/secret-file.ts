// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Files that hold a secret (a transport URL with its password, the telemetry secret, a TLS key):
 * a warning when other users can read them, and a digest of their content for reloads.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/**
 * A one-line warning when `path` is readable by its group or by everyone (mode & 0o044), else
 * undefined (also when the file cannot be examined: reading it reports that).
 */
export async function secretFileWarning(path: string, key: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch {
    return undefined;
  }
  if ((mode & 0o044) === 0) return undefined;
  const who = (mode & 0o004) !== 0 ? 'every user' : 'its group';
  return `${key} ${path} holds a secret and ${who} can read it (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); make it readable by its owner only (chmod 600)`;
}

/**
 * A digest of the files a configuration section reads at start (secrets, TLS files, polling.yaml),
 * so that a reload notices a changed file even when the configuration text is the same. Files that
 * cannot be read count as such (starting the section reports why). The digest is a hash: it can be
 * compared, never printed back as a secret.
 */
export async function filesDigest(paths: readonly (string | undefined)[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) {
    if (p === undefined) continue;
    h.update(p).update('\0');
    try {
      h.update(await readFile(p));
    } catch (err) {
      h.update(`unreadable:${(err as NodeJS.ErrnoException).code ?? ''}`);
    }
    h.update('\0');
  }
  return h.digest('hex');
}
