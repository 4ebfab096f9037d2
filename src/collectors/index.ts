// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The registration manifest: every built-in collector, imported explicitly (no discovery on the file
 * system, so a bundle holds them all). Each collector's name, default and description live in its own
 * file; the configuration schema (collectors.NAME.enabled), the `--collector.NAME` flags, the landing
 * page and the docs generated from the schema all derive from this registry, and the composition root
 * (src/app.ts) hands it to the scraper. A new collector: one file exporting a CollectorDefinition, its
 * name in the CollectorName union, one line here, a row in the README's collector table.
 */
import type { CollectorName } from '../config/schema.ts';
import type { CollectorRegistry } from '../scrape/collector.ts';
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

/** Every collector, by name, in the order they run and their series appear. */
export const collectorRegistry: CollectorRegistry = {
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

/** The names of every collector, in registration order. */
export const COLLECTOR_NAMES = Object.keys(collectorRegistry) as readonly CollectorName[];
