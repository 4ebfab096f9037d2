#!/usr/bin/env -S node --single-threaded
// SPDX-License-Identifier: Apache-2.0
// Runs the compiled exporter (npm run build) when present; in a development checkout (dev
// dependencies installed) the TypeScript sources through tsx; else says what to do. Compute nodes
// run the single executable or the packages instead (docs/install.md). The shebang passes Node.js the
// daemon's options (DAEMON_NODE_OPTIONS of src/heap.ts; `env -S`: GNU coreutils 8.30 or later, BSD env).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/main.js', import.meta.url);
if (existsSync(fileURLToPath(dist))) {
  await import(dist.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'libvirt-exporter: dist/main.js is missing and tsx (a dev dependency) is not installed: ' +
        'run `npm ci && npm run build`, or install the single executable or a package (docs/install.md)\n',
    );
    process.exit(1);
  }
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
