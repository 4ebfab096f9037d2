// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The collector names, as a type: every family declaration names the collector that serves it, so a
 * misspelt collector fails type checking instead of silently dropping a metric. The configuration
 * (src/config/schema.ts) checks its collector list against this union.
 */

/** A collector name. */
export type CollectorName =
  | 'domain'
  | 'cpu'
  | 'vcpu'
  | 'memory'
  | 'block'
  | 'interface'
  | 'openstack'
  | 'host'
  | 'storage_pool'
  | 'job'
  | 'dirtyrate'
  | 'perf'
  | 'pressure'
  | 'guest_agent'
  | 'events'
  | 'ceilometer';

/** Who serves a family: a collector, or the scrape itself (`libvirt_up`, `libvirt_scrape_*`). */
export type Producer = CollectorName | 'scrape';
