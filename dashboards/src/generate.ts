// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Writes the dashboards' JSON next to this directory:
 *   node --import tsx dashboards/src/generate.ts           write dashboards/*.json
 *   node --import tsx dashboards/src/generate.ts --check   exit 1 if a committed file differs
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Dashboard } from '@grafana/schema';
import { format, resolveConfig } from 'prettier';

import { computeNodeDashboard } from './compute-node.ts';
import { exporterDashboard } from './exporter.ts';
import { instanceDashboard } from './instance.ts';
import { projectDashboard } from './project.ts';

/** Every dashboard with the file name it is committed under (in dashboards/). */
export const DASHBOARDS: readonly { readonly file: string; readonly build: () => Dashboard }[] = [
  { file: 'libvirt-compute-node.json', build: computeNodeDashboard },
  { file: 'libvirt-instance.json', build: instanceDashboard },
  { file: 'libvirt-project.json', build: projectDashboard },
  { file: 'libvirt-exporter.json', build: exporterDashboard },
];

/** The directory of the committed JSON files. */
export const DASHBOARDS_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * The exact text committed for a dashboard: JSON as the repository's Prettier configuration formats
 * it, so that `npm run format` leaves the generated files alone.
 */
export async function render(d: Dashboard, file: string): Promise<string> {
  const options = (await resolveConfig(`${DASHBOARDS_DIR}${file}`)) ?? {};
  return format(JSON.stringify(d), { ...options, parser: 'json' });
}

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes('--check');
  let stale = 0;
  for (const { file, build } of DASHBOARDS) {
    const path = `${DASHBOARDS_DIR}${file}`;
    const text = await render(build(), file);
    if (check) {
      const committed = await readFile(path, 'utf8').catch(() => '');
      if (committed !== text) {
        stale++;
        process.stderr.write(
          `${file} differs from its generator: run node --import tsx dashboards/src/generate.ts\n`,
        );
      }
    } else {
      await writeFile(path, text);
      process.stdout.write(`wrote dashboards/${file}\n`);
    }
  }
  return stale === 0 ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
