// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Reading fast-xml-parser's object tree (as xml-parser.ts configures it): elements, attributes, text,
 * namespace scopes, plus the two small helpers every record builder uses (integers, absent keys).
 */

/** Attribute keys are prefixed with this; element text is under {@link TEXT}. */
export const ATTR = '@_';
export const TEXT = '#text';

/** An element with attributes or children (a bare text element comes back as a string). */
export type Element = Readonly<Record<string, unknown>>;
/** An element and the namespace declarations in scope for it (prefix, '' for the default → URI). */
export interface Scoped {
  readonly node: unknown;
  readonly scope: ReadonlyMap<string, string>;
}

export function isElement(value: unknown): value is Element {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every occurrence of a child element, whether the parser grouped them in an array or not. */
export function children(parent: unknown, key: string): unknown[] {
  if (!isElement(parent) || !Object.hasOwn(parent, key)) return [];
  const value = parent[key];
  return Array.isArray(value) ? (value as unknown[]) : [value];
}

/** The first occurrence of a child element; a duplicate of a single-valued element is ignored. */
export function child(parent: unknown, key: string): unknown {
  return children(parent, key)[0];
}

/** An attribute's value; an empty one counts as absent. */
export function attr(element: unknown, name: string): string | undefined {
  if (!isElement(element)) return undefined;
  const value = element[`${ATTR}${name}`];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** An element's text; an empty one counts as absent. */
export function text(element: unknown): string | undefined {
  const value = isElement(element) ? element[TEXT] : element;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `name` attribute → value pairs; elements without a name are skipped, the first of a name wins. */
export function pairs(
  elements: readonly unknown[],
  value: (element: unknown) => string | undefined,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const element of elements) {
    const key = attr(element, 'name');
    const v = value(element);
    // An own property whatever the name: `result['__proto__'] = v` would set nothing (issue 15, item 9).
    if (key !== undefined && v !== undefined && !Object.hasOwn(result, key)) {
      Object.defineProperty(result, key, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return result;
}

export function localName(tagName: string): string {
  return tagName.slice(tagName.indexOf(':') + 1);
}

/** The scope of an element: its parent's declarations plus its own `xmlns` / `xmlns:p` attributes. */
export function scopeOf(element: unknown, parent: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  if (!isElement(element)) return parent;
  let scope: Map<string, string> | undefined;
  for (const [key, value] of Object.entries(element)) {
    if (typeof value !== 'string') continue;
    if (key === `${ATTR}xmlns` || key.startsWith(`${ATTR}xmlns:`)) {
      scope ??= new Map(parent);
      scope.set(key.slice(`${ATTR}xmlns:`.length), value);
    }
  }
  return scope ?? parent;
}

/** Child elements with this local name in this namespace, whatever prefix the document chose. */
export function nsChildren(parent: Scoped, local: string, uri: string): Scoped[] {
  if (!isElement(parent.node)) return [];
  const found: Scoped[] = [];
  for (const key of Object.keys(parent.node)) {
    if (key.startsWith(ATTR) || key === TEXT || localName(key) !== local) continue;
    const colon = key.indexOf(':');
    const prefix = colon === -1 ? '' : key.slice(0, colon);
    for (const node of children(parent.node, key)) {
      const scope = scopeOf(node, parent.scope);
      if (scope.get(prefix) === uri) found.push({ node, scope });
    }
  }
  return found;
}

/** A non-negative decimal integer, or undefined (libvirt and Nova write no signs or fractions here). */
export function toInteger(value: string | undefined): number | undefined {
  const trimmed = value?.trim();
  if (trimmed === undefined || !/^\d+$/.test(trimmed)) return undefined;
  const number = Number(trimmed);
  return Number.isSafeInteger(number) ? number : undefined;
}

// --- Records without undefined-valued keys -------------------------------------------------------

type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];
/** T, but its optional fields may be given as undefined (exactOptionalPropertyTypes forbids it). */
type Loose<T> = Omit<T, OptionalKeys<T>> & { [K in OptionalKeys<T>]?: T[K] | undefined };

/** Drops undefined fields, so that a missing value is an absent key, not a key holding undefined. */
export function compact<T extends object>(record: Loose<T>): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}
