// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The samples of one meter for one cycle, as the real compute agent's pollsters yield them: one per
 * subject with a volume, with the per-device resource ids and extra metadata keys of
 * compute/pollsters/disk.py and net.py. Typed {@link Sample}s: the publisher formats them as signed
 * sample dicts (message.ts), the `ceilometer` collector serves them as gauges.
 */
import type { Instance } from '../inspector/types.ts';
import type { CycleInput, InstanceSubjects, Nic } from './cycle.ts';
import type { DiscoveredInstance } from './discovery.ts';
import { monotonicSeconds } from './ids.ts';
import type { PyDict } from './python-format.ts';
import type { ComputeMeter, CycleState, MeterScope, MeterSubjectOf, Sample } from './types.ts';

/** The NIC metadata keys and resource id of compute/pollsters/net.py `NetworkPollster`. */
function nicIdentity(instance: Instance, nic: Nic): { resourceId: string; extra: PyDict } {
  const fref = nic.filterRef?.filter ?? null;
  const parameters: PyDict = {};
  // Parameter names come from the domain XML: own properties whatever the name (`__proto__` included).
  for (const [k, v] of Object.entries(nic.filterRef?.parameters ?? {})) {
    Object.defineProperty(parameters, k.toLowerCase(), {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  parameters.interfaceid = nic.interfaceId ?? null;
  parameters.bridge = nic.sourceBridge ?? null;
  return {
    resourceId: fref ?? `${instance.name}-${instance.uuid}-${nic.targetDev}`,
    extra: { name: nic.targetDev, mac: nic.mac, fref, parameters, vnic_name: fref ?? nic.targetDev },
  };
}

/** Where a sample belongs: its resource, the meter's own metadata keys, and its monotonic time. */
interface Placement {
  readonly resourceId: string;
  readonly extra?: PyDict | undefined;
  readonly monotonicTime: number;
}

/**
 * The sample of a meter on one subject, or undefined when there is no finite volume (Ceilometer's
 * NoVolumeException). Beyond 2^53 an integer volume carries libvirt's exact integer too.
 */
function sampleOf<S extends MeterScope>(
  meter: ComputeMeter<S>,
  d: DiscoveredInstance,
  subject: MeterSubjectOf[S],
  state: CycleState,
  at: Placement,
): Sample | undefined {
  const volume = meter.volume(subject, state);
  if (volume === undefined || !Number.isFinite(volume)) return undefined;
  // NOTE: an int meter cannot have a fraction from libvirt; if one ever does, it is a Python float.
  const float = meter.float || !Number.isInteger(volume);
  let exactVolume: bigint | undefined;
  if (!float && !Number.isSafeInteger(volume)) {
    const exact = meter.exact?.(subject);
    if (exact !== undefined && Number(exact) === volume) exactVolume = exact;
  }
  return {
    name: meter.name,
    type: meter.type,
    unit: meter.unit,
    volume,
    float,
    ...(exactVolume !== undefined ? { exactVolume } : {}),
    userId: d.userId,
    projectId: d.projectId,
    resourceId: at.resourceId,
    metadata: { ...d.metadata, ...at.extra },
    monotonicTime: at.monotonicTime,
  };
}

/** The samples of a meter on one instance's subjects. */
function instanceSamples(
  meter: ComputeMeter,
  s: InstanceSubjects,
  cycle: CycleInput,
): (Sample | undefined)[] {
  const d = s.discovered;
  const uuid = d.instance.uuid;
  const mono = cycle.monotonicTime;
  switch (meter.scope) {
    case 'domain': {
      if (!s.domain) return [];
      const extra = meter.name === 'cpu' ? { cpu_number: s.domain.stats.vcpuCurrent ?? null } : undefined;
      const m = meter as ComputeMeter<'domain'>;
      return [sampleOf(m, d, s.domain, cycle.state, { resourceId: uuid, extra, monotonicTime: mono })];
    }
    case 'disk':
      return s.disks.map((disk) =>
        sampleOf(meter as ComputeMeter<'disk'>, d, disk, cycle.state, {
          resourceId: `${uuid}-${disk.block.name}`,
          extra: { disk_name: disk.block.name },
          monotonicTime: mono,
        }),
      );
    case 'vnic':
      return s.vnics.map((vnic) => {
        const id = nicIdentity(d.instance, vnic.nic);
        return sampleOf(meter as ComputeMeter<'vnic'>, d, vnic, cycle.state, {
          resourceId: id.resourceId,
          extra: id.extra,
          monotonicTime: mono,
        });
      });
    case 'instance':
      // InstanceMetadataPollster: no inspection, every discovered instance, monotonic time of its own.
      return [
        sampleOf(meter as ComputeMeter<'instance'>, d, { instance: d.instance }, cycle.state, {
          resourceId: uuid,
          monotonicTime: monotonicSeconds(),
        }),
      ];
  }
}

/** Every sample of one meter for one cycle, instance by instance in discovery order. */
export function meterSamples(meter: ComputeMeter, cycle: CycleInput): Sample[] {
  return cycle.subjects.flatMap((s) => instanceSamples(meter, s, cycle)).filter((x) => x !== undefined);
}
