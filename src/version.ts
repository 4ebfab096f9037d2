// SPDX-License-Identifier: Apache-2.0
/** Name, version and revision of this build (for build_info, the landing page and --version). */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

function revision(): string {
  if (process.env['LIBVIRT_EXPORTER_REVISION']) return process.env['LIBVIRT_EXPORTER_REVISION'];
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: new URL('..', import.meta.url),
      stdio: ['ignore', 'pipe', 'ignore'],
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** This build. */
export const version = {
  name: pkg.name,
  version: pkg.version,
  revision: revision(),
  nodejsVersion: process.version,
} as const;
