// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Ceilometer samples from one inspection, built as the real compute agent builds them: instance
 * discovery from the Nova metadata (compute/discovery.py `discover_libvirt_polling`), the
 * resource_metadata (compute/pollsters/util.py `_get_metadata_from_object`), per-device resource ids
 * and extra keys (pollsters/disk.py, pollsters/net.py) and the sample dict in
 * `meter_message_from_counter`'s key order, signed.
 */
import { createHash } from 'node:crypto';

import type { DomainStateName, DomainStats, Inspection, Instance, Vnic } from '../inspector/types.ts';
import { type DiskSubject, type DomainSubject, meterTable, type VnicSubject } from '../meters/table.ts';
import { monotonicSeconds, nowMicros, pyIsoformat } from './ids.ts';
import { type CycleState, type PublisherMeter, type PublisherSubjectOf, vnicByteCounters } from './meters.ts';
import { type PyDict, PyFloat } from './python-format.ts';
import { computeSignature } from './signature.ts';
import { diskOf, vnicOf } from '../inspector/devices.ts';

/** Nova's status guessed from the libvirt state (compute/virt/libvirt/utils.py LIBVIRT_STATUS). */
const STATUS: Readonly<Record<DomainStateName, string>> = {
  nostate: 'building',
  running: 'active',
  blocked: 'active',
  paused: 'paused',
  shutdown: 'stopped',
  shutoff: 'stopped',
  crashed: 'error',
  pmsuspended: 'suspended',
};

/** Nova's vm_state guessed from the libvirt state (LIBVIRT_POWER_STATE). */
const POWER_STATE: Readonly<Record<DomainStateName, string>> = {
  nostate: 'pending',
  running: 'running',
  blocked: 'running',
  paused: 'paused',
  shutdown: 'shutdown',
  shutoff: 'shutdown',
  crashed: 'crashed',
  pmsuspended: 'suspended',
};

/** An instance Ceilometer would discover: Nova metadata complete enough to build its metadata. */
export interface DiscoveredInstance {
  readonly instance: Instance;
  readonly userId: string;
  readonly projectId: string;
  /** The resource_metadata shared by every sample of the instance (copied before per-meter keys are added). */
  readonly metadata: PyDict;
}

/** A domain left out of discovery, and why (logged by the publisher). */
export interface UndiscoveredDomain {
  readonly uuid: string;
  readonly name: string;
  /** `no-nova-metadata` is normal (not an OpenStack guest); the others mean incomplete metadata. */
  readonly reason: 'no-nova-metadata' | 'incomplete-nova-metadata';
  readonly detail?: string;
}

/** What discovery needs besides the inspection. */
export interface DiscoveryOptions {
  /** `[DEFAULT] host`: instance_host and the input of the host hash. */
  readonly host: string;
  /** Flavor name → id, when the Nova metadata has no flavor id. */
  readonly flavorIds: Readonly<Record<string, string>>;
}

/** Nova's `hostId`: sha224(project id + host), hex (what Ceilometer puts in metadata `host`). */
export function novaHostId(projectId: string, host: string): string {
  return createHash('sha224').update(`${projectId}${host}`, 'utf8').digest('hex');
}

/**
 * Discovers the instances of an inspection as `discover_libvirt_polling` does: domains without Nova
 * metadata are skipped silently; a domain whose metadata lacks the name, flavor, owner or the
 * architecture is skipped (Ceilometer logs an error and skips it too).
 */
