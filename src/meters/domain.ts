// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Families of the domain collector: every domain libvirt knows, running or not, from the domain list,
 * its description (XML) and, when another collector asked for them, its balloon and vCPU stats.
 */
import type { DomainStats, Instance } from '../inspector/types.ts';
import { family, info } from './family.ts';

/** A domain, with its stats when it runs and the inspection has them. */
export interface DescribedDomain {
  readonly instance: Instance;
  readonly stats: DomainStats | undefined;
}

/** Families of the domain collector, in the order they are served. */
export const domainFamilies = {
  count: family({
    key: 'domains',
    collector: 'domain',
    source: 'virConnectListAllDomains',
    rawUnit: 'count',
    name: 'libvirt_domains',
    type: 'gauge',
    help: { template: 'Number of domains libvirt knows, running or not ({source}).' },
    domainLabels: 'none',
  }),
  info: info({
    key: 'domain_info',
    collector: 'domain',
    source: '<os><type>',
    name: 'libvirt_domain_info',
    help: { template: 'Domain identity from its XML ({source}): value 1.' },
    extraLabels: ['os_type', 'os_type_arch', 'os_type_machine'],
  }),
  uuidInfo: info({
    key: 'domain_uuid_info',
    collector: 'domain',
    source: '<uuid> and <domain type>',
    name: 'libvirt_domain_uuid_info',
    help: { template: 'Domain UUID and hypervisor type from its XML: value 1.' },
    extraLabels: ['uuid', 'hypervisor_type'],
  }),
  state: family<DescribedDomain>({
    key: 'domain_state',
    collector: 'domain',
    source: 'state.state',
    rawUnit: 'code',
    name: 'libvirt_domain_info_state',
    type: 'gauge',
    help: {
      about: 'Domain state code',
      codes: ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended'],
    },
    extraLabels: ['state_desc'],
    read: (d) => d.instance.stateCode,
  }),
  reason: family<DescribedDomain>({
    key: 'domain_state_reason',
    collector: 'domain',
    source: 'state.reason',
    rawUnit: 'code',
    name: 'libvirt_domain_state_reason',
    type: 'gauge',
    help: { about: 'Reason of the domain state', note: 'meaning depends on the state; reason_desc names it' },
    extraLabels: ['state_desc', 'reason_desc'],
    read: (d) => d.instance.stateReason,
  }),
  maxMemory: family<DescribedDomain>({
    key: 'domain_maximum_memory',
    collector: 'domain',
    source: 'balloon.maximum',
    rawUnit: 'KiB',
    name: 'libvirt_domain_info_maximum_memory_bytes',
    type: 'gauge',
    help: { about: 'Maximum memory of the domain', note: 'or <memory> of the domain XML' },
    read: (d) => d.stats?.balloon?.maximumKiB ?? d.instance.maxMemoryKiB,
  }),
  memoryUsage: family<DescribedDomain>({
    key: 'domain_memory_usage',
    collector: 'domain',
    source: 'balloon.current',
    rawUnit: 'KiB',
    name: 'libvirt_domain_info_memory_usage_bytes',
    type: 'gauge',
    help: {
      about: 'Memory currently assigned to the domain',
      note: 'or <currentMemory> of the domain XML, updated by balloon-change events',
    },
    read: (d) => d.stats?.balloon?.currentKiB ?? d.instance.currentMemoryKiB,
  }),
  vcpus: family<DescribedDomain>({
    key: 'domain_virtual_cpus',
    collector: 'domain',
    source: 'vcpu.current',
    rawUnit: 'count',
    name: 'libvirt_domain_info_virtual_cpus',
    type: 'gauge',
    help: { about: 'Number of vCPUs of the domain', note: 'or the current <vcpu> of the domain XML' },
    read: (d) => d.stats?.vcpuCurrent ?? d.instance.vcpus,
  }),
  timedOut: family({
    key: 'domain_timed_out',
    collector: 'domain',
    source: "the inspection's skipped domains",
    rawUnit: 'count',
    name: 'libvirt_domain_timed_out',
    type: 'gauge',
    help: {
      template:
        'Whether the stats of this running domain are partial or missing this scrape (1): its QEMU did not answer in time or its job is busy.',
    },
  }),
} as const;

/** Families of the block and interface collectors read from the domain XML, beside the meter table's rows. */
export const deviceInfoFamilies = {
  disk: info({
    key: 'disk_info',
    collector: 'block',
    source: '<disk>',
    name: 'libvirt_domain_block_stats_info',
    help: {
      template:
        'Disk of a running domain, from its XML ({source}): bus, driver, cache, source and serial. Value 1.',
    },
    extraLabels: [
      'disk_type',
      'target_bus',
      'driver_name',
      'driver_type',
      'driver_cache',
      'driver_discard',
      'source_file',
      'source_protocol',
      'target_device',
      'serial',
    ],
  }),
  vnic: info({
    key: 'vnic_info',
    collector: 'interface',
    source: '<interface>',
    name: 'libvirt_domain_interface_stats_info',
    help: {
      template:
        'vNIC of a running domain, from its XML ({source}): type, source bridge, MAC, model, MTU. Value 1.',
    },
    extraLabels: [
      'interface_type',
      'source_bridge',
      'target_device',
      'mac_address',
      'model_type',
      'mtu_size',
    ],
  }),
} as const;
