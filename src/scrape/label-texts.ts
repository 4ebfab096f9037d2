// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The label texts of each domain, cached across scrapes. A domain's series keep their labels from one
 * scrape to the next, so each label set is rendered once per description instead of once per sample:
 * the hot loops of the collectors (every guest, vCPU, disk and vNIC of every scrape) only look texts up.
 */
import type { Instance } from '../inspector/types.ts';

/**
 * One domain's rendered label texts, valid while its description (the XML's device lists), its Nova
 * metadata, its name and the configured identity labels stay the same. Collectors fill it on a miss with
 * texts that depend on nothing else (and on the subject's own name or index).
 * NOTE: the subjects of the meter table have fields of their own (an array by vCPU index, maps by device
 * name) so that the per-subject lookup builds no key string; other label sets go by key in `keyed`.
 */
export class DomainTexts {
  /** The domain labels alone (`{domain="…",…}` in the order of the domain label names). */
  plain: string | undefined = undefined;
  /** The domain labels as an object, for rendering a miss. */
  labels: Record<string, string> | undefined = undefined;
  /** Domain labels and `vcpu`, by vCPU index. */
  readonly vcpu: (string | undefined)[] = [];
  /** Domain labels and `target_device`, by the disk's name in the stats. */
  readonly disk = new Map<string, string>();
  /** Domain labels and `target_device`, by the vNIC's device name (`#N` for an unnamed one). */
  readonly vnic = new Map<string, string>();
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
      this.disks === i.disks && this.nova === i.nova && this.name === i.name && this.identity === identity
    );
  }
}

/**
 * {@link DomainTexts} by domain UUID. Bounded by the domains of the last inspection: {@link LabelTextCache.retain}
 * drops every other domain's texts, and a domain whose description, name or identity changed gets new ones.
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
