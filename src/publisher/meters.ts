// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The Ceilometer meters this publisher can produce, for a given Ceilometer release and unit profile.
 * Most come straight from the project's meter table (src/meters/table.ts, rows with a `ceilometer`
 * field), so /metrics and AMQP read the same quantity the same way. A few cannot be table rows
 * (see {@link companionMeters}); they still read raw values through the table's rows or the same
 * inspector records.
 */
import type { Instance } from '../inspector/types.ts';
import {
  type CeilometerMeter,
  type DiskSubject,
  type DomainSubject,
  meterTable,
  type MeterRow,
  type VnicSubject,
} from '../meters/table.ts';
import { perfCeilometerMeters } from '../meters/perf.ts';

/** What a meter is measured on: a running domain, one of its disks or vNICs, or any discovered instance. */
export type PublisherScope = 'domain' | 'disk' | 'vnic' | 'instance';

/** A discovered instance, running or not (metadata-only meters). */
export interface InstanceSubject {
  readonly instance: Instance;
}

/** The subject of each scope. */
export interface PublisherSubjectOf {
  domain: DomainSubject;
  disk: DiskSubject;
  vnic: VnicSubject;
  instance: InstanceSubject;
}

/** Per-cycle state a meter may read: the delta of each vNIC's byte counters since the previous poll. */
export interface CycleState {
  /** By tap name: bytes received/sent since the previous poll (Ceilometer inspect_vnics semantics). */
  readonly vnicDeltas: ReadonlyMap<string, { readonly rx: number; readonly tx: number }>;
}

/** A meter as published: name, type and unit as the configured release writes them, and its reader. */
export interface PublisherMeter<S extends PublisherScope = PublisherScope> {
  readonly name: string;
  readonly type: CeilometerMeter['type'];
  readonly unit: string;
  /** Python float volume (printed `45.0`), else int. */
  readonly float: boolean;
  readonly scope: S;
  /** The volume, or undefined when there is none this cycle (no sample, as Ceilometer's NoVolumeException). */
  volume(subject: PublisherSubjectOf[S], state: CycleState): number | undefined;
  /** Where the value comes from: the table row key, or `companion` with a reason. */
  readonly origin: string;
}

