// SPDX-License-Identifier: Apache-2.0
/** The compute node dashboard: one hypervisor, its guests, its allocation and its noisy neighbours. */
import type { Dashboard } from '@grafana/schema';

import {
  dashboard,
  datasourceVariable,
  queryVariable,
  row,
  stat,
  table,
  thresholds,
  timeseries,
  valueMappings,
} from './grafana.ts';
import {
  ACTIVE_STATES,
  CLUSTER_VARIABLE,
  DOMAIN_STATE_MAPPINGS,
  JOB_VARIABLE,
  NODE,
  RATE,
  SCOPE,
  cell,
  dashboardUrl,
} from './common.ts';

const S = `${SCOPE}, instance="$${NODE}"`;
const ACTIVE = `libvirt_domain_info_state{${S}, state_desc=~"${ACTIVE_STATES}"}`;
const VCPUS_ACTIVE = `sum(libvirt_domain_info_virtual_cpus{${S}} and on (domain) ${ACTIVE})`;
const MEMORY_ACTIVE = `sum(libvirt_domain_info_maximum_memory_bytes{${S}} and on (domain) ${ACTIVE})`;
const rate = (metric: string): string => `rate(${metric}{${S}}[${RATE}])`;
/** From a row of the guest table to the instance dashboard, on the same node. */
const INSTANCE_LINK = {
  title: 'Instance ${__data.fields["Nova name"]} (${__data.fields["Domain"]})',
  url: dashboardUrl(
    'libvirt-instance',
    {
      project: cell('Project'),
      server: cell('Nova name'),
      instance_id: cell('Instance ID'),
      domain: cell('Domain'),
    },
    [NODE],
  ),
};

