// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The publisher's own metrics on /metrics: what was polled, published, queued and dropped, whether
 * the broker is reachable, and how the polls went. Long-lived, in the registry the exporter gives.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

import type { DropReason } from './delivery-queue.ts';

/** The publisher's metric objects. */
export interface PublisherMetrics {
  readonly samplesPolled: Counter<'meter'>;
  readonly samplesPublished: Counter<'meter'>;
  readonly samplesDropped: Counter<'reason'>;
  readonly notificationsPublished: Counter;
  readonly sendFailures: Counter;
  readonly polls: Counter<'source' | 'result'>;
  readonly pollDuration: Gauge<'source'>;
  readonly pollTimestamp: Gauge<'source'>;
  /**
   * Removes the gauges that describe a running publisher (queue, broker, last poll), so that a stopped
   * or disabled publisher does not look like a stuck one. Counters stay until a new publisher
   * registers its own (a configuration reload), so the final counts remain visible.
   */
  unregisterGauges(): void;
}

/** Live values the gauges read when scraped. */
export interface PublisherGaugeSources {
  readonly queueSamples: () => number;
  readonly queueCapacity: () => number;
  readonly brokerUp: () => boolean;
  /** Whether the broker blocks publishing; absent = never. */
  readonly brokerBlocked?: () => boolean;
}

const DROP_REASONS: readonly DropReason[] = ['queue_full', 'broker_unavailable', 'rejected', 'shutdown'];

/** Every metric name the publisher registers. */
export const PUBLISHER_METRIC_NAMES = [
  'libvirt_publisher_samples_polled_total',
  'libvirt_publisher_samples_published_total',
  'libvirt_publisher_samples_dropped_total',
  'libvirt_publisher_notifications_published_total',
  'libvirt_publisher_send_failures_total',
  'libvirt_publisher_queue_samples',
  'libvirt_publisher_queue_capacity_samples',
  'libvirt_publisher_broker_up',
  'libvirt_publisher_broker_blocked',
  'libvirt_publisher_polls_total',
  'libvirt_publisher_last_poll_duration_seconds',
  'libvirt_publisher_last_poll_timestamp_seconds',
] as const;

/**
 * The counters and per-source gauges the publisher updates, by field of {@link PublisherMetrics}, in
 * registration order (after `samplesDropped` come the live gauges, then the rest).
 */
const UPDATED = {
  samplesDropped: {
    name: 'libvirt_publisher_samples_dropped_total',
    help: 'Ceilometer samples dropped without being published, by reason: queue_full (max_queue_length reached, oldest first), broker_unavailable (policy drop), rejected (refused by the broker), shutdown (unsent at stop).',
    labelNames: ['reason'],
  },
  samplesPolled: {
    name: 'libvirt_publisher_samples_polled_total',
    help: 'Ceilometer samples built by polls, by meter (each is later published or dropped).',
    labelNames: ['meter'],
  },
  samplesPublished: {
    name: 'libvirt_publisher_samples_published_total',
    help: 'Ceilometer samples confirmed by the broker, by meter.',
    labelNames: ['meter'],
  },
  notificationsPublished: {
    name: 'libvirt_publisher_notifications_published_total',
    help: 'telemetry.polling notifications (AMQP messages) confirmed by the broker.',
  },
  sendFailures: {
    name: 'libvirt_publisher_send_failures_total',
    help: 'Failed attempts to publish a notification (broker unreachable, timeout, refusal); each is retried or dropped by policy.',
  },
  polls: {
    name: 'libvirt_publisher_polls_total',
    help: 'Poll cycles by polling source and result (success, or error when the inspection failed).',
    labelNames: ['source', 'result'],
  },
  pollDuration: {
    name: 'libvirt_publisher_last_poll_duration_seconds',
    help: 'Duration of the last poll cycle of the source (inspection and sample building).',
    labelNames: ['source'],
  },
  pollTimestamp: {
    name: 'libvirt_publisher_last_poll_timestamp_seconds',
    help: 'When the last successful poll cycle of the source started, in seconds since the epoch.',
    labelNames: ['source'],
  },
} as const;

/** The gauges set when scraped from the live values of a running publisher, in registration order. */
const LIVE_GAUGES: readonly {
  readonly name: (typeof PUBLISHER_METRIC_NAMES)[number];
  readonly help: string;
  readonly value: (sources: PublisherGaugeSources) => number;
}[] = [
  {
    name: 'libvirt_publisher_queue_samples',
    help: 'Ceilometer samples waiting to be published (including the notification in flight).',
    value: (s) => s.queueSamples(),
  },
  {
    name: 'libvirt_publisher_queue_capacity_samples',
    help: 'Most Ceilometer samples the publisher holds while the broker is unreachable (max_queue_length).',
    value: (s) => s.queueCapacity(),
  },
  {
    name: 'libvirt_publisher_broker_up',
    help: 'Whether the AMQP connection to the broker is established (1) or not (0), blocked or not.',
    value: (s) => (s.brokerUp() ? 1 : 0),
  },
  {
    name: 'libvirt_publisher_broker_blocked',
    help: 'Whether the broker blocks publishing on the connection (1: connection.blocked, a memory or disk alarm; samples wait in the queue) or not (0).',
    value: (s) => (s.brokerBlocked?.() === true ? 1 : 0),
  },
];

/**
 * Registers the publisher metrics in `registry`. Metrics left there by a previous publisher (a
 * configuration reload) are replaced; counters therefore restart from zero, which Prometheus' rate()
 * handles as a counter reset.
 */
export function registerPublisherMetrics(
  registry: Registry,
  sources: PublisherGaugeSources,
): PublisherMetrics {
  const registers = [registry];
  for (const name of PUBLISHER_METRIC_NAMES) registry.removeSingleMetric(name);
  const samplesDropped = new Counter({ ...UPDATED.samplesDropped, registers });
  // Zero-initialise every reason, so that rate() and alerts see the series before the first drop.
  for (const reason of DROP_REASONS) samplesDropped.inc({ reason }, 0);
  for (const { name, help, value } of LIVE_GAUGES) {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value(sources));
      },
    });
  }
  return {
    samplesPolled: new Counter({ ...UPDATED.samplesPolled, registers }),
    samplesPublished: new Counter({ ...UPDATED.samplesPublished, registers }),
    samplesDropped,
    notificationsPublished: new Counter({ ...UPDATED.notificationsPublished, registers }),
    sendFailures: new Counter({ ...UPDATED.sendFailures, registers }),
    polls: new Counter({ ...UPDATED.polls, registers }),
    pollDuration: new Gauge({ ...UPDATED.pollDuration, registers }),
    pollTimestamp: new Gauge({ ...UPDATED.pollTimestamp, registers }),
    unregisterGauges() {
      for (const name of PUBLISHER_METRIC_NAMES) {
        if (!name.endsWith('_total')) registry.removeSingleMetric(name);
      }
    },
  };
}
