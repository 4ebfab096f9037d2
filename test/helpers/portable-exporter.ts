// SPDX-License-Identifier: Apache-2.0
/**
 * The exporter in a form another user can run, for tests that start it as uid 65534.
 *
 * Run as another user, `node --import tsx src/main.ts` needs that user to traverse the checkout: it
 * loads tsx and every dependency from node_modules, and the repo's Node.js lives in .tools/. A clean
 * clone under root's home (mode 700 on Debian; the README says to work as root) failed with "Cannot
 * find package 'tsx'" (issue 15 item 15). Here the exporter is bundled by scripts/bundle.ts (what the
 * single executable and the image run) into a fresh temporary directory any user may read and
 * traverse, beside a link to (or a copy of) the running node binary.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** A bundled exporter and a node binary to run it with, in a directory every user can reach. */
export interface PortableExporter {
  /** The node binary, executable by any user. */
  readonly node: string;
  /** The bundled exporter (libvirt-exporter.cjs). */
  readonly script: string;
  /** The directory holding both (a working directory any user may use). */
  readonly dir: string;
  /** Removes the directory. */
  remove(): void;
}

/** Throws unless every directory from `path` up to `/` may be traversed by any user. */
function assertTraversable(path: string): void {
  for (let d = path; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0)
      throw new Error(`${d} cannot be traversed by other users: set TMPDIR to a directory they can reach`);
    if (dirname(d) === d) return;
  }
}

/** Bundles the exporter (a few seconds) into a fresh world-readable temporary directory. */
export function portableExporter(): PortableExporter {
  const dir = mkdtempSync(join(tmpdir(), 'exporter-bundle-'));
  try {
    chmodSync(dir, 0o755);
    assertTraversable(dir);
    execFileSync(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'bundle.ts'), dir], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 120_000,
    });
    const script = join(dir, 'libvirt-exporter.cjs');
    chmodSync(script, 0o644);
    // The repo's node (.tools/) may sit under the same closed directory: a hard link where the file
    // system allows (no 120 MB copy), else a copy.
    const node = join(dir, 'node');
    try {
      linkSync(process.execPath, node);
    } catch {
      copyFileSync(process.execPath, node);
    }
    if ((statSync(node).mode & 0o005) !== 0o005) chmodSync(node, 0o755);
    return {
      node,
      script,
      dir,
      remove: () => {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
