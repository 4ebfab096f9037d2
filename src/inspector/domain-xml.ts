// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Turns a libvirt domain XML (`virDomainGetXMLDesc`) into a {@link DomainDescription}: identity, OS,
 * memory and vCPU sizing, disks, vNICs and the OpenStack identity Nova writes into `<metadata>`.
 *
 * The parse is all or nothing: either a complete record or a {@link DomainXmlError}. Inside a valid
 * document, a value that is missing or does not parse is left out of the record (never 0 or '').
 */
import { InspectorError } from './errors.ts';
import { XMLParser, XMLValidator, type EntityDecoderOptions, type X2jOptions } from 'fast-xml-parser';
import type { DiskDevice, DomainDescription, NovaFlavor, NovaMetadata, Vnic } from './types.ts';

/** The domain XML was not well-formed, or lacks what every libvirt domain has (name, uuid, type). */
export class DomainXmlError extends InspectorError {
  override readonly name = 'DomainXmlError';
  /** Stable and machine-readable, like the inspector's other errors. */
  override readonly code = 'DOMAIN_XML';
  /** The domain's `<name>`, when it could be read. */
  readonly domainName: string | undefined;
  /** Where the XML stopped being well-formed (1-based), for syntax errors. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(
    message: string,
    details: { domainName?: string | undefined; line?: number; column?: number; cause?: unknown } = {},
  ) {
    const where = details.domainName === undefined ? '' : ` (domain ${details.domainName})`;
    super(`${message}${where}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.domainName = details.domainName;
    this.line = details.line;
    this.column = details.column;
  }
}

/** Nova's metadata namespaces, in the order Ceilometer tries them (`virt/libvirt/utils.py`). */
const NOVA_NAMESPACES = [
  ['1.1', 'http://openstack.org/xmlns/libvirt/nova/1.1'],
  ['1.0', 'http://openstack.org/xmlns/libvirt/nova/1.0'],
] as const;

const ATTR = '@_';
const TEXT = '#text';

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

const parser = new XMLParser(PARSER_OPTIONS);

/**
 * Parses a domain XML as `virsh dumpxml` (virDomainGetXMLDesc) prints it.
 *
 * @throws {@link DomainXmlError} when the XML is not well-formed or is not a domain with a name,
 *   a uuid and a type.
 */
export function parseDomainXml(xml: string): DomainDescription {
  // The parser alone accepts unclosed tags. fast-xml-parser 5 marks its validator deprecated in
  // favour of a newly split-out package; the same code still ships here and is what `parse(xml, true)` runs.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const validation = XMLValidator.validate(xml);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    throw new DomainXmlError(`malformed domain XML: ${msg}`, {
      domainName: sniffName(xml),
      line,
      column: col,
    });
  }
  let document: unknown;
  try {
    document = parser.parse(xml);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DomainXmlError(`malformed domain XML: ${reason}`, { domainName: sniffName(xml), cause: error });
  }
  // The validator accepts a second root element; a well-formed document has exactly one.
  const roots = isElement(document) ? Object.keys(document).filter((key) => key !== TEXT) : [];
  if (roots.length > 1 || children(document, roots[0] ?? '').length > 1) {
    throw new DomainXmlError('malformed domain XML: more than one root element', {
      domainName: sniffName(xml),
    });
  }
  if (roots[0] !== 'domain') {
    throw new DomainXmlError(`not a domain XML: the root element is <${roots[0] ?? ''}>`);
  }
  const domain = child(document, 'domain');
  const name = text(child(domain, 'name'));
  const uuid = text(child(domain, 'uuid'))?.toLowerCase();
  const hypervisorType = attr(domain, 'type');
  if (name === undefined || uuid === undefined || hypervisorType === undefined) {
    throw new DomainXmlError('domain XML without <name>, <uuid> or type', { domainName: name });
  }
  const os = child(child(domain, 'os'), 'type');
  const vcpu = child(domain, 'vcpu');
  const maxVcpus = toInteger(text(vcpu));
  const devices = child(domain, 'devices');
  return compact<DomainDescription>({
    name,
    uuid,
    hypervisorType,
    title: text(child(domain, 'title')),
    osType: text(os),
    osArch: attr(os, 'arch'),
    osMachine: attr(os, 'machine'),
    maxMemoryKiB: memoryKiB(child(domain, 'memory')),
    currentMemoryKiB: memoryKiB(child(domain, 'currentMemory')),
    maxVcpus,
    vcpus: toInteger(attr(vcpu, 'current')) ?? maxVcpus,
    disks: children(devices, 'disk').flatMap(parseDisk),
    vnics: children(devices, 'interface').flatMap(parseVnic),
    nova: parseNova(domain),
  });
}

