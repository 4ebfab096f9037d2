// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Ceilometer master's `[compute] report_stopped_instance_metrics` (commit "Report minimal metrics for
 * stopped (SHUTOFF) VMs", ceilometer/compute/virt/libvirt/inspector.py): for a SHUTOFF domain,
 * `inspect_instance` returns only power_state, cpu_number (virDomainGetInfo nrVirtCpu) and
 * memory_actual (virDomainGetInfo maxMem, KiB → MiB), and `inspect_disk_info` runs virDomainGetBlockInfo
 * on its disks. So the pollsters that read those produce samples: power.state, vcpus, memory,
 * disk.device.capacity, disk.device.allocation and disk.device.usage (the release note lists five;
 * disk.device.allocation comes from the same inspect_disk_info call and is sent as well). Every
 * runtime meter (cpu, memory.usage, disk and network I/O) still skips stopped instances.
 *
 * Here a stopped instance gets a stand-in domain subject with exactly those values (its XML's
 * `<memory>` and vCPU count are what virDomainGetInfo answers for an inactive domain) and its disks'
 * block info, used only for the meters above.
 */
import type { BlockStats, DomainStats, Inspector } from '../inspector/types.ts';
import type { DiskSubject, DomainSubject } from '../meters/table.ts';
import type { CycleInput } from './cycle.ts';
import { diskOf } from '../inspector/devices.ts';

/** The meters Ceilometer master sends for a stopped instance when the option is on. */
export const STOPPED_INSTANCE_METERS: ReadonlySet<string> = new Set([
  'power.state',
  'vcpus',
  'memory',
  'disk.device.capacity',
  'disk.device.allocation',
  'disk.device.usage',
]);

/**
 * The cycle with a stand-in subject for every stopped (shut-off) instance: build the samples of the
 * {@link STOPPED_INSTANCE_METERS} from it, and every other meter from `cycle` itself.
 */
export function withStoppedInstances(
  cycle: CycleInput,
  stoppedDisks: ReadonlyMap<string, readonly BlockStats[]>,
): CycleInput {
  const subjects = cycle.subjects.map((s) => {
    const instance = s.discovered.instance;
    if (s.domain !== undefined || instance.state !== 'shutoff') return s;
    const blocks = stoppedDisks.get(instance.uuid) ?? [];
    const stats: DomainStats = {
      uuid: instance.uuid,
      name: instance.name,
      id: -1,
      stateCode: instance.stateCode,
      ...(instance.vcpus !== undefined ? { vcpuCurrent: instance.vcpus } : {}),
      ...(instance.maxMemoryKiB !== undefined ? { balloon: { currentKiB: instance.maxMemoryKiB } } : {}),
      vcpus: [],
      interfaces: [],
      blocks,
      perf: {},
      raw: new Map(),
    };
    const domain: DomainSubject = { instance, stats };
    const disks: DiskSubject[] = [];
    for (const block of blocks) {
      const disk = diskOf(instance, block.name);
      if (disk !== undefined) disks.push({ ...domain, block, disk });
    }
    return { ...s, domain, disks, vnics: [] };
  });
  return { ...cycle, subjects };
}

/**
 * The stopped-instance cycle when the option is on and some discovered instance is shut off (their
 * disks read through the inspector), else undefined.
 */
export async function stoppedCycle(
  enabled: boolean,
  inspector: Pick<Inspector, 'stoppedDisks'>,
  cycle: CycleInput,
  signal: AbortSignal | undefined,
): Promise<CycleInput | undefined> {
  if (!enabled || inspector.stoppedDisks === undefined) return undefined;
  const stopped = cycle.subjects.map((s) => s.discovered.instance).filter((i) => i.state === 'shutoff');
  if (stopped.length === 0) return undefined;
  const disks = await inspector.stoppedDisks(stopped, signal ? { signal } : {});
  return withStoppedInstances(cycle, disks);
}
