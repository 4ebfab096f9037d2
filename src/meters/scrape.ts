// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Families the scrape serves itself, whatever collectors run: whether libvirt answered, what the shared
 * inspection cost and skipped, and each collector's duration and success.
 */
import { family } from './family.ts';

/** Families of the scrape, in the order they are served. */
export const scrapeFamilies = {
  duration: family({
    key: 'scrape_collector_duration',
    collector: 'scrape',
    source: "the scrape's own timing",
    rawUnit: 'seconds',
    name: 'libvirt_scrape_collector_duration_seconds',
    type: 'gauge',
    help: {
      template:
        'Time a collector took in this scrape (the shared libvirt inspection is counted under collector="inspection").',
    },
    domainLabels: 'none',
    extraLabels: ['collector'],
  }),
  success: family({
    key: 'scrape_collector_success',
    collector: 'scrape',
    source: "the collector's outcome",
    rawUnit: 'count',
    name: 'libvirt_scrape_collector_success',
    type: 'gauge',
    help: { template: 'Whether a collector succeeded in this scrape (1) or failed (0).' },
    domainLabels: 'none',
    extraLabels: ['collector'],
  }),
  up: family({
    key: 'up',
    collector: 'scrape',
    source: 'the inspection (virConnectListAllDomains, virConnectGetAllDomainStats)',
    rawUnit: 'count',
    name: 'libvirt_up',
    type: 'gauge',
    help: {
      template: 'Whether libvirt answered the inventory and stats calls of this scrape (1) or not (0).',
    },
    domainLabels: 'none',
  }),
  roundTrips: family({
    key: 'scrape_round_trips',
    collector: 'scrape',
    source: "the inspection's call count",
    rawUnit: 'count',
    name: 'libvirt_scrape_libvirt_round_trips',
    type: 'gauge',
    help: {
      template: 'libvirt RPC calls made by the inspection this scrape served (shared by concurrent scrapes).',
    },
    domainLabels: 'none',
  }),
  skipped: family({
    key: 'scrape_domains_skipped',
    collector: 'scrape',
    source: "the inspection's skipped domains",
    rawUnit: 'count',
    name: 'libvirt_scrape_domains_skipped',
    type: 'gauge',
    help: {
      template:
        'Running domains whose stats are partial or missing in this scrape, by reason: busy (job held, NOWAIT), timeout, error.',
    },
    domainLabels: 'none',
    extraLabels: ['reason'],
  }),
} as const;
