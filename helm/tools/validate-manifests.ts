// SPDX-License-Identifier: Apache-2.0
/**
 * Validates rendered Kubernetes manifests (`helm template` output) offline, without an API server:
 *
 * 1. kubernetes-models (JSON Schemas compiled from the Kubernetes OpenAPI document, and from the
 *    Prometheus Operator CRDs): types, required fields, enumerations, formats;
 * 2. unknown fields, which those schemas let through: every field of a core object is looked up in the
 *    attribute maps of the @kubernetes/client-node model classes (a typo or a field of another API
 *    version is an error);
 * 3. unknown fields of every object, core and CRD alike, once more by the TypeScript compiler: each
 *    object becomes an object literal typed with its kubernetes-models interface, whose excess-property
 *    check names any field the interface does not have (the only such check for the CRDs).
 *
 * kubectl cannot do this offline: `kubectl apply --dry-run=client` downloads the OpenAPI document from
 * a server. Manifests are parsed as YAML 1.1, as Helm and kubectl parse them (`0440` is octal).
 *
 *   node --import tsx helm/tools/validate-manifests.ts rendered.yaml ...   exit 1 when anything is wrong
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

/** One Kubernetes object of a manifest and what is wrong with it. */
export interface ManifestResult {
  /** `source: apiVersion/kind name`. */
  readonly id: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly object: Record<string, unknown>;
  /** Empty when the object is valid. */
  readonly errors: string[];
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Model;

interface AttributeType {
  baseName: string;
  type: string;
}
interface ClientNodeClass {
  getAttributeTypeMap(): AttributeType[];
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** API groups whose models come from a package other than kubernetes-models. */
const CRD_PACKAGES: Readonly<Record<string, string>> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The module that holds the model of an apiVersion (`kubernetes-models/apps/v1`, …). */
function modelModule(apiVersion: string): string {
  const { group, version } = splitApiVersion(apiVersion);
  const crd = CRD_PACKAGES[group];
  if (crd !== undefined) return `${crd}/${group}/${version}`;
  return group === '' ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
}

async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(modelModule(apiVersion))) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const model = mod[kind];
  return typeof model === 'function' ? (model as ModelClass) : undefined;
}

const CLIENT_NODE = k8s as unknown as Record<string, unknown>;

function clientNodeClass(name: string): ClientNodeClass | undefined {
  const cls = CLIENT_NODE[name] as Partial<ClientNodeClass> | undefined;
  return typeof cls?.getAttributeTypeMap === 'function' ? (cls as ClientNodeClass) : undefined;
}

/** The client-node model class name of a core object: V1DaemonSet, V1ConfigMap, … */
function clientNodeTypeName(apiVersion: string, kind: string): string | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
  const candidates = [`${cap(version)}${kind}`, `${cap(group.split('.')[0] ?? '')}${cap(version)}${kind}`];
  return candidates.find((n) => clientNodeClass(n) !== undefined);
}

// Types whose content the attribute maps do not describe further.
const OPAQUE_TYPES = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);

function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined || OPAQUE_TYPES.has(type)) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array?.[1] !== undefined) {
    const itemType = array[1];
    if (Array.isArray(value))
      value.forEach((v, i) => {
        unknownFields(v, itemType, `${path}[${i}]`, out);
      });
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map?.[1] !== undefined) {
    const valueType = map[1];
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) unknownFields(v, valueType, `${path}.${k}`, out);
    }
    return;
  }
  const cls = clientNodeClass(type);
  if (cls === undefined || typeof value !== 'object') return;
  const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const t = attrs.get(k);
    if (t === undefined) out.push(`${path}.${k}: unknown field (not in ${type})`);
    else unknownFields(v, t, `${path}.${k}`, out);
  }
}

/**
 * Type-checks every object as a literal of its kubernetes-models interface (`IDaemonSet`,
 * `IServiceMonitor`, …) and returns the compiler's complaints per object index.
 */