/** A disk with a source; empty drives (a CD-ROM without media) are not listed, as in Ceilometer. */
function parseDisk(disk: unknown): DiskDevice[] {
  const source = child(disk, 'source');
  const target = attr(child(disk, 'target'), 'dev');
  if (target === undefined || !namesStorage(source)) return [];
  const driver = child(disk, 'driver');
  const pool = attr(source, 'pool');
  const volume = attr(source, 'volume');
  return [
    compact<DiskDevice>({
      target,
      // libvirt's defaults when the attribute is absent (it always prints them).
      device: attr(disk, 'device') ?? 'disk',
      type: attr(disk, 'type') ?? 'file',
      bus: attr(child(disk, 'target'), 'bus'),
      sourceFile: attr(source, 'file'),
      sourceDev: attr(source, 'dev'),
      sourceProtocol: attr(source, 'protocol'),
      sourceName: attr(source, 'name'),
      sourceVolume: pool !== undefined && volume !== undefined ? `${pool}/${volume}` : undefined,
      driverName: attr(driver, 'name'),
      driverType: attr(driver, 'type'),
      driverCache: attr(driver, 'cache'),
      driverDiscard: attr(driver, 'discard'),
      serial: text(child(disk, 'serial')),
    }),
  ];
}

/**
 * Whether a `<source>` names a storage. A live domain's `<source>` may carry only bookkeeping
 * attributes (`index`, `startupPolicy`) when the drive is empty.
 */
function namesStorage(source: unknown): boolean {
  if (!isElement(source)) return false;
  return Object.keys(source).some(
    (key) => key.startsWith(ATTR) && key !== `${ATTR}index` && key !== `${ATTR}startupPolicy`,
  );
}

function parseVnic(iface: unknown): Vnic[] {
  const type = attr(iface, 'type');
  if (type === undefined) return [];
  const source = child(iface, 'source');
  const filterref = child(iface, 'filterref');
  const filter = attr(filterref, 'filter');
  return [
    compact<Vnic>({
      type,
      targetDev: attr(child(iface, 'target'), 'dev'),
      mac: attr(child(iface, 'mac'), 'address'),
      model: attr(child(iface, 'model'), 'type'),
      sourceBridge: attr(source, 'bridge'),
      sourceNetwork: attr(source, 'network'),
      sourceDev: attr(source, 'dev'),
      mtu: toInteger(attr(child(iface, 'mtu'), 'size')),
      // nwfilter allows a name to repeat (a list of IPs); the record holds one value, the first.
      filterRef:
        filter === undefined
          ? undefined
          : { filter, parameters: pairs(children(filterref, 'parameter'), (p) => attr(p, 'value')) },
      interfaceId: attr(child(child(iface, 'virtualport'), 'parameters'), 'interfaceid'),
    }),
  ];
}

/**
 * Nova's `<nova:instance>`. Element names follow Nova's writer, `nova/virt/libvirt/config.py`
 * (LibvirtConfigGuestMetaNovaInstance, …NovaFlavor, …NovaFlavorExtraSpecs, …Image,
 * …ImageProperties, …NovaOwner; openstack/nova commit 00a0304, 2026-08): flavor `id` and
 * `<extraSpecs><extraSpec name>` since Nova 32.0.0 (2025.2); `<image uuid>` with
 * `containerFormat`, `diskFormat`, `minDisk`, `minRam` and `<properties><property name>` as well.
 */
