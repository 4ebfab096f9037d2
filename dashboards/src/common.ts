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

/** The `job` variable: the Prometheus jobs that scrape libvirt exporters (All by default). */
export const JOB_VARIABLE = queryVariable({
  name: 'job',
  label: 'Job',
  description: 'Prometheus job(s) scraping the libvirt exporters.',
  query: 'label_values(libvirt_up, job)',
  includeAll: true,
});
