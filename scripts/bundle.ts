// SPDX-License-Identifier: Apache-2.0
/**
 * The exporter as one JavaScript file, for the single executable and the container image:
 * src/main.ts and its production dependencies bundled by esbuild into dist/bundle/libvirt-exporter.cjs
 * (CommonJS: what a Node.js single executable application runs), with the name, version (package.json)
 * and revision (LIBVIRT_EXPORTER_REVISION, else git, else "unknown") written in, and the licence texts
 * of every bundled package beside it in THIRD-PARTY-LICENSES.txt.
 *
 *   node --import tsx scripts/bundle.ts [OUTDIR]
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const out = resolve(process.argv[2] ?? join(REPO, 'dist', 'bundle'));
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };

function revision(): string {
  const env = process.env['LIBVIRT_EXPORTER_REVISION'];
  if (env) return env;
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'ignore'],
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

mkdirSync(out, { recursive: true });
const file = join(out, 'libvirt-exporter.cjs');
const result = await build({
  entryPoints: [join(REPO, 'src', 'main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  outfile: file,
  minifySyntax: true,
  // No comments nor indentation (issue 16): Node.js keeps the whole source of a script in the V8 heap, and
  // comments in other languages (zod's locales) made it a two-byte string; the plain ASCII file holds
  // 2.5 MiB there instead of 7 MiB (bench/footprint.ts). Names stay, so stack traces still name functions.
  minifyWhitespace: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // version.ts reads package.json next to the sources only when this is not defined.
  logOverride: { 'empty-import-meta': 'silent' },
  define: {
    LIBVIRT_EXPORTER_BUILD: JSON.stringify({ name: pkg.name, version: pkg.version, revision: revision() }),
  },
  banner: { js: `// ${pkg.name} ${pkg.version}: bundled; licences in THIRD-PARTY-LICENSES.txt` },
});

// Every npm package that went into the bundle, with its licence text.
const packages = new Map<string, string>();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m?.[1] !== undefined) packages.set(m[1], m[1]);
}
const sections: string[] = [];
for (const dir of [...packages.keys()].sort()) {
  const abs = resolve(REPO, dir);
  const meta = JSON.parse(readFileSync(join(abs, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string;
    author?: string | { name: string };
  };
  const licenceFile = readdirSync(abs).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const author = typeof meta.author === 'object' ? meta.author.name : meta.author;
  // A few packages ship no licence file: their package.json licence and author are what there is.
  const text =
    licenceFile !== undefined
      ? readFileSync(join(abs, licenceFile), 'utf8').trim()
      : `(no licence file in the package; package.json: license ${meta.license ?? 'unknown'}, author ${author ?? 'unknown'})`;
  sections.push(`${meta.name} ${meta.version} (${meta.license ?? 'see text'})\n\n${text}\n`);
}
const notices = join(out, 'THIRD-PARTY-LICENSES.txt');
writeFileSync(
  notices,
  `Packages bundled into ${pkg.name} ${pkg.version}, with their licences.\n\n${sections.join(`\n${'-'.repeat(78)}\n\n`)}`,
);
if (!existsSync(dirname(file))) throw new Error('no bundle written');
process.stdout.write(`${relative(REPO, file)}: ${packages.size} packages bundled\n`);
