// SPDX-License-Identifier: Apache-2.0
/** The project dashboard: usage per OpenStack project and flavor, across compute nodes. */
import type { Dashboard } from '@grafana/schema';

import { ACTIVE_STATES, CLUSTER_VARIABLE, JOB_VARIABLE, RATE, SCOPE } from './common.ts';
import { dashboard, datasourceVariable, queryVariable, row, stat, table, timeseries } from './grafana.ts';

const J = SCOPE;
const INFO = `libvirt_domain_openstack_info{${J}, project_name=~"$project"}`;
const rate = (metric: string): string => `rate(${metric}{${J}}[${RATE}])`;
/** Joins per-domain (or per-device) series with the Nova identity, keeping the given labels. */
const withIdentity = (expr: string, labels: string): string =>
  `(${expr}) * on (cluster, job, instance, domain) group_left (${labels}) ${INFO}`;
const active = (metric: string): string =>
  `${metric}{${J}} and on (cluster, job, instance, domain) libvirt_domain_info_state{${J}, state_desc=~"${ACTIVE_STATES}"}`;
const CPU = rate('libvirt_domain_info_cpu_time_seconds_total');
const DISK_BYTES = `${rate('libvirt_domain_block_stats_read_bytes_total')} + ${rate('libvirt_domain_block_stats_write_bytes_total')}`;
const DISK_IOPS = `${rate('libvirt_domain_block_stats_read_requests_total')} + ${rate('libvirt_domain_block_stats_write_requests_total')}`;
const NET_BYTES = `${rate('libvirt_domain_interface_stats_receive_bytes_total')} + ${rate('libvirt_domain_interface_stats_transmit_bytes_total')}`;

