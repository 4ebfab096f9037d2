// SPDX-License-Identifier: Apache-2.0
/**
 * The exporter's own long-lived metrics (process, Node.js, build info, scrape and libvirt connection
 * counters), merged with each scrape's fresh registry when the response is written.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { version } from '../version.ts';

/** The exporter's own metrics. */
export interface SelfMetrics {
  readonly registry: Registry;
  readonly scrapes: Counter<'result'>;
  readonly inflight: Gauge;
}

/** Creates the long-lived registry. */
export function createSelfMetrics(): SelfMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'libvirt_exporter_build_info',
    help: 'Build of this exporter: value 1.',
    labelNames: ['version', 'revision', 'nodejs_version'],
    registers: [registry],
  }).set({ version: version.version, revision: version.revision, nodejs_version: version.nodejsVersion }, 1);
  const scrapes = new Counter({
    name: 'libvirt_exporter_scrapes_total',
    help: 'Scrapes served, by result: ok, rejected (too many in flight, 503), bad_request (400).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const inflight = new Gauge({
    name: 'libvirt_exporter_scrapes_in_flight',
    help: 'Scrapes being served right now.',
    registers: [registry],
  });
  return { registry, scrapes, inflight };
}
