// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The bulk stats of one inspection cycle: every listed domain, split into a few concurrent shards
 * (NOWAIT). A guest whose QEMU stops answering makes the first bulk call that touches it hang, even with
 * NOWAIT (libvirtd takes the guest's job and waits on its monitor); so a shard that does not answer
 * within a soft timeout is abandoned (its late reply is discarded by serial) and sent again once: the
 * stuck call still holds the hung guest's job, so the retry skips it (NOWAIT) and returns everyone else.
 * Guests that come back only partially from such a retry are reported as timed out; the next cycles
 * carry their partial stats. When the guest's QEMU answers again, libvirtd answers the stuck call too:
 * that late answer is kept, and the next cycle uses it if its own NOWAIT call still found the job held,
 * so the guest is back at once. Timeouts and the freshness of late answers are measured on a `Clock`.
 */
import {
  DomainStatsTypes,
  GetAllDomainStatsFlags,
  clockDeadline,
  type Clock,
  type Domain,
  type LibvirtClient,
  DomainState,
} from '../libvirt/index.ts';
import type { CallGuard } from './call-guard.ts';
import { DisconnectedError, InspectorTimeoutError } from './errors.ts';
import { DomainStatsDecoder } from './stats.ts';
import type { DomainStats, SkippedDomain, StatsGroup } from './types.ts';

/** virDomainStatsTypes bits of each group. */
const GROUP_BITS: Readonly<Record<StatsGroup, number>> = {
  state: DomainStatsTypes.STATE,
  cpu: DomainStatsTypes.CPU_TOTAL,
  balloon: DomainStatsTypes.BALLOON,
  vcpu: DomainStatsTypes.VCPU,
  interface: DomainStatsTypes.INTERFACE,
  block: DomainStatsTypes.BLOCK,
  perf: DomainStatsTypes.PERF,
  iothread: DomainStatsTypes.IOTHREAD,
  memory: DomainStatsTypes.MEMORY,
  dirtyrate: DomainStatsTypes.DIRTYRATE,
};

/** Skip the groups that need a busy domain's job (VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT). */
const NOWAIT = GetAllDomainStatsFlags.NOWAIT;

/**
 * Decodes the bulk stats replies straight into records (one decoder for every shard: decoding is
 * synchronous, a reply at a time).
 */
const DECODER = new DomainStatsDecoder();

/** Splits `items` into min(n, length) contiguous shards whose sizes differ by at most one. */
export function splitShards<T>(items: readonly T[], n: number): T[][] {
  const count = Math.max(0, Math.min(n, items.length));
  const shards: T[][] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const size = Math.floor(items.length / count) + (i < items.length % count ? 1 : 0);
    shards.push(items.slice(start, start + size));
    start += size;
  }
  return shards;
}

/**
 * Whether libvirt answered for an active domain without the stats that need its job (NOWAIT skipped it
 * because a migration, a shutdown or a stuck QEMU monitor holds the job). Checked here: such a record
 * still lists the disks (name, path) but without their I/O counters and sizes.
 */
export function isPartial(stats: DomainStats, groups: readonly StatsGroup[]): boolean {
  return (
    groups.includes('block') &&
    stats.blocks.some(
      (b) => b.path !== undefined && b.readRequests === undefined && b.capacityBytes === undefined,
    )
  );
}

/** What the shards of one cycle read. */
export interface ShardsRead {
  /** Decoded records by domain UUID. */
  readonly stats: Map<string, DomainStats>;
  /** Domains of the shards whose first call hung past the soft timeout. */
  readonly timedOut: ReadonlySet<string>;
  /** Domains of the shards that failed: reported, never dropped silently. */
  readonly skipped: SkippedDomain[];
  readonly roundTrips: number;
}

/** One cycle's shards in progress. */
interface ShardRun {
  readonly groups: readonly StatsGroup[];
  readonly key: string;
  readonly mask: number;
  readonly signal: AbortSignal | undefined;
  readonly stats: Map<string, DomainStats>;
  readonly timedOut: Set<string>;
  readonly skipped: SkippedDomain[];
  roundTrips: number;
}

export interface StatsShardsOptions {
  readonly client: LibvirtClient;
  readonly guard: CallGuard;
  readonly clock: Clock;
  /** Most concurrent bulk calls per cycle. */
  readonly maxShards: number;
  /** Soft timeout of a shard before it is abandoned and retried, in ms (plus 20 ms per guest). */
  readonly shardTimeoutMs: number;
}

/** The stats shards of every cycle, with what outlives a cycle: stuck guests and late answers. */
export class StatsShards {
  /** Domains whose stats call hung: reported as timed out (not merely busy) until they answer in full. */
  readonly #stuck = new Set<string>();
  /**
   * Full records from the late replies of abandoned shard calls, by domain UUID: when a hung guest's
   * QEMU resumes, libvirtd answers the stuck call, and that answer may arrive just after the next
   * cycle's NOWAIT call found the guest's job still held. Used once, and only while fresh.
   */
  readonly #late = new Map<
    string,
    { readonly at: number; readonly key: string; readonly stats: DomainStats }
  >();

  constructor(private readonly o: StatsShardsOptions) {}