/** The project dashboard (uid `libvirt-project`). */
export function projectDashboard(): Dashboard {
  return dashboard({
    uid: 'libvirt-project',
    title: 'libvirt / Projects',
    description:
      'Usage per OpenStack project and per flavor across all compute nodes: instances by state, vCPUs and memory of active instances, CPU, disk and network use, the busiest instances, and how instances spread over nodes.',
    variables: [
      datasourceVariable(),
      CLUSTER_VARIABLE,
      JOB_VARIABLE,
      queryVariable({
        name: 'project',
        label: 'Project',
        description: 'OpenStack project(s) (libvirt_domain_openstack_info project_name).',
        query: `label_values(libvirt_domain_openstack_info{${J}}, project_name)`,
        multi: true,
      }),
    ],
    rows: [
      row('Overview', [
        stat({
          title: 'Instances by state',
          description: 'Instances of the selected projects by libvirt state.',
          queries: [
            {
              expr: `count by (state_desc) (${withIdentity(`libvirt_domain_info_state{${J}}`, 'project_name')})`,
              legend: '{{state_desc}}',
            },
          ],
          text: 'value_and_name',
          colorMode: 'none',
          w: 8,
        }),
        stat({
          title: 'vCPUs (active)',
          description: 'vCPUs of the active instances (running, paused, suspended) of the selected projects.',
          queries: [
            { expr: `sum(${withIdentity(active('libvirt_domain_info_virtual_cpus'), 'project_name')})` },
          ],
          colorMode: 'none',
          w: 4,
        }),
        stat({
          title: 'Memory (active)',
          description: 'Maximum memory of the active instances of the selected projects.',
          queries: [
            {
              expr: `sum(${withIdentity(active('libvirt_domain_info_maximum_memory_bytes'), 'project_name')})`,
            },
          ],
          unit: 'bytes',
          colorMode: 'none',
          w: 4,
        }),
        stat({
          title: 'CPU used (cores)',
          description: 'Host CPU time used per second by the instances of the selected projects.',
          queries: [{ expr: `sum(${withIdentity(CPU, 'project_name')})` }],
          decimals: 2,
          colorMode: 'none',
          sparkline: true,
          w: 4,
        }),
        stat({
          title: 'Compute nodes',
          description: 'Compute nodes that run instances of the selected projects.',
          queries: [{ expr: `count(count by (job, instance) (${INFO}))` }],
          colorMode: 'none',
          w: 4,
        }),
      ]),
      row('Usage per project', [
        timeseries({
          title: 'CPU used per project (cores)',
          description: 'Host CPU time used per second by the instances of each project: 1 is one host core.',
          queries: [
            {
              expr: `sum by (project_name) (${withIdentity(CPU, 'project_name')})`,
              legend: '{{project_name}}',
            },
          ],
          stack: true,
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'vCPUs of active instances per project',
          description: 'vCPUs allocated to the running, paused and suspended instances of each project.',
          queries: [
            {
              expr: `sum by (project_name) (${withIdentity(active('libvirt_domain_info_virtual_cpus'), 'project_name')})`,
              legend: '{{project_name}}',
            },
          ],
          stack: true,
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Memory of active instances per project',
          description: 'Maximum memory of the running, paused and suspended instances of each project.',
          queries: [
            {
              expr: `sum by (project_name) (${withIdentity(active('libvirt_domain_info_maximum_memory_bytes'), 'project_name')})`,
              legend: '{{project_name}}',
            },
          ],
          unit: 'bytes',
          stack: true,
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Disk throughput per project',
          description: 'Bytes read and written per second by the instances of each project.',
          queries: [
            {
              expr: `sum by (project_name) (${withIdentity(DISK_BYTES, 'project_name')})`,
              legend: '{{project_name}}',
            },
          ],
          unit: 'Bps',
          stack: true,
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Disk IOPS per project',
          description: 'Read and write requests per second of the instances of each project.',
          queries: [
            {
              expr: `sum by (project_name) (${withIdentity(DISK_IOPS, 'project_name')})`,
              legend: '{{project_name}}',
            },
          ],
          unit: 'iops',
          stack: true,
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Network traffic per project',
          description: 'Bytes received and transmitted per second by the instances of each project.',
          queries: [
            {
              expr: `sum by (project_name) (${withIdentity(NET_BYTES, 'project_name')})`,
              legend: '{{project_name}}',
            },
          ],
          unit: 'Bps',
          stack: true,
          min: 0,
          w: 8,
        }),
      ]),
      row('Flavors', [
        timeseries({
          title: 'Instances per flavor',
          description: 'Instances of the selected projects by Nova flavor (any state).',
          queries: [{ expr: `count by (flavor_name) (${INFO})`, legend: '{{flavor_name}}' }],
          stack: true,
          min: 0,
          decimals: 0,
          w: 8,
        }),
        timeseries({
          title: 'CPU used per flavor (cores)',
          description: 'Host CPU time used per second by the instances of each flavor.',
          queries: [
            { expr: `sum by (flavor_name) (${withIdentity(CPU, 'flavor_name')})`, legend: '{{flavor_name}}' },
          ],
          stack: true,
          min: 0,
          w: 8,
        }),
        table({
          title: 'Instances per project and flavor',
          description: 'Number of instances (any state) of each project and flavor.',
          queries: [{ expr: `count by (project_name, flavor_name) (${INFO})` }],
          columns: { project_name: 'Project', flavor_name: 'Flavor', Value: 'Instances' },
          w: 8,
        }),
      ]),
      row('Instances', [
        timeseries({
          title: 'Top instances by CPU (cores)',
          description: 'The ten instances of the selected projects that use the most host CPU.',
          queries: [
            {
              expr: `topk(10, sum by (project_name, instance_name, instance) (${withIdentity(CPU, 'project_name, instance_name')}))`,
              legend: '{{project_name}} / {{instance_name}}',
            },
          ],
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Instances per compute node',
          description: 'How the instances of the selected projects spread over compute nodes.',
          queries: [{ expr: `count by (instance) (${INFO})`, legend: '{{instance}}' }],
          stack: true,
          min: 0,
          decimals: 0,
        }),
      ]),
    ],
  });
}