/** A parsed `ceilometer_release`. */
export interface Release {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Parses `19`, `19.1` or `19.0.0`. */
export function parseRelease(text: string): Release {
  const [major = 0, minor = 0, patch = 0] = text.split('.').map((p) => Number.parseInt(p, 10));
  return { major, minor, patch };
}

/** The unit profile a release uses by default: MiB/GiB since 26.0.0 ("Change size units from MB/GB to MiB/GiB"). */
export function defaultUnitProfile(release: Release): 'MB' | 'MiB' {
  return release.major >= 26 ? 'MiB' : 'MB';
}

/**
 * The name under which a release publishes the outgoing bytes delta. The pollster was added in
 * 16.0.0 with the sample name `network.outgoing.packets.delta` (compute/pollsters/net.py
 * `OutgoingBytesDeltaPollster`); the fix reached 19.1.0, 18.1.0, 17.0.2 and 20.0.0 onwards.
 */
export function outgoingBytesDeltaName(release: Release): string {
  const { major, minor, patch } = release;
  const typo =
    major === 16 ||
    (major === 17 && minor === 0 && patch < 2) ||
    ((major === 18 || major === 19) && minor === 0);
  return typo ? 'network.outgoing.packets.delta' : 'network.outgoing.bytes.delta';
}

/**
 * Releases in which a meter exists on the libvirt compute agent, where that is not "all of them"
 * (upstream setup.cfg `ceilometer.poll.compute` per tag). Newer meters must not appear for an older
 * release: Zed's notification agent already builds `vcpus` and `memory` from Nova's notifications.
 */
const RELEASES: Readonly<Record<string, { readonly since?: number; readonly until?: number }>> = {
  // 24.0.0 (2025.1): "Introduce power.state metric", "Add the disk.ephemeral.size and disk.root.size pollsters".
  'power.state': { since: 24 },
  'disk.root.size': { since: 24 },
  'disk.ephemeral.size': { since: 24 },
  // 25.0.0 (2025.2): "Add vcpus pollster", "Add memory pollster", "Add memory.available metric".
  vcpus: { since: 25 },
  memory: { since: 25 },
  'memory.available': { since: 25 },
  // 24.0.0: "Remove metrics dependent on Intel CMT perf events".
  cpu_l3_cache: { until: 23 },
  'memory.bandwidth.total': { until: 23 },
  'memory.bandwidth.local': { until: 23 },
  // 16.0.0: "Implement some new meters for vnic delta".
  'network.incoming.bytes.delta': { since: 16 },
  'network.outgoing.bytes.delta': { since: 16 },
};

function exists(name: string, release: Release): boolean {
  const r = RELEASES[name];
  if (!r) return true;
  return (
    (r.since === undefined || release.major >= r.since) && (r.until === undefined || release.major <= r.until)
  );
}

function profileUnit(unit: string, profile: 'MB' | 'MiB'): string {
  if (profile === 'MB') return unit;
  if (unit === 'MB') return 'MiB';
  if (unit === 'GB') return 'GiB';
  return unit;
}

function vnicRow(key: string): MeterRow<'vnic'> {
  const row = meterTable.vnic.find((r) => r.key === key);
  if (!row) throw new Error(`meter table has no vnic row '${key}'`);
  return row;
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

function fromTable(scope: 'domain' | 'disk' | 'vnic', row: MeterRow, profile: 'MB' | 'MiB'): PublisherMeter {
  const c = row.ceilometer;
  if (!c) throw new Error(`row ${row.key} has no ceilometer meter`);
  const guard = scope === 'domain' ? GUARDS[c.name] : undefined;
  const meter: PublisherMeter<'domain' | 'disk' | 'vnic'> = {
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
  };
  return meter;
}

/**
 * Meters the table cannot hold, because a table row maps one record field to one value with no
 * memory and no identity:
 * - `network.incoming.bytes.delta` / the outgoing delta: need the previous poll's counter (state kept
 *   across cycles, keyed by tap name as the real inspector does) and a release-dependent name;
 * - `power.state`: the domain state code, which is identity (Instance), not a stats field;
 * - `disk.root.size` / `disk.ephemeral.size`: flavor sizes from the Nova metadata, produced for every
 *   discovered instance, shut off or not (InstanceMetadataPollster inspects nothing);
 * - `perf.*`, `cpu_l3_cache`, `memory.bandwidth.*`: `stats.perf` counters keyed by perf event name.
 * The byte deltas read their raw counters through the table's vnic rows (see {@link vnicByteCounters}).
 */
function companionMeters(release: Release, profile: 'MB' | 'MiB'): PublisherMeter[] {
  const perf = (name: string, event: string, unit: string): PublisherMeter<'domain'> => ({
    name,
    type: 'gauge',
    unit,
    float: false,
    scope: 'domain',
    origin: `companion:perf.${event}`,
    volume: (s) => s.stats.perf[event],
  });
  const meters: PublisherMeter[] = [
    {
      name: 'power.state',
      type: 'gauge',
      unit: '',
      float: false,
      scope: 'domain',
      origin: 'companion:instance state',
      volume: (s: DomainSubject) => s.instance.stateCode,
    } satisfies PublisherMeter<'domain'>,
    ...perfCeilometerMeters.map((p) => perf(p.meter, p.event, p.unit)),
    {
      name: 'network.incoming.bytes.delta',
      type: 'delta',
      unit: 'B',
      float: false,
      scope: 'vnic',
      origin: 'companion:delta of table vnic_rx_bytes',
      volume: (s: VnicSubject, state: CycleState) => state.vnicDeltas.get(s.iface.name)?.rx,
    } satisfies PublisherMeter<'vnic'>,
    {
      name: 'network.outgoing.bytes.delta',
      type: 'delta',
      unit: 'B',
      float: false,
      scope: 'vnic',
      origin: 'companion:delta of table vnic_tx_bytes',
      volume: (s: VnicSubject, state: CycleState) => state.vnicDeltas.get(s.iface.name)?.tx,
    } satisfies PublisherMeter<'vnic'>,
    {
      name: 'disk.root.size',
      type: 'gauge',
      unit: profileUnit('GB', profile),
      float: false,
      scope: 'instance',
      origin: 'companion:nova flavor disk - ephemeral',
      volume: (s: InstanceSubject) =>
        (s.instance.nova?.flavor?.diskGiB ?? 0) - (s.instance.nova?.flavor?.ephemeralGiB ?? 0),
    } satisfies PublisherMeter<'instance'>,
    {
      name: 'disk.ephemeral.size',
      type: 'gauge',
      unit: profileUnit('GB', profile),
      float: false,
      scope: 'instance',
      origin: 'companion:nova flavor ephemeral',
      volume: (s: InstanceSubject) => s.instance.nova?.flavor?.ephemeralGiB ?? 0,
    } satisfies PublisherMeter<'instance'>,
  ] as PublisherMeter[];
  return meters
    .filter((m) => exists(m.name, release))
    .map((m) =>
      m.name === 'network.outgoing.bytes.delta' ? { ...m, name: outgoingBytesDeltaName(release) } : m,
    );
}

/** The raw rx/tx byte counters of a vNIC, read through the meter table (the delta meters' source). */
export function vnicByteCounters(subject: VnicSubject): { rx: number | undefined; tx: number | undefined } {
  return {
    rx: vnicRow('vnic_rx_bytes').read(subject),
    tx: vnicRow('vnic_tx_bytes').read(subject),
  };
}

/**
 * Every meter the configured release produces on libvirt, in a stable order (domain, disk, vNIC,
 * instance metadata). Names are unique.
 */
export function publisherMeters(release: Release, profile: 'MB' | 'MiB'): PublisherMeter[] {
  const out: PublisherMeter[] = [];
  for (const scope of ['domain', 'disk', 'vnic'] as const) {
    for (const row of meterTable[scope] as readonly MeterRow[]) {
      if (row.ceilometer && exists(row.ceilometer.name, release)) out.push(fromTable(scope, row, profile));
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
  const order: PublisherScope[] = ['domain', 'disk', 'vnic', 'instance'];
  return out.sort((a, b) => order.indexOf(a.scope) - order.indexOf(b.scope));
}
