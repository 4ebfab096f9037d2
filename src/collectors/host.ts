// SPDX-License-Identifier: Apache-2.0
import { valueOf } from '../meters/family.ts';
import { hostFamilies } from '../meters/host.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { familySpec } from '../scrape/metric-sink.ts';

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
    sink.add(
      familySpec(hostFamilies.info),
      {
        hostname: h.hostname,
        cpu_model: h.cpuModel,
        hypervisor_type: h.hypervisorType,
        hypervisor_version: version(h.hypervisorVersion),
        libvirt_version: version(h.libvirtVersion),
      },
      1,
    );
    for (const f of hostFamilies.values) sink.add(familySpec(f), {}, valueOf(f, h));
  },
};
