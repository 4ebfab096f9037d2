// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The one rule that pairs a stats record with the device of the domain's XML it measures.
 *
 * libvirt's bulk stats name a disk by its `<target dev>` (`block.N.name`) and a vNIC by its host-side
 * `<target dev>` (`net.N.name`); the XML lists the same names. Every output (the collectors, the
 * Ceilometer samples, the inspector's own change detection) pairs them through these two functions.
 */
import type { DiskDevice, DomainDescription, Vnic } from './types.ts';

/** The XML disk whose `<target dev>` is the stats record's name, if the XML lists it. */
export function diskOf(description: DomainDescription, statsName: string): DiskDevice | undefined {
  return description.disks.find((d) => d.target === statsName);
}

/** The XML interface whose host-side `<target dev>` is the stats record's name (`net.N.name`), if any. */
export function vnicOf(description: DomainDescription, statsName: string): Vnic | undefined {
  if (statsName === '') return undefined;
  return description.vnics.find((v) => v.targetDev === statsName);
}