function parseNova(domain: unknown): NovaMetadata | undefined {
  const metadata = child(domain, 'metadata');
  if (!isElement(metadata)) return undefined;
  const scope = scopeOf(metadata, scopeOf(domain, new Map()));
  for (const [namespaceVersion, uri] of NOVA_NAMESPACES) {
    const instance = nsChildren({ node: metadata, scope }, 'instance', uri)[0];
    if (instance === undefined) continue;
    const nova = (parent: Scoped, local: string): Scoped | undefined => nsChildren(parent, local, uri)[0];
    const novaText = (parent: Scoped, local: string): string | undefined => text(nova(parent, local)?.node);
    const owner = nova(instance, 'owner');
    const user = owner && nova(owner, 'user');
    const project = owner && nova(owner, 'project');
    const root = nova(instance, 'root');
    const creationTime = novaText(instance, 'creationTime');
    return compact<NovaMetadata>({
      namespaceVersion,
      packageVersion: attr(nova(instance, 'package')?.node, 'version'),
      displayName: novaText(instance, 'name'),
      creationTime,
      creationTimestampSeconds: utcSeconds(creationTime),
      flavor: parseFlavor(nova(instance, 'flavor'), uri),
      userId: attr(user?.node, 'uuid'),
      userName: text(user?.node),
      projectId: attr(project?.node, 'uuid'),
      projectName: text(project?.node),
      rootType: attr(root?.node, 'type'),
      rootUuid: attr(root?.node, 'uuid'),
      image: parseImage(nova(instance, 'image'), uri),
    });
  }
  return undefined;
}

function parseFlavor(flavor: Scoped | undefined, uri: string): NovaFlavor | undefined {
  if (flavor === undefined) return undefined;
  const int = (local: string): number | undefined => toInteger(text(nsChildren(flavor, local, uri)[0]?.node));
  const specs = nsChildren(flavor, 'extraSpecs', uri).flatMap((s) => nsChildren(s, 'extraSpec', uri));
  return compact<NovaFlavor>({
    name: attr(flavor.node, 'name'),
    id: attr(flavor.node, 'id'),
    memoryMiB: int('memory'),
    diskGiB: int('disk'),
    swapMiB: int('swap'),
    ephemeralGiB: int('ephemeral'),
    vcpus: int('vcpus'),
    extraSpecs: pairs(
      specs.map((s) => s.node),
      (s) => text(s) ?? '',
    ),
  });
}

/**
 * `<nova:image>` flattened: `uuid`, `containerFormat`, `diskFormat`, `minDisk`, `minRam` under
 * Nova's element names, then each `<nova:property name>` under its own name. Glance property names
 * are snake_case (`hw_disk_bus`, `os_distro`), so they do not meet Nova's camelCase names; if one
 * did, Nova's own field wins. Absent when nothing is set (a volume-backed instance writes `uuid=""`).
 */
function parseImage(image: Scoped | undefined, uri: string): Record<string, string> | undefined {
  if (image === undefined) return undefined;
  const properties = nsChildren(image, 'properties', uri).flatMap((p) => nsChildren(p, 'property', uri));
  const result: Record<string, string> = pairs(
    properties.map((p) => p.node),
    (p) => text(p) ?? '',
  );
  const fields: Record<string, string | undefined> = { uuid: attr(image.node, 'uuid') };
  for (const local of ['containerFormat', 'diskFormat', 'minDisk', 'minRam']) {
    fields[local] = text(nsChildren(image, local, uri)[0]?.node);
  }
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) result[key] = value;
  return Object.keys(result).length === 0 ? undefined : result;
}

// --- Unit conversion and number parsing ------------------------------------------------------

/**
 * Bytes per unit as libvirt reads them (`virScaleInteger`): case-insensitive; `b`/`byte`/`bytes`;
 * a one-letter prefix or `<prefix>iB` is a power of 1024, `<prefix>B` a power of 1000; no unit is KiB.
 */
