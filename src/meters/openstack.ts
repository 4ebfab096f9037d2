// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Families of the openstack collector: the Nova metadata of each domain's XML (<nova:instance>), as
 * info metrics joined on `domain` and flavor sizes in base units.
 */
import type { NovaFlavor, NovaMetadata } from '../inspector/types.ts';
import { family, info } from './family.ts';
import type { RawUnit } from './units.ts';

function flavorSize(
  key: 'memory' | 'disk' | 'ephemeral' | 'swap',
  about: string,
  rawUnit: RawUnit,
  read: (f: NovaFlavor) => number | undefined,
) {
  return family<NovaFlavor>({
    key: `flavor_${key}`,
    collector: 'openstack',
    source: `<nova:flavor><nova:${key}>`,
    rawUnit,
    name: `libvirt_domain_openstack_flavor_${key}_bytes`,
    type: 'gauge',
    help: { about, cite: 'paren' },
    read,
  });
}

/** Families of the openstack collector, in the order they are served. */
export const openstackFamilies = {
  info: info({
    key: 'openstack_info',
    collector: 'openstack',
    source: '<nova:instance>, nova/1.1 or 1.0',
    name: 'libvirt_domain_openstack_info',
    help: { template: 'OpenStack identity of the domain from Nova metadata ({source}): value 1.' },
    extraLabels: [
      'instance_name',
      'instance_id',
      'flavor_name',
      'user_name',
      'user_id',
      'project_name',
      'project_id',
    ],
  }),
  flavor: info({
    key: 'openstack_flavor_info',
    collector: 'openstack',
    source: '<nova:flavor>',
    name: 'libvirt_domain_openstack_flavor_info',
    help: { template: 'Nova flavor of the domain ({source}): value 1.' },
    extraLabels: ['flavor_id', 'flavor_name'],
  }),
  root: info({
    key: 'openstack_root_info',
    collector: 'openstack',
    source: '<nova:root>',
    name: 'libvirt_domain_openstack_root_info',
    help: { template: 'Root disk origin of the domain ({source}): value 1.' },
    extraLabels: ['root_type', 'root_id'],
  }),
  vcpus: family<NovaFlavor>({
    key: 'flavor_vcpus',
    collector: 'openstack',
    source: '<nova:flavor><nova:vcpus>',
    rawUnit: 'count',
    name: 'libvirt_domain_openstack_flavor_vcpus',
    type: 'gauge',
    help: { about: 'vCPUs of the Nova flavor', cite: 'paren' },
    read: (f) => f.vcpus,
  }),
  memory: flavorSize('memory', 'Memory of the Nova flavor', 'MiB', (f) => f.memoryMiB),
  disk: flavorSize('disk', 'Root disk of the Nova flavor', 'GiB', (f) => f.diskGiB),
  ephemeral: flavorSize('ephemeral', 'Ephemeral disk of the Nova flavor', 'GiB', (f) => f.ephemeralGiB),
  swap: flavorSize('swap', 'Swap of the Nova flavor', 'MiB', (f) => f.swapMiB),
  created: family<NovaMetadata>({
    key: 'openstack_creation_time',
    collector: 'openstack',
    source: '<nova:creationTime>',
    rawUnit: 'seconds',
    name: 'libvirt_domain_openstack_creation_timestamp_seconds',
    type: 'gauge',
    help: { template: 'When Nova created the instance ({source}), seconds since the epoch.' },
    read: (n) => n.creationTimestampSeconds,
  }),
} as const;
