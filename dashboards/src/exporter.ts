// SPDX-License-Identifier: Apache-2.0
/** The exporter dashboard: is the exporter healthy, fast and complete, and is the publisher delivering. */
import type { Dashboard } from '@grafana/schema';

import { CLUSTER_VARIABLE, JOB_VARIABLE, NODE, RATE, SCOPE } from './common.ts';
import {
  dashboard,
  datasourceVariable,
  queryVariable,
  row,
  stat,
  stateTimeline,
  thresholds,
  timeseries,
  valueMappings,
} from './grafana.ts';

const E = `${SCOPE}, instance=~"$${NODE}"`;
const rate = (metric: string): string => `rate(${metric}{${E}}[${RATE}])`;
const UP_MAPPINGS = valueMappings({
  '0': { text: 'DOWN', color: 'red' },
  '1': { text: 'UP', color: 'green' },
});

/** The exporter dashboard (uid `libvirt-exporter`). */
export function exporterDashboard(): Dashboard {
  return dashboard({
    uid: 'libvirt-exporter',
    title: 'libvirt / Exporter',
    description:
      'Health of the libvirt exporters: libvirt reachable, scrape and per-collector durations, collector failures, guests skipped as busy or timed out, process resources, and the Ceilometer publisher (samples published, queued and dropped, broker connection, polls).',
    variables: [
      datasourceVariable(),
      CLUSTER_VARIABLE,
      JOB_VARIABLE,
      queryVariable({
        name: NODE,
        label: 'Compute node',
        description: 'Exporter(s) (Prometheus instance label), one per compute node.',
        query: `label_values(libvirt_up{${SCOPE}}, instance)`,
        multi: true,
      }),
    ],
    rows: [
      row('Status', [
        stat({
          title: 'libvirt',
          description: 'Whether libvirtd answered the last scrape, per exporter (libvirt_up).',
          queries: [{ expr: `libvirt_up{${E}}`, legend: '{{instance}}' }],
          mappings: UP_MAPPINGS,
          text: 'value_and_name',
          colorMode: 'background',
          w: 8,
        }),
        stat({
          title: 'Versions',
          description:
            'Exporter versions running (libvirt_exporter_build_info), with how many exporters run each.',
          queries: [
            { expr: `count by (version) (libvirt_exporter_build_info{${E}})`, legend: '{{version}}' },
          ],
          text: 'value_and_name',
          colorMode: 'none',
          w: 6,
        }),
        stat({
          title: 'Failing collectors',
          description:
            'Collectors that failed in the last scrape, over the selected exporters (0 when healthy).',
          queries: [{ expr: `sum(1 - libvirt_scrape_collector_success{${E}})` }],
          thresholds: thresholds('green', [1, 'red']),
          w: 5,
        }),
        stat({
          title: 'Guests skipped',
          description:
            'Running guests with partial or missing stats in the last scrape (busy, timeout or error).',
          queries: [{ expr: `sum(libvirt_scrape_domains_skipped{${E}})` }],
          thresholds: thresholds('green', [1, 'orange']),
          w: 5,
        }),
      ]),
      row('Scrapes', [
        timeseries({
          title: 'Scrape duration',
          description: "Duration of Prometheus' scrapes of each exporter.",
          queries: [{ expr: `scrape_duration_seconds{${E}}`, legend: '{{instance}}' }],
          unit: 's',
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Collector duration',
          description:
            'Time each collector took in the last scrape; the shared libvirt calls count as collector="inspection".',
          queries: [
            { expr: `libvirt_scrape_collector_duration_seconds{${E}}`, legend: '{{instance}} {{collector}}' },
          ],
          unit: 's',
          min: 0,
          legendTable: true,
          w: 8,
        }),
        stateTimeline({
          title: 'Collector success',
          description: 'Whether each collector succeeded (green) or failed (red) in each scrape.',
          queries: [{ expr: `libvirt_scrape_collector_success{${E}}`, legend: '{{instance}} {{collector}}' }],
          mappings: valueMappings({
            '0': { text: 'failed', color: 'red' },
            '1': { text: 'ok', color: 'green' },
          }),
          w: 8,
        }),
        timeseries({
          title: 'Guests skipped by reason',
          description:
            'Running guests whose stats were partial or missing: busy (a libvirt job held them and the exporter did not wait), timeout (QEMU did not answer in time), error.',
          queries: [
            { expr: `sum by (reason) (libvirt_scrape_domains_skipped{${E}})`, legend: '{{reason}}' },
            { expr: `sum(libvirt_domain_timed_out{${E}})`, legend: 'guests flagged timed_out' },
          ],
          min: 0,
          decimals: 0,
          w: 8,
        }),
        timeseries({
          title: 'libvirt round trips per scrape',
          description:
            'libvirt RPC calls made by the inspection a scrape used (shared by concurrent scrapes).',
          queries: [{ expr: `libvirt_scrape_libvirt_round_trips{${E}}`, legend: '{{instance}}' }],
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Scrapes served',
          description:
            'Scrapes per second by result: ok, rejected (too many in flight, HTTP 503) and bad_request (HTTP 400); and scrapes in flight.',
          queries: [
            {
              expr: `sum by (instance, result) (${rate('libvirt_exporter_scrapes_total')})`,
              legend: '{{instance}} {{result}}',
            },
            { expr: `libvirt_exporter_scrapes_in_flight{${E}}`, legend: '{{instance}} in flight' },
          ],
          unit: 'short',
          min: 0,
          w: 8,
        }),
      ]),
      row('Process', [
        timeseries({
          title: 'CPU',
          description: 'CPU time used per second by the exporter process.',
          queries: [{ expr: rate('process_cpu_seconds_total'), legend: '{{instance}}' }],
          unit: 'percentunit',
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Memory',
          description: 'Resident memory and JavaScript heap used of the exporter process.',
          queries: [
            { expr: `process_resident_memory_bytes{${E}}`, legend: '{{instance}} resident' },
            { expr: `nodejs_heap_size_used_bytes{${E}}`, legend: '{{instance}} heap used' },
          ],
          unit: 'bytes',
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Event loop lag',
          description: '99th percentile of the Node.js event loop delay: high values delay every scrape.',
          queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{${E}}`, legend: '{{instance}}' }],
          unit: 's',
          min: 0,
          w: 8,
        }),
      ]),
      row('Ceilometer publisher', [
        timeseries({
          title: 'Samples published',
          description: 'Ceilometer samples confirmed by the broker per second, by meter.',
          queries: [
            {
              expr: `sum by (meter) (${rate('libvirt_publisher_samples_published_total')})`,
              legend: '{{meter}}',
            },
          ],
          unit: 'short',
          stack: true,
          min: 0,
          legendTable: true,
          w: 8,
        }),
        timeseries({
          title: 'Samples dropped',
          description:
            'Ceilometer samples dropped per second, by reason: queue_full, broker_unavailable (drop policy), rejected, shutdown. Zero when healthy.',
          queries: [
            {
              expr: `sum by (reason) (${rate('libvirt_publisher_samples_dropped_total')})`,
              legend: '{{reason}}',
            },
          ],
          unit: 'short',
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Queue',
          description:
            'Samples waiting to be published, against the most the publisher holds (max_queue_length).',
          queries: [
            { expr: `libvirt_publisher_queue_samples{${E}}`, legend: '{{instance}} queued' },
            { expr: `libvirt_publisher_queue_capacity_samples{${E}}`, legend: '{{instance}} capacity' },
          ],
          min: 0,
          w: 8,
        }),
        stateTimeline({
          title: 'Broker connection',
          description: 'Whether the AMQP connection to the broker is established.',
          queries: [{ expr: `libvirt_publisher_broker_up{${E}}`, legend: '{{instance}}' }],
          mappings: UP_MAPPINGS,
          w: 8,
        }),
        timeseries({
          title: 'Notifications and send failures',
          description:
            'AMQP messages (telemetry.polling notifications) confirmed per second, and failed attempts to publish one (each is retried or dropped by policy).',
          queries: [
            {
              expr: rate('libvirt_publisher_notifications_published_total'),
              legend: '{{instance}} published',
            },
            { expr: rate('libvirt_publisher_send_failures_total'), legend: '{{instance}} failed' },
          ],
          unit: 'short',
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Polls',
          description:
            'Poll cycles per second by polling source and result, the duration of the last cycle, and the time since the last successful one.',
          queries: [
            {
              expr: `sum by (source, result) (${rate('libvirt_publisher_polls_total')})`,
              legend: '{{source}} {{result}}/s',
            },
            { expr: `libvirt_publisher_last_poll_duration_seconds{${E}}`, legend: '{{source}} duration (s)' },
            {
              expr: `time() - libvirt_publisher_last_poll_timestamp_seconds{${E}}`,
              legend: '{{source}} age (s)',
            },
          ],
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Samples polled',
          description:
            'Ceilometer samples built by polls per second, by meter (each is later published or dropped).',
          queries: [
            {
              expr: `sum by (meter) (${rate('libvirt_publisher_samples_polled_total')})`,
              legend: '{{meter}}',
            },
          ],
          unit: 'short',
          stack: true,
          min: 0,
          legendTable: true,
          w: 24,
        }),
      ]),
    ],
  });
}
