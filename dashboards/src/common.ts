// SPDX-License-Identifier: Apache-2.0
/** Pieces shared by the dashboards: variables, the rate window, state names. */
import { queryVariable, valueMappings } from './grafana.ts';

/** The range of every rate(): Grafana's interval that always spans at least four scrapes. */
export const RATE = '$__rate_interval';

/**
 * Domain states that hold vCPUs and memory on the node (libvirt_domain_info_state's state_desc):
 * everything but shut off, crashed and no state.
 */
export const ACTIVE_STATES = 'running|blocked|paused|shutdown|pmsuspended';

/** libvirt's domain state codes (virDomainState) as names and colours. */
export const DOMAIN_STATE_MAPPINGS = valueMappings({
  '0': { text: 'no state', color: 'text' },
  '1': { text: 'running', color: 'green' },
  '2': { text: 'blocked', color: 'blue' },
  '3': { text: 'paused', color: 'orange' },
  '4': { text: 'shutting down', color: 'yellow' },
  '5': { text: 'shut off', color: 'text' },
  '6': { text: 'crashed', color: 'red' },
  '7': { text: 'suspended', color: 'purple' },
});

/**
 * The `cluster` variable: the `cluster` label of multi-cluster Prometheus set-ups (Thanos, Mimir, a
 * federating Prometheus, or `external_labels` passed on by remote write). All by default, as `.*`, so
 * that it also matches series without the label: with a single Prometheus and no such label the
 * variable has no value and every panel works as before.
 */
export const CLUSTER_VARIABLE = queryVariable({
  name: 'cluster',
  label: 'Cluster',
  description: 'Cluster (the cluster label, where Prometheus has one); All also matches series without it.',
  query: 'label_values(libvirt_up, cluster)',
  includeAll: true,
  allValue: '.*',
});

/** The `job` variable: the Prometheus jobs that scrape libvirt exporters (All by default). */
export const JOB_VARIABLE = queryVariable({
  name: 'job',
  label: 'Job',
  description: 'Prometheus job(s) scraping the libvirt exporters.',
  query: 'label_values(libvirt_up{cluster=~"$cluster"}, job)',
  includeAll: true,
});

/** The selector of the cluster and job variables, which every query starts with. */
export const SCOPE = 'cluster=~"$cluster", job=~"$job"';

/** The name of the variable holding the compute node (Prometheus instance label) on every dashboard. */
export const NODE = 'node';

/**
 * URL of another dashboard of this project, for data links: the time range, then the variables of the
 * current dashboard named in `carry` (datasource, cluster and job always) as they are chosen, then the
 * given variables (`var-NAME=VALUE`) whose values are Grafana interpolations such as
 * `${__data.fields["Domain"]:percentencode}`.
 */
export function dashboardUrl(
  uid: string,
  vars: Readonly<Record<string, string>>,
  carry: readonly string[] = [],
): string {
  const params = [
    '${__url_time_range}',
    ...['datasource', 'cluster', 'job', ...carry].map((name) => `\${${name}:queryparam}`),
    ...Object.entries(vars).map(([name, value]) => `var-${name}=${value}`),
  ];
  return `/d/${uid}?${params.join('&')}`;
}

/** A data link's reference to a cell of the clicked table row, URL-encoded. */
export function cell(header: string): string {
  return `\${__data.fields["${header}"]:percentencode}`;
}