export function discoverInstances(
  inspection: Inspection,
  options: DiscoveryOptions,
): { discovered: DiscoveredInstance[]; undiscovered: UndiscoveredDomain[] } {
  const discovered: DiscoveredInstance[] = [];
  const undiscovered: UndiscoveredDomain[] = [];
  for (const instance of inspection.instances) {
    const nova = instance.nova;
    if (!nova) {
      undiscovered.push({ uuid: instance.uuid, name: instance.name, reason: 'no-nova-metadata' });
      continue;
    }
    const missing: string[] = [];
    if (nova.displayName === undefined) missing.push('name');
    if (nova.flavor?.name === undefined) missing.push('flavor name');
    if (nova.userId === undefined) missing.push('owner user uuid');
    if (nova.projectId === undefined) missing.push('owner project uuid');
    if (instance.osArch === undefined) missing.push('os type arch');
    const flavor = nova.flavor;
    if (missing.length > 0 || !flavor?.name || nova.userId === undefined || nova.projectId === undefined) {
      undiscovered.push({
        uuid: instance.uuid,
        name: instance.name,
        reason: 'incomplete-nova-metadata',
        detail: `missing ${missing.join(', ')}`,
      });
      continue;
    }
    const flavorDict: PyDict = {
      // NOTE: Nova writes the flavor id into the metadata since 2025.2; before, the real agent asks
      // the Nova API (flavors.find(name)) and falls back to the name when Nova does not know it.
      id: flavor.id ?? options.flavorIds[flavor.name] ?? flavor.name,
      name: flavor.name,
      vcpus: flavor.vcpus ?? 0,
      ram: flavor.memoryMiB ?? 0,
      disk: flavor.diskGiB ?? 0,
      ephemeral: flavor.ephemeralGiB ?? 0,
      swap: flavor.swapMiB ?? 0,
    };
    const imageId = nova.rootType === 'image' ? nova.rootUuid : undefined;
    // Key order as _get_metadata_from_object builds it (and as captured on the wire).
    const metadata: PyDict = {
      display_name: nova.displayName ?? null,
      name: instance.name,
      instance_id: instance.uuid,
      instance_type: flavor.name,
      host: novaHostId(nova.projectId, options.host),
      instance_host: options.host,
      flavor: flavorDict,
      status: STATUS[instance.state],
      state: POWER_STATE[instance.state],
      task_state: '',
      image: imageId === undefined ? null : { id: imageId },
      image_ref: imageId ?? null,
      image_ref_url: null,
      architecture: instance.osArch ?? null,
      os_type: instance.osType ?? null,
      vcpus: flavorDict.vcpus ?? 0,
      memory_mb: flavorDict.ram ?? 0,
      disk_gb: flavorDict.disk ?? 0,
      ephemeral_gb: flavorDict.ephemeral ?? 0,
      root_gb: (flavor.diskGiB ?? 0) - (flavor.ephemeralGiB ?? 0),
    };
    discovered.push({ instance, userId: nova.userId, projectId: nova.projectId, metadata });
  }
  return { discovered, undiscovered };
}

/** A NIC as the real inspector enumerates it: `<interface>` entries with both a target dev and a MAC. */
function nicOf(instance: Instance, tap: string): (Vnic & { targetDev: string; mac: string }) | undefined {
  const v = vnicOf(instance, tap);
  return v?.targetDev !== undefined && v.mac !== undefined
    ? (v as Vnic & { targetDev: string; mac: string })
    : undefined;
}

