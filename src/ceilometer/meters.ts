// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The Ceilometer meters of the libvirt compute agent, for a given Ceilometer release and unit profile.
 * Most come straight from the project's meter table (src/meters/table.ts, rows with a `ceilometer`
 * field), so /metrics and AMQP read the same quantity the same way. A few cannot be table rows
 * (companions.ts); they still read raw values through the table's rows or the same inspector records.
 */
import { DEFAULT_GROUPS } from '../inspector/libvirt-inspector.ts';
import type { StatsGroup } from '../inspector/types.ts';
import { type DomainSubject, meterTable, type MeterRow } from '../meters/table.ts';
import { companionMeters } from './companions.ts';
import { exactReaderOfRow } from './exact.ts';
import { meterExists, profileUnit, type Release, type UnitProfile } from './release.ts';
import type { ComputeMeter, MeterScope } from './types.ts';

/**
 * The stats groups a cycle asks for when it polls a perf meter, and the `ceilometer` collector always:
 * the inspector's default and perf. (The real agent reads every group, domainListGetStats with
 * stats=0; its libvirt meters read no other.)
 */
export const AGENT_STATS_GROUPS: readonly StatsGroup[] = [...DEFAULT_GROUPS, 'perf'];

/**
 * The stats groups of a cycle that polls `meters`: {@link AGENT_STATS_GROUPS} when one of them reads
 * perf counters, else undefined (the inspector's default, which covers every other meter).
 */
export function statsGroupsFor(meters: readonly ComputeMeter[]): readonly StatsGroup[] | undefined {
  return meters.some((m) => m.perfEvent !== undefined) ? AGENT_STATS_GROUPS : undefined;
}

/**
 * Volume guards where Ceilometer needs more than the row's own field: memory.swap.in and
 * memory.swap.out are only set when libvirt reports *both* swap_in and swap_out (inspect_instance).
 */
const GUARDS: Readonly<Record<string, (s: DomainSubject) => boolean>> = {
  'memory.swap.in': (s) =>
    s.stats.balloon?.swapInKiB !== undefined && s.stats.balloon.swapOutKiB !== undefined,
  'memory.swap.out': (s) =>
    s.stats.balloon?.swapInKiB !== undefined && s.stats.balloon.swapOutKiB !== undefined,
};

function fromTable(scope: 'domain' | 'disk' | 'vnic', row: MeterRow, profile: UnitProfile): ComputeMeter {
  const c = row.ceilometer;
  if (!c) throw new Error(`row ${row.key} has no ceilometer meter`);
  const guard = scope === 'domain' ? GUARDS[c.name] : undefined;
  const exact = c.float ? undefined : exactReaderOfRow(row);
  const meter: ComputeMeter<'domain' | 'disk' | 'vnic'> = {
    name: c.name,
    type: c.type,
    unit: profileUnit(c.unit, profile),
    float: c.float,
    scope,
    origin: `table:${row.key}`,
    volume(subject) {
      if (guard && !guard(subject)) return undefined;
      const raw = row.read(subject);
      return raw === undefined ? undefined : c.convert(raw);
    },
    ...(exact !== undefined ? { exact } : {}),
  };
  return meter;
}

/**
 * Every meter the configured release produces on libvirt, in a stable order (domain, disk, vNIC,
 * instance metadata). Names are unique.
 */
export function computeMeters(release: Release, profile: UnitProfile): ComputeMeter[] {
  const out: ComputeMeter[] = [];
  for (const scope of ['domain', 'disk', 'vnic'] as const) {
    for (const row of meterTable[scope] as readonly MeterRow[]) {
      if (row.ceilometer && meterExists(row.ceilometer.name, release))
        out.push(fromTable(scope, row, profile));
    }
  }
  const companions = companionMeters(release, profile);
  for (const scope of ['domain', 'disk', 'vnic', 'instance'] as const)
    out.push(...companions.filter((m) => m.scope === scope));
  const names = new Set<string>();
  for (const m of out) {
    if (names.has(m.name)) throw new Error(`meter ${m.name} is defined twice`);
    names.add(m.name);
  }
  // Group by scope so that a cycle builds the domain meters first, as the table orders them.
  const order: MeterScope[] = ['domain', 'disk', 'vnic', 'instance'];
  return out.sort((a, b) => order.indexOf(a.scope) - order.indexOf(b.scope));
}