/** The compute node dashboard (uid `libvirt-compute-node`). */
export function computeNodeDashboard(): Dashboard {
  return dashboard({
    uid: 'libvirt-compute-node',
    title: 'libvirt / Compute node',
    description:
      'One compute node: its guests by state, the vCPUs and memory given to them against the host (overcommit), the guests that use the most CPU, suffer the most steal, wait the longest on their disks or move the most traffic, and the health of the exporter.',
    variables: [
      datasourceVariable(),
      CLUSTER_VARIABLE,
      JOB_VARIABLE,
      queryVariable({
        name: NODE,
        label: 'Compute node',
        description: 'The exporter (Prometheus instance label) of the compute node.',
        query: `label_values(libvirt_up{${SCOPE}}, instance)`,
      }),
    ],
    rows: [
      row('Overview', [
        stat({
          title: 'libvirt',
          description: 'Whether libvirtd answered the last scrape (libvirt_up).',
          queries: [{ expr: `libvirt_up{${S}}` }],
          mappings: valueMappings({
            '0': { text: 'DOWN', color: 'red' },
            '1': { text: 'UP', color: 'green' },
          }),
          colorMode: 'background',
          w: 3,
        }),
        stat({
          title: 'Guests by state',
          description: 'Domains libvirt knows on this node, counted by state.',
          queries: [
            { expr: `count by (state_desc) (libvirt_domain_info_state{${S}})`, legend: '{{state_desc}}' },
          ],
          text: 'value_and_name',
          colorMode: 'none',
          w: 6,
        }),
        stat({
          title: 'Host CPUs',
          description: 'Active CPUs of the host (libvirt nodeinfo).',
          queries: [{ expr: `libvirt_host_cpus{${S}}` }],
          colorMode: 'none',
          w: 3,
        }),
        stat({
          title: 'vCPU overcommit',
          description:
            "vCPUs of the active guests (running, paused, suspended) per host CPU. Nova's default cpu_allocation_ratio is 4.",
          queries: [{ expr: `${VCPUS_ACTIVE} / on () libvirt_host_cpus{${S}}` }],
          unit: 'suffix:×',
          decimals: 2,
          thresholds: thresholds('green', [4, 'orange'], [8, 'red']),
          w: 3,
        }),
        stat({
          title: 'Host memory',
          description: 'Memory of the host (libvirt nodeinfo).',
          queries: [{ expr: `libvirt_host_memory_bytes{${S}}` }],
          unit: 'bytes',
          colorMode: 'none',
          w: 3,
        }),
        stat({
          title: 'Memory overcommit',
          description:
            'Maximum memory of the active guests against the host memory. Above 100 %, the guests can together use more than the host has.',
          queries: [{ expr: `${MEMORY_ACTIVE} / on () libvirt_host_memory_bytes{${S}}` }],
          unit: 'percentunit',
          decimals: 0,
          thresholds: thresholds('green', [0.9, 'orange'], [1, 'red']),
          w: 3,
        }),
        stat({
          title: 'Failing collectors',
          description: 'Collectors of the exporter that failed in the last scrape (0 when healthy).',
          queries: [{ expr: `sum(1 - libvirt_scrape_collector_success{${S}})` }],
          thresholds: thresholds('green', [1, 'red']),
          w: 3,
        }),
      ]),
      row('Allocation', [
        timeseries({
          title: 'vCPUs against host CPUs',
          description:
            'vCPUs of the active guests and of all defined guests (shut-off ones included), and the CPUs of the host.',
          queries: [
            { expr: VCPUS_ACTIVE, legend: 'vCPUs of active guests' },
            { expr: `sum(libvirt_domain_info_virtual_cpus{${S}})`, legend: 'vCPUs of all guests' },
            { expr: `libvirt_host_cpus{${S}}`, legend: 'host CPUs' },
          ],
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Memory against host memory',
          description:
            'Maximum memory of the active guests and of all defined guests, the resident memory of their QEMU processes, and the memory of the host.',
          queries: [
            { expr: MEMORY_ACTIVE, legend: 'memory of active guests' },
            { expr: `sum(libvirt_domain_info_maximum_memory_bytes{${S}})`, legend: 'memory of all guests' },
            { expr: `sum(libvirt_domain_memory_stats_rss_bytes{${S}})`, legend: 'QEMU resident memory' },
            { expr: `libvirt_host_memory_bytes{${S}}`, legend: 'host memory' },
          ],
          unit: 'bytes',
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Guests by state',
          description: 'Domains by state over time.',
          queries: [
            { expr: `count by (state_desc) (libvirt_domain_info_state{${S}})`, legend: '{{state_desc}}' },
          ],
          stack: true,
          min: 0,
          w: 8,
        }),
      ]),
      row('Top guests', [
        timeseries({
          title: 'Top guests by CPU (host cores)',
          description:
            'Host CPU time used per second by each guest (vCPUs and QEMU threads): 1 is one host core. The ten busiest guests.',
          queries: [
            {
              expr: `topk(10, sum by (domain) (${rate('libvirt_domain_info_cpu_time_seconds_total')}))`,
              legend: '{{domain}}',
            },
          ],
          unit: 'short',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Top guests by steal',
          description:
            'Share of time the vCPUs of a guest were ready to run but waited for a host CPU (vcpu.N.delay per vCPU). High values mean CPU contention on this node.',
          queries: [
            {
              expr: `topk(10, sum by (domain) (${rate('libvirt_domain_vcpu_delay_seconds_total')}) / on (domain) sum by (domain) (libvirt_domain_vcpu_current{${S}}))`,
              legend: '{{domain}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Top disks by latency',
          description:
            'Mean time per read or write request of each disk (only disks that did I/O). The ten slowest disks.',
          queries: [
            {
              expr:
                `topk(10, sum by (domain, target_device) (${rate('libvirt_domain_block_stats_read_time_seconds_total')} + ${rate('libvirt_domain_block_stats_write_time_seconds_total')})` +
                ` / (sum by (domain, target_device) (${rate('libvirt_domain_block_stats_read_requests_total')} + ${rate('libvirt_domain_block_stats_write_requests_total')}) > 0))`,
              legend: '{{domain}} {{target_device}}',
            },
          ],
          unit: 's',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Top guests by disk I/O',
          description:
            'Bytes read and written per second over all disks of each guest. The ten busiest guests.',
          queries: [
            {
              expr: `topk(10, sum by (domain) (${rate('libvirt_domain_block_stats_read_bytes_total')} + ${rate('libvirt_domain_block_stats_write_bytes_total')}))`,
              legend: '{{domain}}',
            },
          ],
          unit: 'Bps',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Top guests by network traffic',
          description:
            'Bytes received and transmitted per second over all vNICs of each guest. The ten busiest guests.',
          queries: [
            {
              expr: `topk(10, sum by (domain) (${rate('libvirt_domain_interface_stats_receive_bytes_total')} + ${rate('libvirt_domain_interface_stats_transmit_bytes_total')}))`,
              legend: '{{domain}}',
            },
          ],
          unit: 'Bps',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Top vNICs by drops and errors',
          description:
            'Packets dropped or in error per second (receive and transmit) of each vNIC. Zero on a healthy node.',
          queries: [
            {
              expr:
                `topk(10, sum by (domain, target_device) (${rate('libvirt_domain_interface_stats_receive_drops_total')} + ${rate('libvirt_domain_interface_stats_transmit_drops_total')}` +
                ` + ${rate('libvirt_domain_interface_stats_receive_errors_total')} + ${rate('libvirt_domain_interface_stats_transmit_errors_total')}))`,
              legend: '{{domain}} {{target_device}}',
            },
          ],
          unit: 'pps',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Top guests by host memory',
          description: 'Resident memory of the QEMU process of each guest on the host. The ten largest.',
          queries: [{ expr: `topk(10, libvirt_domain_memory_stats_rss_bytes{${S}})`, legend: '{{domain}}' }],
          unit: 'bytes',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Top guests by CPU utilisation',
          description:
            "CPU time per allocated vCPU (Ceilometer's cpu_util as a ratio): 100 % means the guest uses all its vCPUs. The ten busiest guests.",
          queries: [
            {
              expr: `topk(10, sum by (domain) (${rate('libvirt_domain_info_cpu_time_seconds_total')}) / on (domain) sum by (domain) (libvirt_domain_info_virtual_cpus{${S}}))`,
              legend: '{{domain}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          legendTable: true,
        }),
      ]),
      row('Guests', [
        table({
          title: 'Guests',
          description:
            'Every domain of the node with its state, size and CPU use; OpenStack guests also with their Nova name, project and flavor.',
          queries: [
            { expr: `libvirt_domain_info_state{${S}}` },
            { expr: `libvirt_domain_info_virtual_cpus{${S}}` },
            { expr: `libvirt_domain_info_maximum_memory_bytes{${S}}` },
            { expr: `sum by (domain) (${rate('libvirt_domain_info_cpu_time_seconds_total')})` },
            { expr: `libvirt_domain_openstack_info{${S}}` },
          ],
          joinOn: 'domain',
          columns: {
            domain: 'Domain',
            state_desc: 'State',
            'Value #B': 'vCPUs',
            'Value #C': 'Memory',
            'Value #D': 'CPU (cores)',
            instance_name: 'Nova name',
            project_name: 'Project',
            flavor_name: 'Flavor',
            instance_id: 'Instance ID',
          },
          // A guest opens the instance dashboard (OpenStack guests: the chain project, name, ID of
          // that dashboard), a project the project dashboard.
          links: {
            instance_name: [INSTANCE_LINK],
            domain: [INSTANCE_LINK],
            project_name: [
              {
                title: 'Project ${__data.fields["Project"]}',
                url: dashboardUrl('libvirt-project', { project: cell('Project') }),
              },
            ],
          },
          h: 10,
        }),
      ]),
      // Pressure stall information of each guest's cgroup (the pressure collector): which guest waits
      // for CPU, memory or I/O on this host right now.
      row('Who is starved', [
        timeseries({
          title: 'Top guests waiting for CPU',
          description:
            "Share of time at least one task of the guest's QEMU waited for CPU on the host (PSI \"some\" of its cgroup). 1 = waiting all the time. The ten most starved guests; empty where the host's cgroup v2 files are not readable.",
          queries: [
            {
              expr: `topk(10, ${rate('libvirt_domain_pressure_cpu_waiting_seconds_total')})`,
              legend: '{{domain}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Top guests waiting for memory',
          description:
            "Share of time at least one task of the guest's QEMU waited for memory on the host (PSI \"some\" of its cgroup). 1 = waiting all the time. The ten most starved guests; empty where the host's cgroup v2 files are not readable.",
          queries: [
            {
              expr: `topk(10, ${rate('libvirt_domain_pressure_memory_waiting_seconds_total')})`,
              legend: '{{domain}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Top guests waiting for I/O',
          description:
            "Share of time at least one task of the guest's QEMU waited for I/O on the host (PSI \"some\" of its cgroup). 1 = waiting all the time. The ten most starved guests; empty where the host's cgroup v2 files are not readable.",
          queries: [
            {
              expr: `topk(10, ${rate('libvirt_domain_pressure_io_waiting_seconds_total')})`,
              legend: '{{domain}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Guests throttled by their CPU quota',
          description:
            "Share of time each guest's QEMU was throttled by its CPU quota (cpu.stat of its cgroup; only guests whose flavor sets quota:cpu_quota).",
          queries: [
            {
              expr: `topk(10, ${rate('libvirt_domain_cpu_throttled_seconds_total')})`,
              legend: '{{domain}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          legendTable: true,
        }),
      ]),
      row('Exporter', [
        timeseries({
          title: 'Scrape duration',
          description:
            "How long Prometheus' scrape took, and the part of it spent in libvirt (the shared inspection).",
          queries: [
            { expr: `scrape_duration_seconds{${S}}`, legend: 'scrape' },
            {
              expr: `libvirt_scrape_collector_duration_seconds{${S}, collector="inspection"}`,
              legend: 'libvirt inspection',
            },
          ],
          unit: 's',
          min: 0,
          w: 8,
        }),
        timeseries({
          title: 'Guests skipped',
          description:
            'Running guests whose stats were partial or missing in a scrape, by reason (busy: a libvirt job held them; timeout; error).',
          queries: [{ expr: `libvirt_scrape_domains_skipped{${S}}`, legend: '{{reason}}' }],
          min: 0,
          decimals: 0,
          w: 8,
        }),
        stat({
          title: 'Domain states',
          description: 'Numeric state of each guest, as libvirt reports it.',
          queries: [{ expr: `libvirt_domain_info_state{${S}}`, legend: '{{domain}}' }],
          mappings: DOMAIN_STATE_MAPPINGS,
          text: 'value_and_name',
          colorMode: 'background',
          w: 8,
          h: 8,
        }),
      ]),
    ],
  });
}
