// SPDX-License-Identifier: Apache-2.0
// The layers of src/, checked from the import statements themselves (static, dynamic, type-only and
// re-exports, parsed with the TypeScript compiler): every import between two units of src/ goes
// downwards in LAYERS, so the graph of units has no cycle. eslint.config.js states the same rules per
// folder (no-restricted-imports) for the editor; this test is the source of truth, and also sees what
// those patterns cannot (dynamic imports, top-level files, a new folder nobody wrote a rule for).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** The layers of src/ (src/layers.json: its `about` says what each field means). */
interface LayersFile {
  readonly layers: readonly (readonly string[])[];
  readonly leaves: readonly string[];
  readonly leavesNotFor: readonly string[];
  readonly typeOnly: string;
  readonly temporary: readonly { file: string; to: string; why: string }[];
}
const LAYERS_FILE = JSON.parse(readFileSync(join(SRC, 'layers.json'), 'utf8')) as LayersFile;

/** A leaf's unit: its folder, or its file without .ts. */
const leafUnit = (leaf: string): string => leaf.replace(/\.ts$/, '');

/**
 * The units of src/, bottom first; the leaves (config's leaf parsers, log, version, heap) form one layer
 * just above the inspector. A unit may import the units of lower layers only.
 */
const LAYERS: readonly (readonly string[])[] = [
  ...LAYERS_FILE.layers.slice(0, 2),
  LAYERS_FILE.leaves.map(leafUnit),
  ...LAYERS_FILE.layers.slice(2),
];
const LEAVES = new Set(LAYERS_FILE.leaves.map(leafUnit));
const NO_LEAVES = new Set(LAYERS_FILE.leavesNotFor);
const TYPE_ONLY_CONFIG = LAYERS_FILE.typeOnly;
const TEMPORARY = LAYERS_FILE.temporary;

function unitOf(file: string): string {
  const rel = relative(SRC, file).split(sep).join('/');
  if (LEAVES.has(leafUnit(rel))) return leafUnit(rel);
  const slash = rel.indexOf('/');
  return slash === -1 ? rel.replace(/\.ts$/, '') : rel.slice(0, slash);
}

function rankOf(unit: string): number {
  const r = LAYERS.findIndex((l) => l.includes(unit));
  assert.notEqual(r, -1, `src unit "${unit}" is in no layer: add it to LAYERS (and to eslint.config.js)`);
  return r;
}

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

interface Import {
  readonly specifier: string;
  readonly typeOnly: boolean;
}

/** Every module a file imports or re-exports, statically or with import(). */
export function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Import[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const named = c?.namedBindings;
      const allNamedTypes =
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      out.push({
        specifier: node.moduleSpecifier.text,
        typeOnly:
          c !== undefined &&
          (c.phaseModifier === ts.SyntaxKind.TypeKeyword || (c.name === undefined && allNamedTypes)),
      });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      out.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const lit = node.argument.literal;
      if (ts.isStringLiteral(lit)) out.push({ specifier: lit.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

interface Edge {
  readonly file: string;
  readonly target: string;
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

function edgesOf(files: Iterable<string>): Edge[] {
  const edges: Edge[] = [];
  for (const file of files) {
    for (const imp of importsOf(file)) {
      if (!imp.specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), imp.specifier);
      const from = unitOf(file);
      const to = unitOf(target);
      if (from === to) continue;
      edges.push({
        file: relative(SRC, file).split(sep).join('/'),
        target: relative(SRC, target).split(sep).join('/'),
        from,
        to,
        typeOnly: imp.typeOnly,
      });
    }
  }
  return edges;
}

function allowed(e: Edge): boolean {
  // Above the inspector, the libvirt client is used through its public API only.
  if (e.to === 'libvirt' && e.from !== 'inspector' && e.target !== 'libvirt/index.ts') return false;
  if (LEAVES.has(e.to)) {
    return !NO_LEAVES.has(e.from) && rankOf(e.from) > rankOf(e.to);
  }
  if (e.typeOnly && e.target === TYPE_ONLY_CONFIG) return !NO_LEAVES.has(e.from);
  return rankOf(e.from) > rankOf(e.to);
}

const temporary = (e: Edge): boolean => TEMPORARY.some((t) => t.file === e.file && t.to === e.to);

test('every import between units of src/ goes down the layers', () => {
  const wrong = edgesOf(tsFiles(SRC))
    .filter((e) => !allowed(e) && !temporary(e))
    .map((e) => `${e.file} imports ${e.target} (${e.from} -> ${e.to})`);
  assert.deepEqual(wrong, [], 'imports against the layers (see LAYERS in this file)');
});

test('the units of src/ import each other without a cycle (type-only configuration reads aside)', () => {
  const graph = new Map<string, Set<string>>();
  for (const e of edgesOf(tsFiles(SRC))) {
    if (e.typeOnly && e.target === TYPE_ONLY_CONFIG) continue;
    if (temporary(e)) continue;
    const s = graph.get(e.from) ?? new Set<string>();
    s.add(e.to);
    graph.set(e.from, s);
  }
  // Depth-first search for a back edge; reports one cycle as a path.
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycle = (u: string): string[] | undefined => {
    state.set(u, 'open');
    stack.push(u);
    for (const v of graph.get(u) ?? []) {
      if (state.get(v) === 'open') return [...stack.slice(stack.indexOf(v)), v];
      if (state.get(v) === undefined) {
        const c = cycle(v);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(u, 'done');
    return undefined;
  };
  for (const u of graph.keys()) {
    if (state.get(u) !== undefined) continue;
    const c = cycle(u);
    assert.equal(c, undefined, `import cycle between units of src/: ${c?.join(' -> ') ?? ''}`);
  }
});

test('the leaves import nothing of ours', () => {
  const leaves = edgesOf(tsFiles(SRC)).filter((e) => LEAVES.has(e.from));
  assert.deepEqual(
    leaves.map((e) => `${e.file} imports ${e.target}`),
    [],
  );
});

test('every temporary exception is still needed (delete it once its import is gone)', () => {
  const edges = edgesOf(tsFiles(SRC));
  const stale = TEMPORARY.filter(
    (t) => !edges.some((e) => e.file === t.file && e.to === t.to && !allowed(e)),
  );
  assert.deepEqual(stale, []);
});

test('scripts/ and test/ do not import each other (nor the chart tools either)', () => {
  const crossing = (dir: string, other: string): string[] =>
    [...tsFiles(join(ROOT, dir))].flatMap((file) =>
      importsOf(file)
        .filter((i) => i.specifier.startsWith('.'))
        .map((i) =>
          relative(ROOT, resolve(dirname(file), i.specifier))
            .split(sep)
            .join('/'),
        )
        .filter((target) => target.startsWith(`${other}/`))
        .map((target) => `${relative(ROOT, file)} imports ${target}`),
    );
  assert.deepEqual(
    [
      ...crossing('scripts', 'test'),
      ...crossing('test', 'scripts'),
      ...crossing('helm/tools', 'test'),
      ...crossing('helm/tools', 'scripts'),
    ],
    [],
  );
});

test('the import parser sees every form (a self-check on the entry point and the server)', () => {
  const server = importsOf(join(SRC, 'server.ts'));
  assert.ok(
    server.some((i) => i.specifier === './publisher/publisher.ts' && !i.typeOnly),
    'dynamic import()',
  );
  assert.ok(
    server.some((i) => i.specifier === './publisher/publisher.ts' && i.typeOnly),
    'import type',
  );
  assert.ok(
    importsOf(join(SRC, 'main.ts')).some((i) => i.specifier === './heap.ts'),
    'a side-effect import',
  );
});
