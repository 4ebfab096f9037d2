// SPDX-License-Identifier: Apache-2.0
import { existsSync } from 'node:fs';
import { defineConfig } from 'eslint/config';
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './src/layers.json' with { type: 'json' };

// The layers of src/ (src/layers.json, which test/unit/layers.test.ts reads too).
const { layers: LAYERS, leaves: LEAVES, temporary: TEMPORARY } = layers;

/** Import patterns of a unit: a folder of src/, or a top-level file (app, main). */
const patternsOf = (unit) =>
  existsSync(new URL(`src/${unit}.ts`, import.meta.url)) ? [`**/${unit}.ts`] : [`**/${unit}/**`];

/** What a unit may not import: its own layer's other units and every layer above. */
function above(unit) {
  const rank = LAYERS.findIndex((l) => l.includes(unit));
  return LAYERS.slice(rank)
    .flat()
    .filter((u) => u !== unit)
    .flatMap(patternsOf);
}

const CONFIG_LEAVES = LEAVES.filter((l) => l.startsWith('config/')).map((l) => `**/${l}`);

/** One no-restricted-imports rule per folder of src/ (typescript-eslint's, which knows `import type`). */
function layerRules(...units) {
  const configRank = LAYERS.findIndex((l) => l.includes('config'));
  return units.map((unit) => {
    const rank = LAYERS.findIndex((l) => l.includes(unit));
    const forbidden = above(unit);
    const patterns = [
      {
        group: forbidden.filter((p) => p !== '**/config/**'),
        message: 'imports go down the layers only (eslint.config.js, test/unit/layers.test.ts)',
      },
    ];
    if (rank < configRank) {
      patterns.push(
        {
          // config's leaves are below every layer here; its schema may be read for its type only.
          group: ['**/config/**', ...CONFIG_LEAVES.map((p) => `!${p}`), '!**/config/schema.ts'],
          message:
            'config is above this layer: only its leaves (yaml, duration, secret-file) may be imported',
        },
        {
          group: ['**/config/schema.ts'],
          allowTypeImports: true,
          message: 'only the Config type may be imported here (import type): the schema is built above',
        },
      );
    }
    patterns.push({
      group: ['**/libvirt/**', '!**/libvirt/index.ts'],
      message: 'above the inspector, the libvirt client is used through its public API, src/libvirt/index.ts',
    });
    return {
      files: [`src/${unit}/**/*.ts`],
      rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
    };
  });
}

export default defineConfig(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      '.tools/',
      '.lab/',
      '.scratch/',
      '.reliability/',
      'helm/**/*.json',
    ],
  },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  // The layers of src/, bottom first (test/unit/layers.test.ts checks the same order from the import
  // statements, dynamic and type-only ones included, and that the units have no cycle):
  //   libvirt → inspector → meters → ceilometer, scrape → collectors, publisher → config → http, cli → app → server → main
  // A layer imports only layers below it, never one beside it. scrape is the collector framework (the
  // contract, the metric sink, the scraper): collectors build on it, and the registry of collectors is
  // handed to it from above (src/app.ts), so scrape imports no collector.
  // config sits in two places: its leaf parsers (config/yaml.ts, duration.ts, secret-file.ts: they import
  // nothing of ours), with log/, version.ts and heap.ts, may be used by every layer above the inspector;
  // the schema (which composes the publisher's and the collectors' sections), loading, watching and the
  // inspector options sit above collectors and publisher. The Config type is read everywhere (each layer
  // reads its own section): `import type` of config/schema.ts is allowed from every layer above the
  // inspector.
  {
    // The libvirt client must stay publishable on its own: it imports nothing else of ours.
    files: ['src/libvirt/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../*', '!./*'] }],
    },
  },
  {
    // The inspector depends on the libvirt client only, never on the outputs built on it.
    files: ['src/inspector/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...above('inspector'),
            ...LEAVES.map((l) => (l.endsWith('.ts') ? `**/${l}` : `**/${l}/**`)),
          ],
        },
      ],
    },
  },
  ...layerRules('meters', 'ceilometer', 'scrape', 'collectors', 'publisher', 'config', 'http', 'cli'),
  {
    // The leaves import nothing of ours, so that any layer may use them.
    files: LEAVES.map((l) => (l.endsWith('.ts') ? `src/${l}` : `src/${l}/**/*.ts`)),
    rules: { 'no-restricted-imports': ['error', { patterns: ['../**', '!./*'] }] },
  },
  {
    // The app (routes) is built by the server's life cycle (server.ts), which main.ts drives.
    files: ['src/app.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/server.ts', '**/main.ts'] }] },
  },
  {
    files: ['src/server.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/main.ts'] }] },
  },
  // Spread only while the list is not empty (ESLint refuses an empty `files`).
  ...(TEMPORARY.length === 0
    ? []
    : [
        {
          // TEMPORARY (issue 11): imports against the layers that other changes remove, listed with their
          // reason in src/layers.json; the lead deletes each entry there when its change is merged.
          files: TEMPORARY.map((t) => `src/${t.file}`),
          rules: { '@typescript-eslint/no-restricted-imports': 'off' },
        },
      ]),
  {
    // scripts/ and test/ do not import each other: scripts run without test/, tests do not depend on
    // scripts (a test that checks a script's output runs it as a process). See scripts/README.md.
    // The chart's generator and validator (helm/tools/) are imported by the chart's tests and import
    // neither scripts/ nor test/.
    files: ['scripts/**/*.ts', 'helm/tools/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/test/**', '**/scripts/**'] }] },
  },
  {
    files: ['test/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/scripts/**'] }] },
  },
  {
    // Files that do one thing (issue 11): at most about 300 lines and 60 lines per function, comments
    // and blank lines aside, everywhere in src/. Exempt: generated code and data tables.
    files: ['src/**/*.ts'],
    ignores: [
      'src/libvirt/generated/**',
      'src/meters/table.ts',
      'src/cli/flag-table.ts',
      'src/http/web-config/tls-names.ts',
    ],
    rules: {
      'max-lines': ['error', { max: 300, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'helm/tools/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { URL: 'readonly', process: 'readonly', console: 'readonly', Buffer: 'readonly' },
    },
  },
);
