// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * One inspection cycle: list every domain (1 round trip), bulk stats for all of them in a few
 * concurrent shards (stats-shards.ts), and the XML of domains that are new or changed (cached
 * otherwise, description-cache.ts); then one {@link Instance} per described domain, and the domains
 * whose stats are partial reported with the reason.
 */
import { setMaxListeners } from 'node:events';
import {
  DOMAIN_STATE_NAMES,
  DomainState,
  type Clock,
  type Domain,
  type LibvirtClient,
} from '../libvirt/index.ts';
import type { CallGuard } from './call-guard.ts';
import type { DescriptionCache } from './description-cache.ts';
import type { EventSubscriptions } from './event-subscriptions.ts';
import type { ShardsRead, StatsShards } from './stats-shards.ts';
import type {
  DomainDescription,
  DomainStateName,
  Inspection,
  Instance,
  SkippedDomain,
  StatsGroup,
} from './types.ts';

/** What a cycle works with: the inspector's parts that outlive it. */
export interface CycleParts {
  readonly client: LibvirtClient;
  readonly guard: CallGuard;
  readonly clock: Clock;
  readonly events: EventSubscriptions;
  readonly shards: StatsShards;
  readonly descriptions: DescriptionCache;
}

/** Runs one cycle for `groups` (sorted, with `state`), its calls under `signal`. */
export async function runCycle(
  parts: CycleParts,
  groups: readonly StatsGroup[],
  signal: AbortSignal | undefined,
): Promise<Inspection> {
  const started = performance.now();
  const startedAt = parts.clock.now();
  // One signal for the cycle's calls: every pending call listens to it, and with hundreds of guests
  // (their XML on the first cycle) that is more listeners than Node's default warning threshold.
  // (The signal is the flight's own controller's, so raising its limit affects no one else.)
  if (signal) setMaxListeners(0, signal);
  const timestampSeconds = Date.now() / 1000;
  let roundTrips = 1;
  const domains = await parts.guard.run('listing domains', signal, () =>
    parts.client.listAllDomains(0, { signal }),
  );
  // Once: ask the daemon for lifecycle events, so that cached XML is dropped when a domain changes
  // (the client registers again after a reconnect). Without events, ids and devices still tell.
  if (parts.events.pending) {
    roundTrips += 4;
    await parts.events.start(signal);
  }
  const read = await parts.shards.read(domains, groups, signal, startedAt);
  const described = await parts.descriptions.refresh(domains, read.stats, signal);
  parts.shards.retain(new Set(domains.map((d) => d.uuid)));
  const { instances, incomplete } = assemble(parts, domains, read, groups);
  // Only running and paused domains have stats worth reporting.
  const stats = read.stats;
  const active = new Set(instances.filter((i) => i.id > 0).map((i) => i.uuid));
  // (forEach: no entry array per guest; deleting the current entry while iterating is allowed.)
  stats.forEach((s, uuid) => {
    if (!active.has(uuid) || s.stateCode === DomainState.SHUTOFF) stats.delete(uuid);
  });

  return {
    instances,
    stats,
    skipped: [...read.skipped, ...described.skipped, ...incomplete],
    timestampSeconds,
    durationSeconds: (performance.now() - started) / 1000,
    roundTrips: roundTrips + read.roundTrips + described.roundTrips,
  };
}

/**
 * The last instance made from each description: reused while the domain's name, id and state are the
 * same, so that a scrape makes no instance for an unchanged guest. A new description (its XML changed)
 * is a new key, and an entry goes with its description.
 * NOTE: an instance copies its description's fields; made per guest and scrape, they were among what each
 * scrape promoted to the old generation (they live through the whole scrape).
 */
const lastInstance = new WeakMap<DomainDescription, Instance>();

/** The instance of `d` described by `desc` in `stateCode` and `stateReason` (the last one when unchanged). */
function instanceOf(desc: DomainDescription, d: Domain, stateCode: number, stateReason: number): Instance {
  const last = lastInstance.get(desc);
  if (
    last !== undefined &&
    last.name === d.name &&
    last.uuid === d.uuid &&
    last.id === d.id &&
    last.stateCode === stateCode &&
    last.stateReason === stateReason
  )
    return last;
  const made: Instance = {
    ...desc,
    name: d.name,
    uuid: d.uuid,
    id: d.id,
    state: (DOMAIN_STATE_NAMES[stateCode] ?? 'nostate') as DomainStateName,
    stateCode,
    stateReason,
  };
  lastInstance.set(desc, made);
  return made;
}

/** One instance per described domain, and the active ones whose stats are incomplete. */
function assemble(
  parts: CycleParts,
  domains: readonly Domain[],
  read: ShardsRead,
  groups: readonly StatsGroup[],
): { readonly instances: Instance[]; readonly incomplete: SkippedDomain[] } {
  const instances: Instance[] = [];
  const incomplete: SkippedDomain[] = [];
  for (const d of domains) {
    const desc = parts.descriptions.get(d.uuid);
    if (desc === undefined) continue;
    const s = read.stats.get(d.uuid);
    const stateCode = s?.stateCode ?? (d.id > 0 ? DomainState.NOSTATE : DomainState.SHUTOFF);
    instances.push(instanceOf(desc, d, stateCode, s?.stateReason ?? 0));
    if (s === undefined || d.id <= 0) continue;
    const reason = parts.shards.incompleteReason(d.uuid, s, stateCode, read, groups);
    const message =
      reason === 'timeout' ? 'stats call timed out; partial stats' : 'domain job busy; partial stats';
    if (reason !== undefined) incomplete.push({ uuid: d.uuid, name: d.name, reason, message });
  }
  return { instances, incomplete };
}
