// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The perf family: perf event counters enabled in a domain's XML (<perf><event enabled='yes'>), one
 * series per event, and the Ceilometer meter of each event the compute agent publishes.
 */
import { family } from './family.ts';

/** The perf family of the perf collector; its value is the counter of the `event` label's event. */
export const perfFamily = family<number>({
  key: 'perf_events',
  collector: 'perf',
  source: 'perf.<event>',
  rawUnit: 'count',
  name: 'libvirt_domain_perf_events_total',
  type: 'counter',
  help: {
    about: 'perf event count of the domain',
    note: 'event label: cpu_cycles, instructions, cache_misses…',
  },
  extraLabels: ['event'],
  read: (count) => count,
});

/** A perf event as a Ceilometer meter (a gauge of the raw count, as the compute agent publishes it). */
export interface PerfCeilometerMeter {
  /** libvirt's event name (`perf.<event>`). */
  readonly event: string;
  readonly meter: string;
  readonly unit: string;
}

/**
 * The Ceilometer meters read from perf events (compute/pollsters/perf.py); `cmt`, `mbmt` and `mbml`
 * (Intel CMT/MBM) were removed in Ceilometer 24.0.0.
 */
export const perfCeilometerMeters: readonly PerfCeilometerMeter[] = [
  { event: 'cpu_cycles', meter: 'perf.cpu.cycles', unit: '' },
  { event: 'instructions', meter: 'perf.instructions', unit: '' },
  { event: 'cache_references', meter: 'perf.cache.references', unit: '' },
  { event: 'cache_misses', meter: 'perf.cache.misses', unit: '' },
  { event: 'cmt', meter: 'cpu_l3_cache', unit: 'B' },
  { event: 'mbmt', meter: 'memory.bandwidth.total', unit: 'B/s' },
  { event: 'mbml', meter: 'memory.bandwidth.local', unit: 'B/s' },
];
