// SPDX-License-Identifier: Apache-2.0
/** Name, version and revision of this build (for build_info, the landing page and --version). */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** The build, when a bundler wrote it in (scripts/bundle.ts: the single executable and the image). */
declare const LIBVIRT_EXPORTER_BUILD: { name: string; version: string; revision: string } | undefined;

interface Build {
  name: string;
  version: string;
  revision?: string;
}

function build(): Build {
  if (typeof LIBVIRT_EXPORTER_BUILD !== 'undefined') return LIBVIRT_EXPORTER_BUILD;
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Build;
}

const pkg = build();

function revision(): string {
  if (process.env['LIBVIRT_EXPORTER_REVISION']) return process.env['LIBVIRT_EXPORTER_REVISION'];
  if (pkg.revision !== undefined) return pkg.revision;
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
