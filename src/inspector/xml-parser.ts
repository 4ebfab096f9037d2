// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The XML parser of domain descriptions: fast-xml-parser configured for libvirt's documents (every
 * value a string, namespaces kept, repeated elements as arrays) with an XML-only entity decoder.
 */
import { XMLParser, type EntityDecoderOptions, type X2jOptions } from 'fast-xml-parser';
import { ATTR, TEXT, localName } from './xml-tree.ts';

/**
 * Decodes the five predefined entities, character references and the (flat) internal entities of a
 * DOCTYPE. fast-xml-parser's default decoder leaves `&#NN;` undecoded unless its HTML mode is on, and
 * that mode would also accept HTML names (`&nbsp;`) that are not XML. An unknown entity fails the parse.
 * Internal entities are never expanded recursively: the parser drops those whose value holds `&`.
 */
function createEntityDecoder(): EntityDecoderOptions {
  const predefined: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
  let declared = new Map<string, string>();
  const decodeOne = (match: string, ref: string): string => {
    if (ref.startsWith('#')) {
      const hex = ref[1] === 'x';
      const code = Number.parseInt(ref.slice(hex ? 2 : 1), hex ? 16 : 10);
      // XML 1.0 Char production: no NUL, no C0 controls other than tab/LF/CR, no surrogates.
      const allowed =
        code === 0x9 ||
        code === 0xa ||
        code === 0xd ||
        (code >= 0x20 && code <= 0xd7ff) ||
        (code >= 0xe000 && code <= 0xfffd) ||
        (code >= 0x10000 && code <= 0x10ffff);
      if (!allowed) throw new Error(`invalid character reference ${match}`);
      return String.fromCodePoint(code);
    }
    const value = Object.hasOwn(predefined, ref) ? predefined[ref] : declared.get(ref);
    if (value === undefined) throw new Error(`undefined entity ${match}`);
    return value;
  };
  return {
    setExternalEntities: () => undefined,
    addInputEntities: (entities) => {
      declared = new Map(Object.entries(entities));
    },
    reset: () => {
      declared = new Map();
    },
    setXmlVersion: () => undefined,
    decode: (text) => text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.:-]*);/g, decodeOne),
  };
}

/** Elements that repeat, listed so that one occurrence still comes back as an array. */
const ARRAY_PATHS: ReadonlySet<string> = new Set([
  'domain.devices.disk',
  'domain.devices.interface',
  'domain.devices.interface.filterref.parameter',
]);
/** Repeated Nova elements, by local name (their prefix is the document's choice). */
const NOVA_ARRAY_NAMES: ReadonlySet<string> = new Set(['extraSpec', 'property']);

const PARSER_OPTIONS: X2jOptions = {
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  textNodeName: TEXT,
  // Keep prefixes and xmlns attributes: Nova's element is found by namespace URI, not by prefix.
  removeNSPrefix: false,
  // Every value stays a string; numbers are converted below, field by field.
  parseTagValue: false,
  parseAttributeValue: false,
  // Display names and titles are kept as written; numbers are trimmed where they are parsed.
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  entityDecoder: createEntityDecoder(),
  jPath: true,
  isArray: (tagName, jPath, _isLeaf, isAttribute) => {
    if (isAttribute) return false;
    const path = jPath.toString();
    if (ARRAY_PATHS.has(path)) return true;
    if (!path.startsWith('domain.metadata.')) return false;
    // Every child of <metadata>: two applications may use the same prefix for different URIs.
    return path === `domain.metadata.${tagName}` || NOVA_ARRAY_NAMES.has(localName(tagName));
  },
};

export const parser = new XMLParser(PARSER_OPTIONS);