function typeCheck(
  objects: readonly { apiVersion: string; kind: string; object: unknown }[],
): Map<number, string[]> {
  // One import per object, then one object per line, so that a diagnostic's line names its object.
  const text = objects
    .map((o, i) => `import type { I${o.kind} as T${i} } from '${modelModule(o.apiVersion)}';`)
    .concat(objects.map((o, i) => `export const o${i}: T${i} = ${JSON.stringify(o.object)};`))
    .join('\n');
  // NOTE: the virtual file lives at the repository root so that node_modules resolves as usual; it is
  // never written to disk.
  const fileName = join(REPO_ROOT, '__manifests__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, text, languageVersion, true)
      : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const source = program.getSourceFile(fileName);
  const byObject = new Map<number, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    let index = -1;
    if (d.file === source && source !== undefined && d.start !== undefined) {
      const { line } = source.getLineAndCharacterOfPosition(d.start);
      index = line < objects.length ? line : line - objects.length;
    }
    const list = byObject.get(index) ?? [];
    list.push(`TypeScript: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    byObject.set(index, list);
  }
  return byObject;
}

/** A multi-document YAML text and where it comes from (for messages). */
export interface ManifestSource {
  readonly text: string;
  readonly source: string;
}

/**
 * Validates every object of the given multi-document YAML texts. Several texts at once cost one
 * TypeScript program instead of one each (about 2 s).
 */
export async function validateManifests(inputs: readonly ManifestSource[]): Promise<ManifestResult[]> {
  const results: ManifestResult[] = [];
  const typed: { apiVersion: string; kind: string; object: unknown; result: number }[] = [];
  for (const { text, source } of inputs)
    for (const doc of parseAllDocuments(text, { version: '1.1' })) {
      if (doc.errors.length > 0) {
        const message = doc.errors.map((e) => e.message).join('; ');
        results.push({
          id: `${source}: (unparsable)`,
          apiVersion: '',
          kind: '',
          name: '',
          object: {},
          errors: [`YAML: ${message}`],
        });
        continue;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue;
      const object = value as Record<string, unknown>;
      const apiVersion = typeof object['apiVersion'] === 'string' ? object['apiVersion'] : '';
      const kind = typeof object['kind'] === 'string' ? object['kind'] : '';
      const metadata = object['metadata'] as { name?: unknown } | undefined;
      const name = typeof metadata?.name === 'string' ? metadata.name : '';
      const errors: string[] = [];
      const Model = await modelFor(apiVersion, kind);
      if (Model === undefined) {
        errors.push(`no schema for ${apiVersion}/${kind}`);
      } else {
        try {
          new Model(object).validate();
        } catch (err) {
          errors.push((err as Error).message);
        }
        typed.push({ apiVersion, kind, object, result: results.length });
      }
      const group = splitApiVersion(apiVersion).group;
      if (CRD_PACKAGES[group] === undefined) {
        const typeName = clientNodeTypeName(apiVersion, kind);
        if (typeName === undefined)
          errors.push(`no client-node type for ${apiVersion}/${kind} (removed API?)`);
        else unknownFields(object, typeName, '', errors);
      }
      results.push({
        id: `${source}: ${apiVersion}/${kind} ${name}`,
        apiVersion,
        kind,
        name,
        object,
        errors,
      });
    }
  if (typed.length > 0) {
    const complaints = typeCheck(typed);
    for (const [index, messages] of complaints) {
      const target = index >= 0 ? typed[index]?.result : undefined;
      const result = target === undefined ? results[0] : results[target];
      result?.errors.push(...messages);
    }
  }
  return results;
}

async function main(files: readonly string[]): Promise<number> {
  const results = await validateManifests(
    files.map((file) => ({ text: readFileSync(file, 'utf8'), source: file })),
  );
  for (const r of results) {
    if (r.errors.length > 0)
      process.stderr.write(`FAIL ${r.id}\n${r.errors.map((e) => `  - ${e}\n`).join('')}`);
    else process.stdout.write(`ok   ${r.id}\n`);
  }
  return results.some((r) => r.errors.length > 0) ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
