// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';

function version(v: number): string {
  return `${Math.floor(v / 1e6)}.${Math.floor((v % 1e6) / 1e3)}.${v % 1e3}`;
}

/** The host collector: the compute host's capacity and versions, for overcommit views. */
export const hostCollector: CollectorDefinition<'host'> = {
  name: 'host',
  enabledByDefault: true,
  description: 'Host CPUs and memory, libvirt and hypervisor versions.',
  groups: [],
  async update(ctx, sink) {
    const h = await ctx.inspector.hostInfo({ signal: ctx.signal });
    const g = (name: string, help: string, labelNames: readonly string[] = []) =>
      ({ name, help, type: 'gauge', labelNames }) as const;
    const info = g(
      'libvirt_host_info',
      'Compute host identity from libvirt (hostname, CPU model, versions): value 1.',
      ['hostname', 'cpu_model', 'hypervisor_type', 'hypervisor_version', 'libvirt_version'],
    );
    sink.add(
      info,
      {
        hostname: h.hostname,
        cpu_model: h.cpuModel,
        hypervisor_type: h.hypervisorType,
        hypervisor_version: version(h.hypervisorVersion),
        libvirt_version: version(h.libvirtVersion),
      },
      1,
    );
    sink.add(g('libvirt_host_cpus', 'Active host CPUs, libvirt nodeinfo cpus.'), {}, h.cpus);
    sink.add(
      g('libvirt_host_cpu_sockets', 'CPU sockets per NUMA node, libvirt nodeinfo sockets.'),
      {},
      h.sockets,
    );
    sink.add(g('libvirt_host_cpu_cores', 'Cores per socket, libvirt nodeinfo cores.'), {}, h.cores);
    sink.add(g('libvirt_host_cpu_threads', 'Threads per core, libvirt nodeinfo threads.'), {}, h.threads);
    sink.add(g('libvirt_host_numa_nodes', 'NUMA nodes, libvirt nodeinfo nodes.'), {}, h.nodes);
    sink.add(
      g('libvirt_host_cpu_frequency_hertz', 'Expected CPU frequency, libvirt nodeinfo mhz converted to Hz.'),
      {},
      h.mhz * 1e6,
    );
    sink.add(
      g('libvirt_host_memory_bytes', 'Memory of the host, libvirt nodeinfo memory converted from KiB.'),
      {},
      h.memoryKiB * 1024,
    );
  },
};
