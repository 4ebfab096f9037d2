// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * One polling cycle's input: the subjects each discovered instance offers its meters (the running
 * domain, its disks, its vNICs) and the per-cycle state (vNIC byte deltas since the previous poll).
 */
import { diskOf, vnicOf } from '../inspector/devices.ts';
import type { DomainStats, Inspection, Instance, Vnic } from '../inspector/types.ts';
import {
  type DiskSubject,
  type DomainSubject,
  meterTable,
  type MeterRow,
  type VnicSubject,
} from '../meters/table.ts';
import type { DiscoveredInstance } from './discovery.ts';
import { monotonicSeconds } from './ids.ts';
import type { CycleState } from './types.ts';

/** A NIC as the real inspector enumerates it: an `<interface>` with both a target dev and a MAC. */
export type Nic = Vnic & { readonly targetDev: string; readonly mac: string };

/** A vNIC subject whose XML interface is a {@link Nic}. */
export type NicSubject = VnicSubject & { readonly nic: Nic };

/** One instance's running-domain subjects for a cycle (nothing for shut-off or stat-less domains). */
export interface InstanceSubjects {
  readonly discovered: DiscoveredInstance;
  readonly domain: DomainSubject | undefined;
  readonly disks: readonly DiskSubject[];
  readonly vnics: readonly NicSubject[];
}

/** Everything a cycle's meters read: the subjects of every discovered instance, and the cycle state. */
export interface CycleInput {
  readonly subjects: readonly InstanceSubjects[];
  readonly state: CycleState;
  /** `time.monotonic()` right after the inspection (every stats meter of the cycle shares it). */
  readonly monotonicTime: number;
}

function nicOf(instance: Instance, tap: string): Nic | undefined {
  const v = vnicOf(instance, tap);
  return v?.targetDev !== undefined && v.mac !== undefined ? (v as Nic) : undefined;
}

function vnicRow(key: string): MeterRow<'vnic'> {
  const row = meterTable.vnic.find((r) => r.key === key);
  if (!row) throw new Error(`meter table has no vnic row '${key}'`);
  return row;
}

/** The raw rx/tx byte counters of a vNIC, read through the meter table (the delta meters' source). */
export function vnicByteCounters(subject: VnicSubject): { rx: number | undefined; tx: number | undefined } {
  return {
    rx: vnicRow('vnic_rx_bytes').read(subject),
    tx: vnicRow('vnic_tx_bytes').read(subject),
  };
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

/** The subjects of one discovered instance: none for a shut-off or stat-less domain. */
function subjectsOf(d: DiscoveredInstance, stats: DomainStats | undefined): InstanceSubjects {
  if (!stats || d.instance.state === 'shutoff')
    return { discovered: d, domain: undefined, disks: [], vnics: [] };
  const domain: DomainSubject = { instance: d.instance, stats };
  const disks: DiskSubject[] = [];
  // NOTE: the inspector never asks for backing chains, so every block.<n> is a guest disk; those
  // without a <source> (empty CD-ROMs) are not in instance.disks and are skipped, as Ceilometer does.
  for (const block of stats.blocks) {
    const disk = diskOf(d.instance, block.name);
    if (disk) disks.push({ ...domain, block, disk });
  }
  const vnics: NicSubject[] = [];
  for (const iface of stats.interfaces) {
    const nic = nicOf(d.instance, iface.name);
    if (nic) vnics.push({ ...domain, iface, vnic: nic, nic });
  }
  return { discovered: d, domain, disks, vnics };
}

/**
 * Prepares a cycle: the subjects of every discovered instance. Shut-off domains get no stats subjects
 * (Ceilometer's InstanceShutOffException); disks are the XML disks with a source; vNICs are the XML
 * interfaces with a target dev and a MAC. `deltas` is updated only when the cycle polls a vNIC meter,
 * as the real inspector updates its cache only inside inspect_vnics.
 */
export function prepareCycle(
  inspection: Inspection,
  discovered: readonly DiscoveredInstance[],
  deltas: VnicDeltaTracker | undefined,
  monotonicTime = monotonicSeconds(),
): CycleInput {
  const subjects = discovered.map((d) => subjectsOf(d, inspection.stats.get(d.instance.uuid)));
  const vnicDeltas = deltas
    ? deltas.update(subjects.flatMap((s) => s.vnics))
    : new Map<string, { rx: number; tx: number }>();
  return { subjects, state: { vnicDeltas }, monotonicTime };
}
