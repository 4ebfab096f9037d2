// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The registration manifest: every built-in collector, explicitly (no dynamic discovery).
 */
import type { CollectorName } from '../config/schema.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { blockCollector } from './block.ts';
import { ceilometerCollector } from './ceilometer.ts';
import { cpuCollector } from './cpu.ts';
import { dirtyrateCollector } from './dirtyrate.ts';
import { domainCollector } from './domain.ts';
import { eventsCollector } from './events.ts';
import { guestAgentCollector } from './guest-agent.ts';
import { hostCollector } from './host.ts';
import { interfaceCollector } from './interface.ts';
import { jobCollector } from './job.ts';
import { memoryCollector } from './memory.ts';
import { openstackCollector } from './openstack.ts';
import { perfCollector } from './perf.ts';
import { pressureCollector } from './pressure.ts';
import { storagePoolCollector } from './storage-pool.ts';
import { vcpuCollector } from './vcpu.ts';

/** Every collector implemented, by name. */
export const collectors: Record<CollectorName, CollectorDefinition> = {
  domain: domainCollector,
  cpu: cpuCollector,
  vcpu: vcpuCollector,
  memory: memoryCollector,
  block: blockCollector,
  interface: interfaceCollector,
  openstack: openstackCollector,
  host: hostCollector,
  storage_pool: storagePoolCollector,
  job: jobCollector,
  dirtyrate: dirtyrateCollector,
  perf: perfCollector,
  pressure: pressureCollector,
  guest_agent: guestAgentCollector,
  events: eventsCollector,
  ceilometer: ceilometerCollector,
};
