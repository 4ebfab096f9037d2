// SPDX-License-Identifier: Apache-2.0
/** The instance dashboard: one OpenStack instance, chosen by project, name and ID. */
import type { Dashboard } from '@grafana/schema';

import {
  CLUSTER_VARIABLE,
  DOMAIN_STATE_MAPPINGS,
  JOB_VARIABLE,
  NODE,
  RATE,
  SCOPE,
  cell,
  dashboardUrl,
} from './common.ts';
import { dashboard, datasourceVariable, queryVariable, row, stat, table, timeseries } from './grafana.ts';

const D = `${SCOPE}, instance="$${NODE}", domain="$domain"`;
const rate = (metric: string): string => `rate(${metric}{${D}}[${RATE}])`;
/** Mean seconds per request, absent (not NaN) while the disk is idle. */
const latency = (op: 'read' | 'write' | 'flush'): string =>
  `${rate(`libvirt_domain_block_stats_${op}_time_seconds_total`)} / (${rate(`libvirt_domain_block_stats_${op}_requests_total`)} > 0)`;
const INFO = `libvirt_domain_openstack_info{${SCOPE}`;

/** The instance dashboard (uid `libvirt-instance`). */
export function instanceDashboard(): Dashboard {
  return dashboard({
    uid: 'libvirt-instance',
    title: 'libvirt / Instance',
    description:
      'One OpenStack instance, chosen by project, name and ID (the compute node and libvirt domain follow from the Nova metadata): its state and size, CPU and per-vCPU time and steal, memory inside and outside the guest, IOPS, throughput and latency of each disk, and traffic, errors and drops of each vNIC.',
    variables: [
      datasourceVariable(),
      CLUSTER_VARIABLE,
      JOB_VARIABLE,
      queryVariable({
        name: 'project',
        label: 'Project',
        description: 'OpenStack project (libvirt_domain_openstack_info project_name).',
        query: `label_values(${INFO}}, project_name)`,
      }),
      queryVariable({
        name: 'server',
        label: 'Instance name',
        description: 'Nova instance name in the project (not unique: the ID chooses).',
        query: `label_values(${INFO}, project_name="$project"}, instance_name)`,
      }),
      queryVariable({
        name: 'instance_id',
        label: 'Instance ID',
        description: 'Nova instance UUID.',
        query: `label_values(${INFO}, project_name="$project", instance_name="$server"}, instance_id)`,
      }),
      queryVariable({
        name: NODE,
        label: 'Compute node',
        description: 'The exporter (Prometheus instance label) that reports the instance.',
        query: `label_values(${INFO}, instance_id="$instance_id"}, instance)`,
      }),
      queryVariable({
        name: 'domain',
        label: 'Domain',
        description: 'The libvirt domain of the instance on that node (instance-XXXXXXXX).',
        query: `label_values(${INFO}, instance_id="$instance_id", instance="$node"}, domain)`,
      }),
    ],
    rows: [
      row('Overview', [
        stat({
          title: 'State',
          description: 'libvirt domain state.',
          queries: [{ expr: `libvirt_domain_info_state{${D}}` }],
          mappings: DOMAIN_STATE_MAPPINGS,
          colorMode: 'background',
          w: 3,
        }),
        stat({
          title: 'vCPUs',
          description: 'vCPUs of the domain.',
          queries: [{ expr: `libvirt_domain_info_virtual_cpus{${D}}` }],
          colorMode: 'none',
          w: 2,
        }),
        stat({
          title: 'Memory',
          description: 'Maximum memory of the domain.',
          queries: [{ expr: `libvirt_domain_info_maximum_memory_bytes{${D}}` }],
          unit: 'bytes',
          colorMode: 'none',
          w: 3,
        }),
        stat({
          title: 'Disks',
          description: 'Disks attached to the domain.',
          queries: [{ expr: `count(libvirt_domain_block_stats_info{${D}})` }],
          colorMode: 'none',
          w: 2,
        }),
        stat({
          title: 'vNICs',
          description: 'Network interfaces of the domain.',
          queries: [{ expr: `count(libvirt_domain_interface_stats_info{${D}})` }],
          colorMode: 'none',
          w: 2,
        }),
        table({
          title: 'Identity',
          description: 'Nova metadata of the instance (libvirt_domain_openstack_info).',
          queries: [{ expr: `libvirt_domain_openstack_info{${D}}` }],
          columns: {
            instance_name: 'Name',
            flavor_name: 'Flavor',
            project_name: 'Project',
            user_name: 'User',
            instance: 'Compute node',
            domain: 'Domain',
          },
          links: {
            project_name: [
              {
                title: 'Project ${__data.fields["Project"]}',
                url: dashboardUrl('libvirt-project', { project: cell('Project') }),
              },
            ],
            instance: [
              {
                title: 'Compute node ${__data.fields["Compute node"]}',
                url: dashboardUrl('libvirt-compute-node', { [NODE]: cell('Compute node') }),
              },
            ],
          },
          w: 12,
          h: 4,
        }),
      ]),
      row('CPU', [
        timeseries({
          title: 'CPU utilisation',
          description:
            "CPU time of the domain per allocated vCPU (Ceilometer's cpu_util as a ratio), split into user and system time on the host.",
          queries: [
            {
              expr: `sum(${rate('libvirt_domain_info_cpu_time_seconds_total')}) / sum(libvirt_domain_info_virtual_cpus{${D}})`,
              legend: 'total',
            },
            {
              expr: `sum(${rate('libvirt_domain_cpu_user_seconds_total')}) / sum(libvirt_domain_info_virtual_cpus{${D}})`,
              legend: 'user',
            },
            {
              expr: `sum(${rate('libvirt_domain_cpu_system_seconds_total')}) / sum(libvirt_domain_info_virtual_cpus{${D}})`,
              legend: 'system',
            },
          ],
          unit: 'percentunit',
          min: 0,
        }),
        timeseries({
          title: 'Per-vCPU time',
          description: 'Share of time each vCPU ran on a host CPU.',
          queries: [{ expr: rate('libvirt_domain_vcpu_time_seconds_total'), legend: 'vCPU {{vcpu}}' }],
          unit: 'percentunit',
          min: 0,
        }),
        timeseries({
          title: 'Per-vCPU steal',
          description:
            'Share of time each vCPU was ready to run but waited for a host CPU (vcpu.N.delay): what the guest sees as steal.',
          queries: [{ expr: rate('libvirt_domain_vcpu_delay_seconds_total'), legend: 'vCPU {{vcpu}}' }],
          unit: 'percentunit',
          min: 0,
        }),
        timeseries({
          title: 'Per-vCPU wait',
          description: 'Share of time each vCPU waited on I/O outside the guest (vcpu.N.wait).',
          queries: [{ expr: rate('libvirt_domain_vcpu_wait_seconds_total'), legend: 'vCPU {{vcpu}}' }],
          unit: 'percentunit',
          min: 0,
        }),
      ]),
      row('Memory', [
        timeseries({
          title: 'Memory',
          description:
            'Maximum and balloon memory of the domain, what the guest OS sees as total, used and page cache (needs the virtio balloon driver with a stats period), and the resident memory of its QEMU process on the host.',
          queries: [
            { expr: `libvirt_domain_info_maximum_memory_bytes{${D}}`, legend: 'maximum' },
            { expr: `libvirt_domain_memory_stats_current_balloon_bytes{${D}}`, legend: 'balloon' },
            { expr: `libvirt_domain_memory_stats_available_bytes{${D}}`, legend: 'guest total' },
            { expr: `libvirt_domain_memory_stats_used_bytes{${D}}`, legend: 'guest used' },
            { expr: `libvirt_domain_memory_stats_disk_caches_bytes{${D}}`, legend: 'guest page cache' },
            { expr: `libvirt_domain_memory_stats_rss_bytes{${D}}`, legend: 'QEMU resident on host' },
          ],
          unit: 'bytes',
          min: 0,
        }),
        timeseries({
          title: 'Guest memory used',
          description:
            'Share of its memory the guest OS uses (total minus available), from the balloon driver.',
          queries: [{ expr: `libvirt_domain_memory_stats_used_ratio{${D}}`, legend: 'used' }],
          unit: 'percentunit',
          min: 0,
          max: 1,
        }),
        timeseries({
          title: 'Swap activity',
          description: 'Memory the guest OS swaps in and out per second.',
          queries: [
            { expr: rate('libvirt_domain_memory_stats_swap_in_bytes_total'), legend: 'swap in' },
            { expr: rate('libvirt_domain_memory_stats_swap_out_bytes_total'), legend: 'swap out' },
          ],
          unit: 'Bps',
          negativeY: 'out',
        }),
        timeseries({
          title: 'Page faults',
          description: 'Page faults per second in the guest: major ones needed disk I/O.',
          queries: [
            { expr: rate('libvirt_domain_memory_stats_major_fault_total'), legend: 'major' },
            { expr: rate('libvirt_domain_memory_stats_minor_fault_total'), legend: 'minor' },
          ],
          unit: 'short',
          min: 0,
        }),
      ]),
      row('Disks', [
        timeseries({
          title: 'IOPS',
          description: 'Read and write requests per second of each disk (writes below the axis).',
          queries: [
            {
              expr: rate('libvirt_domain_block_stats_read_requests_total'),
              legend: '{{target_device}} read',
            },
            {
              expr: rate('libvirt_domain_block_stats_write_requests_total'),
              legend: '{{target_device}} write',
            },
          ],
          unit: 'iops',
          negativeY: 'write$',
        }),
        timeseries({
          title: 'Throughput',
          description: 'Bytes read and written per second of each disk (writes below the axis).',
          queries: [
            { expr: rate('libvirt_domain_block_stats_read_bytes_total'), legend: '{{target_device}} read' },
            { expr: rate('libvirt_domain_block_stats_write_bytes_total'), legend: '{{target_device}} write' },
          ],
          unit: 'Bps',
          negativeY: 'write$',
        }),
        timeseries({
          title: 'Latency',
          description:
            'Mean time per read, write and flush request of each disk (shown while the disk does that I/O).',
          queries: [
            { expr: latency('read'), legend: '{{target_device}} read' },
            { expr: latency('write'), legend: '{{target_device}} write' },
            { expr: latency('flush'), legend: '{{target_device}} flush' },
          ],
          unit: 's',
          min: 0,
        }),
        timeseries({
          title: 'Disk size',
          description:
            'Size of each disk as the guest sees it (capacity), the highest allocated extent of its image (allocation) and the size of the image on the host (physical).',
          queries: [
            { expr: `libvirt_domain_block_stats_capacity_bytes{${D}}`, legend: '{{target_device}} capacity' },
            {
              expr: `libvirt_domain_block_stats_allocation_bytes{${D}}`,
              legend: '{{target_device}} allocation',
            },
            { expr: `libvirt_domain_block_stats_physical_bytes{${D}}`, legend: '{{target_device}} physical' },
          ],
          unit: 'bytes',
          min: 0,
        }),
      ]),
      // The guest's own filesystems, from its QEMU guest agent (the opt-in guest_agent collector).
      row('Guest filesystems', [
        timeseries({
          title: 'Filesystem use (guest agent)',
          description:
            'Used share of each filesystem mounted in the guest, as its QEMU guest agent reports it. Empty when the guest has no agent or the guest_agent collector is off.',
          queries: [
            {
              expr: `libvirt_domain_filesystem_used_bytes{${D}} / (libvirt_domain_filesystem_size_bytes{${D}} > 0)`,
              legend: '{{mountpoint}} ({{fstype}} on {{device}})',
            },
          ],
          unit: 'percentunit',
          min: 0,
          max: 1,
          legendTable: true,
        }),
        timeseries({
          title: 'Filesystem size and use (guest agent)',
          description: 'Size and used bytes of each filesystem mounted in the guest (QEMU guest agent).',
          queries: [
            {
              expr: `libvirt_domain_filesystem_size_bytes{${D}}`,
              legend: 'size {{mountpoint}}',
            },
            {
              expr: `libvirt_domain_filesystem_used_bytes{${D}}`,
              legend: 'used {{mountpoint}}',
            },
          ],
          unit: 'bytes',
          min: 0,
          legendTable: true,
        }),
        timeseries({
          title: 'Events',
          description:
            'Lifecycle, I/O error and watchdog events of the guest in each interval (libvirt events counted by the exporter): crashes, pauses on I/O errors, restarts.',
          queries: [
            {
              expr: `sum by (event, detail) (increase(libvirt_domain_events_total{${D}}[${RATE}])) > 0`,
              legend: '{{event}} {{detail}}',
            },
          ],
          unit: 'short',
          min: 0,
          legendTable: true,
        }),
      ]),
      row('Network', [
        timeseries({
          title: 'Traffic',
          description:
            'Bytes received and transmitted per second by the guest on each vNIC (transmit below the axis).',
          queries: [
            {
              expr: rate('libvirt_domain_interface_stats_receive_bytes_total'),
              legend: '{{target_device}} receive',
            },
            {
              expr: rate('libvirt_domain_interface_stats_transmit_bytes_total'),
              legend: '{{target_device}} transmit',
            },
          ],
          unit: 'Bps',
          negativeY: 'transmit$',
        }),
        timeseries({
          title: 'Packets',
          description: 'Packets received and transmitted per second on each vNIC (transmit below the axis).',
          queries: [
            {
              expr: rate('libvirt_domain_interface_stats_receive_packets_total'),
              legend: '{{target_device}} receive',
            },
            {
              expr: rate('libvirt_domain_interface_stats_transmit_packets_total'),
              legend: '{{target_device}} transmit',
            },
          ],
          unit: 'pps',
          negativeY: 'transmit$',
        }),
        timeseries({
          title: 'Errors',
          description: 'Packet errors per second on each vNIC, receive and transmit (zero when healthy).',
          queries: [
            {
              expr: rate('libvirt_domain_interface_stats_receive_errors_total'),
              legend: '{{target_device}} receive',
            },
            {
              expr: rate('libvirt_domain_interface_stats_transmit_errors_total'),
              legend: '{{target_device}} transmit',
            },
          ],
          unit: 'pps',
          min: 0,
        }),
        timeseries({
          title: 'Drops',
          description: 'Packets dropped per second on each vNIC, receive and transmit.',
          queries: [
            {
              expr: rate('libvirt_domain_interface_stats_receive_drops_total'),
              legend: '{{target_device}} receive',
            },
            {
              expr: rate('libvirt_domain_interface_stats_transmit_drops_total'),
              legend: '{{target_device}} transmit',
            },
          ],
          unit: 'pps',
          min: 0,
        }),
      ]),
    ],
  });
}