/** The NIC metadata keys and resource id of compute/pollsters/net.py `NetworkPollster`. */
function nicIdentity(
  instance: Instance,
  vnic: Vnic & { targetDev: string; mac: string },
): { resourceId: string; extra: PyDict } {
  const fref = vnic.filterRef?.filter ?? null;
  const parameters: PyDict = {};
  // Parameter names come from the domain XML: own properties whatever the name (`__proto__` included).
  for (const [k, v] of Object.entries(vnic.filterRef?.parameters ?? {})) {
    Object.defineProperty(parameters, k.toLowerCase(), {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  parameters.interfaceid = vnic.interfaceId ?? null;
  parameters.bridge = vnic.sourceBridge ?? null;
  return {
    resourceId: fref ?? `${instance.name}-${instance.uuid}-${vnic.targetDev}`,
    extra: { name: vnic.targetDev, mac: vnic.mac, fref, parameters, vnic_name: fref ?? vnic.targetDev },
  };
}

/** One instance's running-domain subjects for a cycle (nothing for shut-off or stat-less domains). */
interface InstanceSubjects {
  readonly discovered: DiscoveredInstance;
  readonly domain: DomainSubject | undefined;
  readonly disks: readonly DiskSubject[];
  readonly vnics: readonly (VnicSubject & { readonly nic: Vnic & { targetDev: string; mac: string } })[];
}

/** Everything a cycle's meters read: the subjects of every discovered instance, and the cycle state. */
export interface CycleInput {
  readonly subjects: readonly InstanceSubjects[];
  readonly state: CycleState;
  /** `time.monotonic()` right after the inspection (every stats meter of the cycle shares it). */
  readonly monotonicTime: number;
}

/**
 * Keeps the previous byte counters of each vNIC (by tap name, as the real inspector's cache) and
 * turns the current ones into deltas: 0 on the first poll, the counter itself when it went down.
 */
export class VnicDeltaTracker {
  readonly #previous = new Map<string, { rx: number | undefined; tx: number | undefined }>();

  /** Computes this cycle's deltas and remembers the counters for the next one. */
  update(vnics: readonly VnicSubject[]): Map<string, { rx: number; tx: number }> {
    const out = new Map<string, { rx: number; tx: number }>();
    for (const s of vnics) {
      const cur = vnicByteCounters(s);
      const prev = this.#previous.get(s.iface.name);
      this.#previous.set(s.iface.name, cur);
      if (cur.rx === undefined || cur.tx === undefined) continue;
      if (!prev || prev.rx === undefined || prev.tx === undefined) {
        out.set(s.iface.name, { rx: 0, tx: 0 });
        continue;
      }
      const rx = cur.rx - prev.rx;
      const tx = cur.tx - prev.tx;
      out.set(s.iface.name, { rx: rx < 0 ? cur.rx : rx, tx: tx < 0 ? cur.tx : tx });
    }
    return out;
  }
}

/**
 * Prepares a cycle: the subjects of every discovered instance. Shut-off domains get no stats subjects
 * (Ceilometer's InstanceShutOffException); disks are the XML disks with a source; vNICs are the XML interfaces with a target dev and a MAC. `deltas` is updated only when
 * the cycle polls a vNIC meter, as the real inspector updates its cache only inside inspect_vnics.
 */
export function prepareCycle(
  inspection: Inspection,
  discovered: readonly DiscoveredInstance[],
  deltas: VnicDeltaTracker | undefined,
  monotonicTime = monotonicSeconds(),
): CycleInput {
  const subjects: InstanceSubjects[] = [];
  const allVnics: VnicSubject[] = [];
  for (const d of discovered) {
    const stats: DomainStats | undefined = inspection.stats.get(d.instance.uuid);
    if (!stats || d.instance.state === 'shutoff') {
      subjects.push({ discovered: d, domain: undefined, disks: [], vnics: [] });
      continue;
    }
    const domain: DomainSubject = { instance: d.instance, stats };
    const disks: DiskSubject[] = [];
    // NOTE: the inspector never asks for backing chains, so every block.<n> is a guest disk; those
    // without a <source> (empty CD-ROMs) are not in instance.disks and are skipped, as Ceilometer does.
    for (const block of stats.blocks) {
      const disk = diskOf(d.instance, block.name);
      if (!disk) continue;
      disks.push({ ...domain, block, disk });
    }
    const vnics: (VnicSubject & { nic: Vnic & { targetDev: string; mac: string } })[] = [];
    for (const iface of stats.interfaces) {
      const nic = nicOf(d.instance, iface.name);
      if (!nic) continue;
      const s = { ...domain, iface, vnic: nic, nic };
      vnics.push(s);
      allVnics.push(s);
    }
    subjects.push({ discovered: d, domain, disks, vnics });
  }
  const vnicDeltas = deltas ? deltas.update(allVnics) : new Map<string, { rx: number; tx: number }>();
  return { subjects, state: { vnicDeltas }, monotonicTime };
}

/** A raw typed parameter of the record as an exact integer (libvirt's 64-bit counters arrive as bigint). */
function rawInteger(stats: DomainStats, field: string): bigint | undefined {
  const v = stats.raw.get(field);
  if (typeof v === 'bigint') return v;
  return typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
}

/** Ceilometer's `cpu` ({@link ceilometerCpuNs} of the meter table) summed exactly. */
function exactCpuNs(stats: DomainStats): bigint | undefined {
  let total = 0n;
  let complete = 0;
  for (const v of stats.vcpus) {
    if (v.timeNs === undefined || v.waitNs === undefined) continue;
    const time = rawInteger(stats, `vcpu.${v.index}.time`);
    const wait = rawInteger(stats, `vcpu.${v.index}.wait`);
    if (time === undefined || wait === undefined) return undefined;
    total += time + wait;
    complete += 1;
  }
  if (complete > 0 && complete >= (stats.vcpuCurrent ?? 0)) return total;
  return rawInteger(stats, 'cpu.time');
}

/** Table rows by key, to find the libvirt field an integer meter reads. */
const ROWS = new Map(
  [...meterTable.domain, ...meterTable.disk, ...meterTable.vnic].map((r) => [`table:${r.key}`, r]),
);

/**
 * The exact value of an integer meter, read again from the record's raw typed parameters, where
 * libvirt's uint64 counters are bigint (issue 15, item 10). The inspector's records and the meter
 * table hold float64 numbers, which is what Prometheus needs; Ceilometer prints integer volumes as
 * Python ints, and real Ceilometer prints libvirt's exact value (2^64 − 1 as 18446744073709551615, not
 * 18446744073709551616). Only called for a volume beyond 2^53, where float64 may have rounded it.
 */
function exactVolume(
  meter: PublisherMeter,
  subject: DomainSubject | DiskSubject | VnicSubject,
): bigint | undefined {
  const stats = subject.stats;
  if (meter.origin === 'table:ceilometer_cpu') return exactCpuNs(stats);
  if ('block' in subject && meter.origin === 'table:disk_capacity_ceilometer') {
    const capacity = rawInteger(stats, `block.${subject.block.index}.capacity`);
    const physical = rawInteger(stats, `block.${subject.block.index}.physical`);
    if (capacity === undefined && physical === undefined) return undefined;
    const c = capacity ?? 0n;
    const p = physical ?? 0n;
    return c > p ? c : p;
  }
  if (meter.origin.startsWith('companion:perf.')) return rawInteger(stats, meter.origin.slice(10));
  // A row that reads one libvirt field as it is: `cpu.time`, `block.<n>.rd.bytes`, `net.<n>.rx.bytes`.
  const source = ROWS.get(meter.origin)?.source;
  if (source === undefined || !/^[a-z_]+(\.<n>)?(\.[a-z_]+)+$/.test(source)) return undefined;
  const index =
    'block' in subject ? subject.block.index : 'iface' in subject ? subject.iface.index : undefined;
  if (source.includes('<n>') && index === undefined) return undefined;
  return rawInteger(stats, source.replace('<n>', String(index)));
}

/** Static inputs of every sample. */
export interface SampleContext {
  /** `[DEFAULT] sample_source`. */
  readonly source: string;
  /** The telemetry secret ('' = unsigned). */
  readonly secret: string;
  /** Generates the time-based `message_id`. */
  readonly messageId: () => string;
}

/** Builds one signed sample dict in meter_message_from_counter's key order. */
function makeSample(
  ctx: SampleContext,
  meter: PublisherMeter,
  float: boolean,
  d: DiscoveredInstance,
  resourceId: string,
  volume: number | bigint,
  extra: PyDict | undefined,
  timestamp: string,
  monotonicTime: number,
): PyDict {
  const resourceMetadata: PyDict = { ...d.metadata, ...extra };
  const sample: PyDict = {
    source: ctx.source,
    counter_name: meter.name,
    counter_type: meter.type,
    counter_unit: meter.unit,
    counter_volume: float ? new PyFloat(Number(volume)) : volume,
    user_id: d.userId,
    project_id: d.projectId,
    resource_id: resourceId,
    timestamp,
    resource_metadata: resourceMetadata,
    message_id: ctx.messageId(),
    monotonic_time: new PyFloat(monotonicTime),
  };
  sample.message_signature = computeSignature(sample, ctx.secret);
  return sample;
}

/**
 * Builds every sample of one meter for one cycle. The timestamp is taken once for the meter, as
 * `PollingTask.poll_and_notify` stamps all samples of a pollster with one `utcnow()`. A missing or
 * non-finite value produces no sample (Ceilometer's NoVolumeException).
 */
export function buildMeterSamples(
  ctx: SampleContext,
  meter: PublisherMeter,
  cycle: CycleInput,
  timestamp: string = pyIsoformat(nowMicros()),
): PyDict[] {
  const out: PyDict[] = [];
  const push = (
    d: DiscoveredInstance,
    resourceId: string,
    v: number | undefined,
    extra?: PyDict,
    mono = cycle.monotonicTime,
    subject?: DomainSubject | DiskSubject | VnicSubject,
  ): void => {
    if (v === undefined || !Number.isFinite(v)) return;
    // NOTE: an int meter cannot have a fraction from libvirt; if one ever does, it is a Python float.
    const float = meter.float || !Number.isInteger(v);
    let volume: number | bigint = v;
    if (!float && !Number.isSafeInteger(v) && subject !== undefined) {
      // Beyond 2^53 the float64 may be rounded: print libvirt's exact integer, as Ceilometer does.
      const exact = exactVolume(meter, subject);
      if (exact !== undefined && Number(exact) === v) volume = exact;
    }
    out.push(makeSample(ctx, meter, float, d, resourceId, volume, extra, timestamp, mono));
  };
  for (const s of cycle.subjects) {
    const uuid = s.discovered.instance.uuid;
    switch (meter.scope) {
      case 'domain': {
        if (!s.domain) break;
        const v = (meter as PublisherMeter<'domain'>).volume(s.domain, cycle.state);
        const extra: PyDict | undefined =
          meter.name === 'cpu' ? { cpu_number: s.domain.stats.vcpuCurrent ?? null } : undefined;
        push(s.discovered, uuid, v, extra, undefined, s.domain);
        break;
      }
      case 'disk':
        for (const disk of s.disks) {
          const v = (meter as PublisherMeter<'disk'>).volume(disk, cycle.state);
          push(
            s.discovered,
            `${uuid}-${disk.block.name}`,
            v,
            { disk_name: disk.block.name },
            undefined,
            disk,
          );
        }
        break;
      case 'vnic':
        for (const vnic of s.vnics) {
          const v = (meter as PublisherMeter<'vnic'>).volume(vnic, cycle.state);
          const id = nicIdentity(s.discovered.instance, vnic.nic);
          push(s.discovered, id.resourceId, v, id.extra, undefined, vnic);
        }
        break;
      case 'instance': {
        // InstanceMetadataPollster: no inspection, every discovered instance, monotonic time of its own.
        const subject: PublisherSubjectOf['instance'] = { instance: s.discovered.instance };
        push(
          s.discovered,
          uuid,
          (meter as PublisherMeter<'instance'>).volume(subject, cycle.state),
          undefined,
          monotonicSeconds(),
        );
        break;
      }
    }
  }
  return out;
}
