// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * What depends on the Ceilometer release being imitated (`publisher.ceilometer_release`): which meters
 * exist, the name of the outgoing bytes delta, and the default unit profile.
 */

/** A parsed `ceilometer_release`. */
export interface Release {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** The unit profile: MB/GB as Ceilometer wrote them up to 25.x, or MiB/GiB. */
export type UnitProfile = 'MB' | 'MiB';

/** Parses `19`, `19.1` or `19.0.0`. */
export function parseRelease(text: string): Release {
  const [major = 0, minor = 0, patch = 0] = text.split('.').map((p) => Number.parseInt(p, 10));
  return { major, minor, patch };
}

/** The unit profile a release uses by default: MiB/GiB since 26.0.0 ("Change size units from MB/GB to MiB/GiB"). */
export function defaultUnitProfile(release: Release): UnitProfile {
  return release.major >= 26 ? 'MiB' : 'MB';
}

/** A unit as a profile writes it: `MB` → `MiB` and `GB` → `GiB` in the MiB profile. */
export function profileUnit(unit: string, profile: UnitProfile): string {
  if (profile === 'MB') return unit;
  if (unit === 'MB') return 'MiB';
  if (unit === 'GB') return 'GiB';
  return unit;
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

/** Whether the compute agent of a release has the meter (by its canonical name). */
export function meterExists(name: string, release: Release): boolean {
  const r = RELEASES[name];
  if (!r) return true;
  return (
    (r.since === undefined || release.major >= r.since) && (r.until === undefined || release.major <= r.until)
  );
}
