// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The label texts of each domain, cached across scrapes. A domain's series keep their labels from one
 * scrape to the next, so each label set is rendered once per description instead of once per sample:
 * the hot loops of the collectors (every guest, vCPU, disk and vNIC of every scrape) only look texts up.
 */
import type { DiskDevice, Instance, Vnic } from '../inspector/types.ts';

/**
 * The label text of a disk or vNIC at one position of a domain's stats, valid while the stats name the same
 * device there (a hot-plug moves names: the text is made again), with its description's device.
 */
export interface SubjectText<D> {
  /** The stats' name of the device (`block.N.name`, `net.N.name`) and, for a vNIC, its index. */
  readonly name: string;
  readonly index: number;
  readonly text: string;
  /** The device of the description with that name (diskOf, vnicOf), if it lists one. */
  readonly device: D | undefined;
}

/**
 * One domain's rendered label texts, valid while its description (the XML's device lists), its Nova
 * metadata, its name and the configured identity labels stay the same. Collectors fill it on a miss with
 * texts that depend on nothing else (and on the subject's own name or index).
 * NOTE: the subjects of the meter table have fields of their own (arrays by vCPU index and by device
 * position, checked against the device's name) so that the per-subject lookup builds no key string and
 * hashes no name; other label sets go by key in `keyed`.
 */
export class DomainTexts {
  /** The domain labels alone (`{domain="…",…}` in the order of the domain label names). */
  plain: string | undefined = undefined;
  /** The domain labels as an object, for rendering a miss. */
  labels: Record<string, string> | undefined = undefined;
  /** Domain labels and `vcpu`, by vCPU index. */
  readonly vcpu: (string | undefined)[] = [];
  /** Domain labels and `target_device` of each disk, by its position in the stats (`block.N`). */
  readonly disk: (SubjectText<DiskDevice> | undefined)[] = [];
  /** Domain labels and `target_device` (`#N` for an unnamed vNIC) of each vNIC, by position (`net.N`). */
  readonly vnic: (SubjectText<Vnic> | undefined)[] = [];
  /** The disk info labels of each disk of the description, by its position in `disks`. */
  readonly diskInfo: (string | undefined)[] = [];
  /** The vNIC info labels of each vNIC of the description, by its position in `vnics`. */
  readonly vnicInfo: (string | undefined)[] = [];
  /** Any other label set of the domain, by a key that names it (`domain_info`, `disk_info:vda`…). */
  readonly keyed = new Map<string, string>();

  constructor(
    readonly disks: Instance['disks'],
    readonly vnics: Instance['vnics'],
    readonly nova: Instance['nova'],
    readonly name: string,
    readonly identity: string,
  ) {}

  /** Whether these texts still hold for `i` with the identity labels `identity` (joined). */
  fits(i: Instance, identity: string): boolean {
    return (
      this.disks === i.disks &&
      this.vnics === i.vnics &&
      this.nova === i.nova &&
      this.name === i.name &&
      this.identity === identity
    );
  }
}

/**
 * {@link DomainTexts} by domain UUID. Bounded by the domains of the last inspection:
 * {@link LabelTextCache.retain} drops every other domain's texts, and a domain whose description, name or
 * identity labels changed gets new ones.
 */
export class LabelTextCache {
  readonly #byUuid = new Map<string, DomainTexts>();

  /** Drops the texts of every domain that `present` (this inspection's domains by UUID) lacks. */
  retain(present: ReadonlyMap<string, unknown>): void {
    for (const uuid of this.#byUuid.keys()) if (!present.has(uuid)) this.#byUuid.delete(uuid);
  }

  /** The texts of `i` (a domain of this inspection) under the identity labels `identity` (joined). */
  of(i: Instance, identity: string): DomainTexts {
    let e = this.#byUuid.get(i.uuid);
    if (e === undefined || !e.fits(i, identity)) {
      e = new DomainTexts(i.disks, i.vnics, i.nova, i.name, identity);
      this.#byUuid.set(i.uuid, e);
    }
    return e;
  }

  /** How many domains have texts (for tests). */
  get size(): number {
    return this.#byUuid.size;
  }
}