function unitBytes(unit: string | undefined): number | undefined {
  if (unit === undefined) return 1024;
  const lower = unit.toLowerCase();
  if (lower === 'b' || lower === 'byte' || lower === 'bytes') return 1;
  const power = 'kmgtpe'.indexOf(lower.charAt(0)) + 1;
  if (power === 0) return undefined;
  const rest = lower.slice(1);
  const base = rest === '' || rest === 'ib' ? 1024 : rest === 'b' ? 1000 : undefined;
  return base === undefined ? undefined : base ** power;
}

/** `<memory unit>` in KiB, rounded up as libvirt does (`virDomainParseMemory`). */
function memoryKiB(element: unknown): number | undefined {
  const value = toInteger(text(element));
  const bytes = unitBytes(attr(element, 'unit'));
  if (value === undefined || bytes === undefined) return undefined;
  const kib = Math.ceil((value * bytes) / 1024);
  return Number.isSafeInteger(kib) ? kib : undefined;
}

/** A non-negative decimal integer, or undefined (libvirt and Nova write no signs or fractions here). */
function toInteger(value: string | undefined): number | undefined {
  const trimmed = value?.trim();
  if (trimmed === undefined || !/^\d+$/.test(trimmed)) return undefined;
  const number = Number(trimmed);
  return Number.isSafeInteger(number) ? number : undefined;
}

/** Nova's `creationTime`, `time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(...))`, as epoch seconds. */
function utcSeconds(value: string | undefined): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value?.trim() ?? '');
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2024-02-30 over to March; a calendar-invalid stamp is treated as missing.
  const valid =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return valid ? date.getTime() / 1000 : undefined;
}

// --- Access to fast-xml-parser's object tree -------------------------------------------------

/** An element with attributes or children (a bare text element comes back as a string). */
type Element = Readonly<Record<string, unknown>>;
/** An element and the namespace declarations in scope for it (prefix, '' for the default → URI). */
interface Scoped {
  readonly node: unknown;
  readonly scope: ReadonlyMap<string, string>;
}

function isElement(value: unknown): value is Element {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every occurrence of a child element, whether the parser grouped them in an array or not. */
function children(parent: unknown, key: string): unknown[] {
  if (!isElement(parent) || !Object.hasOwn(parent, key)) return [];
  const value = parent[key];
  return Array.isArray(value) ? (value as unknown[]) : [value];
}

/** The first occurrence of a child element; a duplicate of a single-valued element is ignored. */
function child(parent: unknown, key: string): unknown {
  return children(parent, key)[0];
}

/** An attribute's value; an empty one counts as absent. */
function attr(element: unknown, name: string): string | undefined {
  if (!isElement(element)) return undefined;
  const value = element[`${ATTR}${name}`];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** An element's text; an empty one counts as absent. */
function text(element: unknown): string | undefined {
  const value = isElement(element) ? element[TEXT] : element;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `name` attribute → value pairs; elements without a name are skipped, the first of a name wins. */
function pairs(
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

function localName(tagName: string): string {
  return tagName.slice(tagName.indexOf(':') + 1);
}

/** The scope of an element: its parent's declarations plus its own `xmlns` / `xmlns:p` attributes. */
function scopeOf(element: unknown, parent: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
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
function nsChildren(parent: Scoped, local: string, uri: string): Scoped[] {
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

/** The domain name of a document too broken to parse, when its `<name>` can still be seen. */
function sniffName(xml: string): string | undefined {
  const match = /<domain\b[^>]*>\s*<name>([^<&]+)<\/name>/.exec(xml);
  return match?.[1];
}

// --- Records without undefined-valued keys -------------------------------------------------------

type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];
/** T, but its optional fields may be given as undefined (exactOptionalPropertyTypes forbids it). */
type Loose<T> = Omit<T, OptionalKeys<T>> & { [K in OptionalKeys<T>]?: T[K] | undefined };

/** Drops undefined fields, so that a missing value is an absent key, not a key holding undefined. */
function compact<T extends object>(record: Loose<T>): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}
