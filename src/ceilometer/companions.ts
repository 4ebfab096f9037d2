// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Meters the meter table cannot hold, because a table row maps one record field to one value with no
 * memory and no identity:
 * - `network.incoming.bytes.delta` / the outgoing delta: need the previous poll's counter (state kept
 *   across cycles, keyed by tap name as the real inspector does) and a release-dependent name;
 * - `power.state`: the domain state code, which is identity (Instance), not a stats field;
 * - `disk.root.size` / `disk.ephemeral.size`: flavor sizes from the Nova metadata, produced for every
 *   discovered instance, shut off or not (InstanceMetadataPollster inspects nothing);
 * - `perf.*`, `cpu_l3_cache`, `memory.bandwidth.*`: `stats.perf` counters keyed by perf event name.
 * The byte deltas read their raw counters through the table's vnic rows (see cycle.ts `vnicByteCounters`).
 */
import type { DomainSubject, VnicSubject } from '../meters/table.ts';
import { perfCeilometerMeters } from '../meters/perf.ts';
import { rawInteger } from './exact.ts';
import {
  meterExists,
  outgoingBytesDeltaName,
  profileUnit,
  type Release,
  type UnitProfile,
} from './release.ts';
import type { ComputeMeter, CycleState, InstanceSubject } from './types.ts';

/** A `stats.perf` counter as a gauge (compute/pollsters/instance_stats.py). */
function perfMeter(name: string, event: string, unit: string): ComputeMeter<'domain'> {
  return {
    name,
    type: 'gauge',
    unit,
    float: false,
    scope: 'domain',
    origin: `companion:perf.${event}`,
    perfEvent: event,
    volume: (s) => s.stats.perf[event],
    exact: (s) => rawInteger(s.stats, `perf.${event}`),
  };
}

/** A vNIC byte delta (compute/pollsters/net.py `*BytesDeltaPollster`). */
function deltaMeter(name: string, direction: 'rx' | 'tx'): ComputeMeter<'vnic'> {
  return {
    name,
    type: 'delta',
    unit: 'B',
    float: false,
    scope: 'vnic',
    origin: `companion:delta of table vnic_${direction}_bytes`,
    volume: (s: VnicSubject, state: CycleState) => state.vnicDeltas.get(s.iface.name)?.[direction],
  };
}

/** A flavor size from the Nova metadata (InstanceMetadataPollster). */
function flavorMeter(
  name: string,
  profile: UnitProfile,
  origin: string,
  volume: (s: InstanceSubject) => number,
): ComputeMeter<'instance'> {
  return {
    name,
    type: 'gauge',
    unit: profileUnit('GB', profile),
    float: false,
    scope: 'instance',
    origin,
    volume,
  };
}

/** The companion meters of a release, with the outgoing delta under the release's name. */
export function companionMeters(release: Release, profile: UnitProfile): ComputeMeter[] {
  const powerState: ComputeMeter<'domain'> = {
    name: 'power.state',
    type: 'gauge',
    unit: '',
    float: false,
    scope: 'domain',
    origin: 'companion:instance state',
    volume: (s: DomainSubject) => s.instance.stateCode,
  };
  const meters = [
    powerState,
    ...perfCeilometerMeters.map((p) => perfMeter(p.meter, p.event, p.unit)),
    deltaMeter('network.incoming.bytes.delta', 'rx'),
    deltaMeter('network.outgoing.bytes.delta', 'tx'),
    flavorMeter(
      'disk.root.size',
      profile,
      'companion:nova flavor disk - ephemeral',
      (s) => (s.instance.nova?.flavor?.diskGiB ?? 0) - (s.instance.nova?.flavor?.ephemeralGiB ?? 0),
    ),
    flavorMeter(
      'disk.ephemeral.size',
      profile,
      'companion:nova flavor ephemeral',
      (s) => s.instance.nova?.flavor?.ephemeralGiB ?? 0,
    ),
  ] as ComputeMeter[];
  return meters
    .filter((m) => meterExists(m.name, release))
    .map((m) =>
      m.name === 'network.outgoing.bytes.delta' ? { ...m, name: outgoingBytesDeltaName(release) } : m,
    );
}
