// SPDX-License-Identifier: Apache-2.0
/**
 * The exporter's own long-lived metrics (process, Node.js, build info, scrape and libvirt connection
 * counters), merged with each scrape's fresh registry when the response is written.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Inspector, InspectorCounters } from '../inspector/types.ts';
import { CLIENT_EVENT_NAMES, CONNECTION_ANOMALY_KINDS } from '../libvirt/index.ts';
import { version } from '../version.ts';
import { EVENT_LOOP_LAG_NAMES, registerEventLoopLag } from './event-loop-lag.ts';
import { oncePerCollection } from './once-per-collection.ts';

/** The exporter's own metrics. */
export interface SelfMetrics {
  /** Build info, libvirt connection counters, and what other parts (the publisher) register. */
  readonly registry: Registry;
  /**
   * The process itself: process_*, nodejs_* and the scrape counters, left out by
   * `web.disable_exporter_metrics` (node_exporter's --web.disable-exporter-metrics).
   */
  readonly runtime: Registry;
  readonly scrapes: Counter<'result'>;
  readonly inflight: Gauge;
  /** The inspector whose counters are served; the app sets it (a reload may replace it). */
  inspector: () => Inspector | undefined;
}

/** The current inspector's counters, or undefined (none yet, or they cannot be read). */
function readCounters(current: () => Inspector | undefined): InspectorCounters | undefined {
  // NOTE: a collect() that throws fails the whole response (prom-client awaits them all).
  try {
    return current()?.counters?.();
  } catch {
    return undefined;
  }
}

/** Reads the inspector's counters for the metrics of one collection. */
type CountersOfCollection = () => InspectorCounters | undefined;

/**
 * A label value as Prometheus spells them: `unmatched-reply` → `unmatched_reply`, `ioError` → `io_error`.
 * NOTE: the client's names follow JavaScript's habits (dashes, camelCase); the label values follow
 * Prometheus', as the events collector's `io_error`.
 */
function snakeCase(name: string): string {
  return name.replace(/-/g, '_').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Serves one labelled counter of the inspector's: every label value of `values` (a fixed set) at each
 * scrape, at 0 until it happens, so that `rate()` and `increase()` see the first one.
 */
function labelledCounter<K extends string>(
  registry: Registry,
  counters: CountersOfCollection,
  spec: { name: string; help: string; label: string; values: readonly K[] },
  read: (c: InspectorCounters) => Readonly<Record<K, number>> | undefined,
): void {
  // The label values as Prometheus spells them, once.
  const labels = spec.values.map((v) => [v, { [spec.label]: snakeCase(v) }] as const);
  new Counter({
    name: spec.name,
    help: spec.help,
    labelNames: [spec.label],
    registers: [registry],
    collect() {
      const c = counters();
      const counts = c === undefined ? undefined : read(c);
      this.reset();
      for (const [v, l] of labels) this.inc(l, counts?.[v] ?? 0);
    },
  });
}

/** Serves the inspector's cumulative counters, read at each scrape (a reload may swap the inspector). */
function registerInspectorCounters(registry: Registry, counters: CountersOfCollection): void {
  const counter = (name: string, help: string, read: (c: InspectorCounters) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const c = counters();
        this.reset();
        if (c !== undefined) this.inc(read(c));
      },
    });
  };
  counter(
    'libvirt_exporter_inspections_total',
    'Inspection cycles run (one per scrape, or shared by concurrent scrapes).',
    (c) => c.inspections,
  );
  counter('libvirt_exporter_libvirt_calls_total', 'libvirt RPC calls made by this process.', (c) => c.calls);
  counter(
    'libvirt_exporter_libvirt_call_errors_total',
    'libvirt RPC calls that failed (libvirt errors, lost connections, deadlines).',
    (c) => c.callErrors,
  );
  counter(
    'libvirt_exporter_libvirt_abandoned_calls_total',
    'libvirt RPC calls given up at their deadline while libvirt still held them.',
    (c) => c.abandonedCalls,
  );
  counter(
    'libvirt_exporter_libvirt_reconnects_total',
    'New libvirt connections after the first (libvirtd restarted, or a connection full of stuck calls retired).',
    (c) => c.reconnects,
  );
  new Gauge({
    name: 'libvirt_exporter_libvirt_calls_in_flight',
    help: 'libvirt RPC calls in flight now, abandoned ones included (libvirtd serves 5 per connection).',
    registers: [registry],
    collect() {
      this.set(counters()?.callsInFlight ?? 0);
    },
  });
}

/** Serves what the libvirt client dropped or survived, by kind, and its listeners' exceptions by event. */
function registerClientAnomalies(registry: Registry, counters: CountersOfCollection): void {
  labelledCounter(
    registry,
    counters,
    {
      name: 'libvirt_exporter_libvirt_anomalies_total',
      help:
        'Messages the libvirt client dropped or survived, by kind: unmatched_reply (no call waits for it), ' +
        "mismatched_reply (not its call's procedure: the connection is closed), unexpected_frame (a program " +
        'or type never asked for), undecodable_event, listener_error (an event listener threw).',
      label: 'kind',
      values: CONNECTION_ANOMALY_KINDS,
    },
    (c) => c.anomalies,
  );
  labelledCounter(
    registry,
    counters,
    {
      name: 'libvirt_exporter_libvirt_event_listener_errors_total',
      help:
        "Exceptions thrown by listeners of the libvirt client's events (the domain event counts among them), " +
        'by event; caught and counted: the event is lost for that listener only.',
      label: 'event',
      values: CLIENT_EVENT_NAMES,
    },
    (c) => c.listenerErrors,
  );
}

/**
 * The sampling interval given to prom-client's `monitorEventLoopDelay()` histogram, ms: about 24 days, so
 * that it never wakes the process. Its gauges are replaced (src/http/event-loop-lag.ts says why), and
 * prom-client offers no way to leave that histogram out.
 * NOTE: an interval of 10 ms (prom-client's default) cost an idle process 8.6 ms of CPU per second on the
 * lab machine.
 */
const PROM_CLIENT_LOOP_SAMPLER_MS = 2 ** 31 - 1;

/** Creates the long-lived registry. */
export function createSelfMetrics(): SelfMetrics {
  const registry = new Registry();
  const runtime = new Registry();
  collectDefaultMetrics({ register: runtime, eventLoopMonitoringPrecision: PROM_CLIENT_LOOP_SAMPLER_MS });
  for (const name of EVENT_LOOP_LAG_NAMES) runtime.removeSingleMetric(name);
  registerEventLoopLag(runtime);
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
    registers: [runtime],
  });
  const inflight = new Gauge({
    name: 'libvirt_exporter_scrapes_in_flight',
    help: 'Scrapes being served right now.',
    registers: [runtime],
  });
  const self: SelfMetrics = { registry, runtime, scrapes, inflight, inspector: () => undefined };
  // Read once per collection (src/http/once-per-collection.ts): the eight metrics below cost one read of
  // the client's counters instead of eight, and they all describe the same moment.
  const counters = oncePerCollection(() => readCounters(() => self.inspector()));
  registerInspectorCounters(registry, counters);
  registerClientAnomalies(registry, counters);
  return self;
}
