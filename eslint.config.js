// SPDX-License-Identifier: Apache-2.0
import { defineConfig } from 'eslint/config';
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tools/', '.lab/', '.scratch/', '.reliability/', 'helm/**/*.json'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
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
        { patterns: ['**/collectors/*', '**/scrape/*', '**/http/*', '**/publisher/*', '**/config/*'] },
      ],
    },
  },
  {
    // The Ceilometer sample model reads the inspector and the meter table; the outputs use it, never the reverse.
    files: ['src/ceilometer/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/publisher/*', '**/collectors/*', '**/scrape/*', '**/http/*', '**/config/*', '**/cli/*'] },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { URL: 'readonly', process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
  },
);