  /** Reads the stats of `domains` for a cycle that started at `started` (clock ms). */
  async read(
    domains: readonly Domain[],
    groups: readonly StatsGroup[],
    signal: AbortSignal | undefined,
    started: number,
  ): Promise<ShardsRead> {
    const key = groups.join(',');
    const mask = groups.reduce((m, g) => m | GROUP_BITS[g], 0);
    const run: ShardRun = {
      groups,
      key,
      mask,
      signal,
      stats: new Map(),
      timedOut: new Set(),
      skipped: [],
      roundTrips: 0,
    };
    // NOTE: inactive domains are listed in the shards too: libvirt answers their state from its own
    // memory (no QEMU), and a domain that vanished between the list and the stats call only costs a retry.
    await Promise.all(splitShards(domains, this.o.maxShards).map((shard) => this.#runShard(shard, run)));
    this.#useLateRecords(run.stats, groups, key, started);
    return run;
  }

  /**
   * Why an active domain's record is incomplete: `timeout` while its stats call hung (until it answers
   * in full), `busy` when another job holds it, or undefined when complete (or shut off).
   */
  incompleteReason(
    uuid: string,
    stats: DomainStats,
    stateCode: number,
    read: ShardsRead,
    groups: readonly StatsGroup[],
  ): 'timeout' | 'busy' | undefined {
    const partial = isPartial(stats, groups);
    if (!partial) this.#stuck.delete(uuid);
    if ((read.timedOut.has(uuid) || this.#stuck.has(uuid)) && partial) {
      this.#stuck.add(uuid);
      return 'timeout';
    } else if (partial && stateCode !== DomainState.SHUTOFF) {
      return 'busy';
    }
    return undefined;
  }

  /** Forgets the stuck domains that are no longer listed. */
  retain(live: ReadonlySet<string>): void {
    for (const uuid of this.#stuck) if (!live.has(uuid)) this.#stuck.delete(uuid);
  }

  async #runShard(shard: readonly Domain[], run: ShardRun): Promise<void> {
    // The soft timeout grows with the shard (libvirtd needs about 5 ms per guest, more under load), so
    // that a large healthy shard is not mistaken for a hung one.
    const softMs = this.o.shardTimeoutMs + 20 * shard.length;
    // NOTE: not AbortSignal.any([…, AbortSignal.timeout()]): on Node 20 garbage collection can lose the
    // timeout, and then a shard stuck on a hung guest waited for the caller's whole deadline.
    const soft = clockDeadline(this.o.clock, softMs, run.signal);
    let records: DomainStats[];
    try {
      run.roundTrips += 1;
      records = await this.o.guard.run('reading domain stats', soft.signal, () =>
        this.o.client.readAllDomainStats({ domains: shard, stats: run.mask, flags: NOWAIT }, DECODER, {
          signal: soft.signal,
          onLateReply: (late) => {
            this.#keepLate(late, run);
          },
        }),
      );
    } catch (err) {
      if (!(err instanceof InspectorTimeoutError) || run.signal?.aborted === true) {
        skipShard(run, shard, err);
        return;
      }
      const retried = await this.#retry(shard, run);
      if (retried === undefined) return;
      records = retried;
    } finally {
      soft.clear();
    }
    for (const s of records) run.stats.set(s.uuid, s);
  }

  /**
   * After a soft timeout: one of these guests holds the call. Sends the shard again: the stuck call
   * keeps that guest's job, so this NOWAIT call skips it and answers for the others.
   */
  async #retry(shard: readonly Domain[], run: ShardRun): Promise<DomainStats[] | undefined> {
    const { signal } = run;
    for (const d of shard) run.timedOut.add(d.uuid);
    try {
      run.roundTrips += 1;
      return await this.o.guard.run('reading domain stats (retry)', signal, () =>
        this.o.client.readAllDomainStats(
          { domains: shard, stats: run.mask, flags: NOWAIT },
          DECODER,
          signal ? { signal } : {},
        ),
      );
    } catch (retryErr) {
      skipShard(run, shard, retryErr);
      return undefined;
    }
  }

  /** A stuck call's answer, if it still comes: the guest's full stats, as soon as its QEMU answers. */
  #keepLate(records: DomainStats[], run: ShardRun): void {
    const at = this.o.clock.now();
    for (const decoded of records) {
      if (!isPartial(decoded, run.groups)) this.#late.set(decoded.uuid, { at, key: run.key, stats: decoded });
    }
  }

  /**
   * Puts the late answer of a stuck call in place of a partial record (the guest's QEMU resumed, and
   * its answer came while this cycle's NOWAIT call still found the job held), if it is recent: no
   * older than the shard timeout before this cycle started. Late records are used once.
   */
  #useLateRecords(
    stats: Map<string, DomainStats>,
    groups: readonly StatsGroup[],
    key: string,
    started: number,
  ): void {
    for (const [uuid, late] of this.#late) {
      if (late.at < started - this.o.shardTimeoutMs) {
        this.#late.delete(uuid);
        continue;
      }
      if (late.key !== key) continue;
      this.#late.delete(uuid);
      const current = stats.get(uuid);
      if (current === undefined || isPartial(current, groups)) stats.set(uuid, late.stats);
    }
  }
}

/** A shard that failed: its guests are reported, never dropped silently; a lost connection fails the cycle. */
function skipShard(run: ShardRun, shard: readonly Domain[], err: unknown): void {
  const reason = err instanceof InspectorTimeoutError ? 'timeout' : 'error';
  const message = err instanceof Error ? err.message : String(err);
  for (const d of shard) run.skipped.push({ uuid: d.uuid, name: d.name, reason, message });
  if (err instanceof DisconnectedError) throw err;
}
