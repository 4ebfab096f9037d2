// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The domains' XML descriptions, read once and kept: a domain's XML is read again only when it is new,
 * its id changed (it was started or stopped), its stats name a disk or vNIC its cached XML lacks, or a
 * lifecycle event said it may have changed. Balloon events keep the cached current memory up to date;
 * a new connection (other than one rotated for its stuck calls) empties the cache.
 */
import { DomainEventType, LibvirtError, VIR_ERR, type Domain, type LibvirtClient } from '../libvirt/index.ts';
import type { CallGuard } from './call-guard.ts';
import { diskOf, vnicOf } from './devices.ts';
import { DomainXmlError, parseDomainXml } from './domain-xml.ts';
import { LibvirtCallError } from './errors.ts';
import type { DomainDescription, DomainStats, SkippedDomain } from './types.ts';

interface CachedDescription {
  readonly id: number;
  readonly description: DomainDescription;
}

/** What reading the missing descriptions of a cycle cost and skipped. */
export interface DescriptionsRead {
  readonly skipped: readonly SkippedDomain[];
  readonly roundTrips: number;
}

/** The XML description of each domain, by UUID. */
export class DescriptionCache {
  readonly #descriptions = new Map<string, CachedDescription>();

  constructor(
    private readonly client: LibvirtClient,
    private readonly guard: CallGuard,
  ) {
    // The daemon tells us when a domain changes; a reconnect may hide changes, so forget everything then.
    client.on('lifecycle', (event: { domain: Domain; event: number }) => {
      this.#lifecycle(event);
    });
    client.on('balloon', (event: { domain: Domain; actualKiB: number }) => {
      this.#balloon(event);
    });
    client.on('reconnect', (reason: string) => {
      // A connection retired for its stuck calls talks to the same daemon: the XML cache stays (emptying
      // it made the next scrape read every guest's XML again, under exactly the load that caused it).
      if (reason !== 'rotated') this.#descriptions.clear();
    });
  }

  /** The cached description of a domain. */
  get(uuid: string): DomainDescription | undefined {
    return this.#descriptions.get(uuid)?.description;
  }

  /**
   * Reads the XML of the domains whose description is missing or stale, then forgets the domains that
   * are no longer listed. A domain undefined meanwhile is left out; one whose XML cannot be parsed is
   * reported in `skipped`; any other failure fails the cycle.
   */
  async refresh(
    domains: readonly Domain[],
    stats: ReadonlyMap<string, DomainStats>,
    signal: AbortSignal | undefined,
  ): Promise<DescriptionsRead> {
    const skipped: SkippedDomain[] = [];
    const describe = domains.filter((d) => this.#isStale(d, stats.get(d.uuid)));
    await Promise.all(
      describe.map(async (d) => {
        try {
          const xml = await this.guard.run('reading domain XML', signal, () =>
            this.client.domainGetXmlDesc(d, 0, signal ? { signal } : {}),
          );
          this.#descriptions.set(d.uuid, { id: d.id, description: parseDomainXml(xml) });
        } catch (err) {
          // A domain undefined since the list: it is gone, so it is not an instance any more.
          if (
            err instanceof LibvirtCallError &&
            err.cause instanceof LibvirtError &&
            err.cause.code === VIR_ERR.NO_DOMAIN
          )
            return;
          // XML this parser cannot read costs that domain only, reported, never the whole cycle.
          if (err instanceof DomainXmlError) {
            skipped.push({ uuid: d.uuid, name: d.name, reason: 'error', message: err.message });
            return;
          }
          throw err;
        }
      }),
    );
    const live = new Set(domains.map((d) => d.uuid));
    for (const uuid of this.#descriptions.keys()) if (!live.has(uuid)) this.#descriptions.delete(uuid);
    return { skipped, roundTrips: describe.length };
  }

  #isStale(d: Domain, s: DomainStats | undefined): boolean {
    const cached = this.#descriptions.get(d.uuid);
    const devicesChanged =
      cached !== undefined &&
      s !== undefined &&
      // NOTE: a disk without a source (empty CD-ROM) has no path in the stats and is not listed.
      (s.blocks.some((b) => b.path !== undefined && diskOf(cached.description, b.name) === undefined) ||
        s.interfaces.some((i) => i.name !== '' && vnicOf(cached.description, i.name) === undefined));
    return cached === undefined || cached.id !== d.id || devicesChanged;
  }

  /** A lifecycle event: suspend, resume and PM suspend (3, 4, 7) leave the XML as it is; the others may change it. */
  #lifecycle(event: { domain: Domain; event: number }): void {
    if (
      event.event !== DomainEventType.SUSPENDED &&
      event.event !== DomainEventType.RESUMED &&
      event.event !== DomainEventType.PMSUSPENDED
    )
      this.#descriptions.delete(event.domain.uuid);
  }

  /** The balloon gave the guest more or less memory: what the live XML's <currentMemory> now says. */
  #balloon(event: { domain: Domain; actualKiB: number }): void {
    const cached = this.#descriptions.get(event.domain.uuid);
    if (cached !== undefined)
      this.#descriptions.set(event.domain.uuid, {
        id: cached.id,
        description: { ...cached.description, currentMemoryKiB: event.actualKiB },
      });
  }
}
