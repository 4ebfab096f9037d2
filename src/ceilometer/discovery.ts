// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Instance discovery as the real compute agent does it (compute/discovery.py
 * `discover_libvirt_polling`): the Nova metadata of each domain, and the resource_metadata shared by
 * every sample of an instance (compute/pollsters/util.py `_get_metadata_from_object`).
 */
import { createHash } from 'node:crypto';

import type { DomainStateName, Inspection, Instance, NovaFlavor } from '../inspector/types.ts';
import type { PyDict } from './python-format.ts';

/** Nova's status guessed from the libvirt state (compute/virt/libvirt/utils.py LIBVIRT_STATUS). */
const STATUS: Readonly<Record<DomainStateName, string>> = {
  nostate: 'building',
  running: 'active',
  blocked: 'active',
  paused: 'paused',
  shutdown: 'stopped',
  shutoff: 'stopped',
  crashed: 'error',
  pmsuspended: 'suspended',
};

/** Nova's vm_state guessed from the libvirt state (LIBVIRT_POWER_STATE). */
const POWER_STATE: Readonly<Record<DomainStateName, string>> = {
  nostate: 'pending',
  running: 'running',
  blocked: 'running',
  paused: 'paused',
  shutdown: 'shutdown',
  shutoff: 'shutdown',
  crashed: 'crashed',
  pmsuspended: 'suspended',
};

/** An instance Ceilometer would discover: Nova metadata complete enough to build its metadata. */
export interface DiscoveredInstance {
  readonly instance: Instance;
  readonly userId: string;
  readonly projectId: string;
  /** The resource_metadata shared by every sample of the instance (copied before per-meter keys are added). */
  readonly metadata: PyDict;
}

/** A domain left out of discovery, and why (logged by the publisher). */
export interface UndiscoveredDomain {
  readonly uuid: string;
  readonly name: string;
  /** `no-nova-metadata` is normal (not an OpenStack guest); the others mean incomplete metadata. */
  readonly reason: 'no-nova-metadata' | 'incomplete-nova-metadata';
  readonly detail?: string;
}

/** What discovery needs besides the inspection. */
export interface DiscoveryOptions {
  /** `[DEFAULT] host`: instance_host and the input of the host hash. */
  readonly host: string;
  /** Flavor name → id, when the Nova metadata has no flavor id. */
  readonly flavorIds: Readonly<Record<string, string>>;
}

/** Nova's `hostId`: sha224(project id + host), hex (what Ceilometer puts in metadata `host`). */
export function novaHostId(projectId: string, host: string): string {
  return createHash('sha224').update(`${projectId}${host}`, 'utf8').digest('hex');
}

/** The Nova metadata of a domain. */
type NovaOf = NonNullable<Instance['nova']>;

/** What discovery needs that the metadata lacks (Ceilometer names them in its error). */
function missingMetadata(instance: Instance, nova: NovaOf): string[] {
  const missing: string[] = [];
  if (nova.displayName === undefined) missing.push('name');
  if (nova.flavor?.name === undefined) missing.push('flavor name');
  if (nova.userId === undefined) missing.push('owner user uuid');
  if (nova.projectId === undefined) missing.push('owner project uuid');
  if (instance.osArch === undefined) missing.push('os type arch');
  return missing;
}

/** The resource_metadata of an instance, in the key order of _get_metadata_from_object (as captured on the wire). */
function instanceMetadata(
  instance: Instance,
  nova: NovaOf,
  flavor: NovaFlavor & { readonly name: string },
  projectId: string,
  options: DiscoveryOptions,
): PyDict {
  const flavorDict: PyDict = {
    // NOTE: Nova writes the flavor id into the metadata since 2025.2; before, the real agent asks
    // the Nova API (flavors.find(name)) and falls back to the name when Nova does not know it.
    id: flavor.id ?? options.flavorIds[flavor.name] ?? flavor.name,
    name: flavor.name,
    vcpus: flavor.vcpus ?? 0,
    ram: flavor.memoryMiB ?? 0,
    disk: flavor.diskGiB ?? 0,
    ephemeral: flavor.ephemeralGiB ?? 0,
    swap: flavor.swapMiB ?? 0,
  };
  const imageId = nova.rootType === 'image' ? nova.rootUuid : undefined;
  return {
    display_name: nova.displayName ?? null,
    name: instance.name,
    instance_id: instance.uuid,
    instance_type: flavor.name,
    host: novaHostId(projectId, options.host),
    instance_host: options.host,
    flavor: flavorDict,
    status: STATUS[instance.state],
    state: POWER_STATE[instance.state],
    task_state: '',
    image: imageId === undefined ? null : { id: imageId },
    image_ref: imageId ?? null,
    image_ref_url: null,
    architecture: instance.osArch ?? null,
    os_type: instance.osType ?? null,
    vcpus: flavorDict.vcpus ?? 0,
    memory_mb: flavorDict.ram ?? 0,
    disk_gb: flavorDict.disk ?? 0,
    ephemeral_gb: flavorDict.ephemeral ?? 0,
    root_gb: (flavor.diskGiB ?? 0) - (flavor.ephemeralGiB ?? 0),
  };
}

/**
 * Discovers the instances of an inspection as `discover_libvirt_polling` does: domains without Nova
 * metadata are skipped silently; a domain whose metadata lacks the name, flavor, owner or the
 * architecture is skipped (Ceilometer logs an error and skips it too).
 */
export function discoverInstances(
  inspection: Inspection,
  options: DiscoveryOptions,
): { discovered: DiscoveredInstance[]; undiscovered: UndiscoveredDomain[] } {
  const discovered: DiscoveredInstance[] = [];
  const undiscovered: UndiscoveredDomain[] = [];
  for (const instance of inspection.instances) {
    const nova = instance.nova;
    if (!nova) {
      undiscovered.push({ uuid: instance.uuid, name: instance.name, reason: 'no-nova-metadata' });
      continue;
    }
    const missing = missingMetadata(instance, nova);
    const { flavor, userId, projectId } = nova;
    if (missing.length > 0 || !flavor?.name || userId === undefined || projectId === undefined) {
      undiscovered.push({
        uuid: instance.uuid,
        name: instance.name,
        reason: 'incomplete-nova-metadata',
        detail: `missing ${missing.join(', ')}`,
      });
      continue;
    }
    const named = { ...flavor, name: flavor.name };
    const metadata = instanceMetadata(instance, nova, named, projectId, options);
    discovered.push({ instance, userId, projectId, metadata });
  }
  return { discovered, undiscovered };
}
