// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The OpenStack identity Nova writes into a domain's `<metadata>` (`<nova:instance>`): found by
 * namespace URI whatever prefix the document chose, one record or nothing.
 */
import type { NovaFlavor, NovaMetadata } from './types.ts';
import {
  attr,
  child,
  compact,
  isElement,
  nsChildren,
  pairs,
  scopeOf,
  text,
  toInteger,
  type Scoped,
} from './xml-tree.ts';

/** Nova's metadata namespaces, in the order Ceilometer tries them (`virt/libvirt/utils.py`). */
const NOVA_NAMESPACES = [
  ['1.1', 'http://openstack.org/xmlns/libvirt/nova/1.1'],
  ['1.0', 'http://openstack.org/xmlns/libvirt/nova/1.0'],
] as const;

/**
 * Nova's `<nova:instance>`. Element names follow Nova's writer, `nova/virt/libvirt/config.py`
 * (LibvirtConfigGuestMetaNovaInstance, …NovaFlavor, …NovaFlavorExtraSpecs, …Image,
 * …ImageProperties, …NovaOwner; openstack/nova commit 00a0304, 2026-08): flavor `id` and
 * `<extraSpecs><extraSpec name>` since Nova 32.0.0 (2025.2); `<image uuid>` with
 * `containerFormat`, `diskFormat`, `minDisk`, `minRam` and `<properties><property name>` as well.
 */
export function parseNova(domain: unknown): NovaMetadata | undefined {
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
