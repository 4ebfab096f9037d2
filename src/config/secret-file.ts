// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Files that hold a secret (a transport URL with its password, the telemetry secret, a TLS key):
 * a warning when other users can read them.
 */
import { stat } from 'node:fs/promises';

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
