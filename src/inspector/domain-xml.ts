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
import { XMLValidator } from 'fast-xml-parser';
import type { DiskDevice, DomainDescription, Vnic } from './types.ts';
import { parseNova } from './nova-metadata.ts';
import { parser } from './xml-parser.ts';
import { ATTR, TEXT, attr, child, children, compact, isElement, pairs, text, toInteger } from './xml-tree.ts';

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

// --- Memory sizes ----------------------------------------------------------------------------

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

/** The domain name of a document too broken to parse, when its `<name>` can still be seen. */
function sniffName(xml: string): string | undefined {
  const match = /<domain\b[^>]*>\s*<name>([^<&]+)<\/name>/.exec(xml);
  return match?.[1];
}
