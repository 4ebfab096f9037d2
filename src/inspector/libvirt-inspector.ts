// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The {@link Inspector} over the project's libvirt RPC client.
 *
 * One cycle is: list every domain (1 round trip), bulk stats for all of them split into a few concurrent
 * shards (NOWAIT), and the XML of domains that are new or changed (cached otherwise). A guest whose QEMU
 * stops answering makes the first bulk call that touches it hang, even with NOWAIT (libvirtd takes the
 * guest's job and waits on its monitor); so a shard that does not answer within a soft timeout is
 * abandoned (its late reply is discarded by serial) and sent again once: the stuck call still holds the
 * hung guest's job, so the retry skips it (NOWAIT) and returns everyone else. Guests that come back only
 * partially from such a retry are reported as timed out; the next cycles carry their partial stats. When
 * the guest's QEMU answers again, libvirtd answers the stuck call too: that late answer is kept, and the
 * next cycle uses it if its own NOWAIT call still found the job held, so the guest is back at once.
 */
import { setMaxListeners } from 'node:events';
import {
  DOMAIN_STATE_NAMES,
  DomainEventType,
  DomainState,
  DomainStatsTypes,
  GetAllDomainStatsFlags,
  LibvirtClient,
  LibvirtConnectionError,
  LibvirtError,
  deadline,
  parseLibvirtUri,
  type Domain,
  type DomainStatsRecord,
  type IoErrorEvent,
  type LifecycleEvent,
  type WatchdogEvent,
  VIR_ERR,
} from '../libvirt/index.ts';
import { domainGetBlockInfo } from '../libvirt/index.ts';
import { domainGetJobInfo, listAllStoragePools, storagePoolGetInfo } from '../libvirt/index.ts';
import { DomainXmlError, parseDomainXml } from './domain-xml.ts';
import { decodeDomainStats } from './stats.ts';
import { CgroupReader, type GuestPressure } from './cgroups.ts';
import { DomainEventCounts, type DomainEventCount } from './events.ts';
import { readGuestInfo, type GuestInfoResult } from './guest-agent.ts';
import { DisconnectedError, InspectorError, InspectorTimeoutError, LibvirtCallError } from './errors.ts';
import type {
  BlockStats,
  CallOptions,
  DomainDescription,
  DomainStateName,
  DomainStats,
  HostInfo,
  InspectOptions,
  Inspection,
  Inspector,
  InspectorCounters,
  JobInfo,
  StoragePoolInfo,
  Instance,
  SkippedDomain,
  StatsGroup,
} from './types.ts';
import { diskOf, vnicOf } from './devices.ts';

/** How long the shared read of the host's info may take (five small calls that need no guest). */
const HOST_INFO_TIMEOUT_MS = 10_000;
/** How long the shared read of the storage pools may take (one list call, one info call per pool). */
const POOLS_TIMEOUT_MS = 10_000;

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

/** The groups read when the caller does not say (everything libvirt 9 offers that costs no extra setup). */
export const DEFAULT_GROUPS: readonly StatsGroup[] = [
  'state',
  'cpu',
  'balloon',
  'vcpu',
  'interface',
  'block',
];

/** Skip the groups that need a busy domain's job (VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT). */
const NOWAIT = GetAllDomainStatsFlags.NOWAIT;

/** Options of {@link createLibvirtInspector}. */
export interface LibvirtInspectorOptions {
  /** libvirt URI; default `qemu:///system` over the read-only socket. */
  readonly uri?: string;
  /** Open read-write (never needed by this project). Default false. */
  readonly readWrite?: boolean;
  /** TLS file overrides for `qemu+tls://`. */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** Connect timeout in ms (default 2000). */
  readonly connectTimeoutMs?: number;
  /** Most concurrent bulk stats calls per cycle (default 4; libvirtd serves 5 calls per connection). */
  readonly maxShards?: number;
  /** Soft timeout of a stats shard before it is abandoned and retried, in ms (default 2000). */
  readonly shardTimeoutMs?: number;
  /** An existing client (tests); otherwise one is created from the options above. */
  readonly client?: LibvirtClient;
  /**
   * The read-write client for guest agent calls (tests); otherwise `client` when given, else one is
   * created for the guest_agent collector's URI on first use.
   */
  readonly agentClient?: LibvirtClient;
  /** Where libvirt writes QEMU pid files and where /proc is (tests); see {@link CgroupReader}. */
  readonly cgroupPaths?: { readonly pidDir?: string; readonly proc?: string };
  /** Clock for event retention (tests). */
  readonly now?: () => number;
}

/** A cycle in flight, shared by every caller that asks for the same groups meanwhile. */
interface Flight {
  readonly promise: Promise<Inspection>;
  readonly controller: AbortController;
  /** Callers still waiting (each has its own deadline). */
  waiting: number;
}

interface CachedDescription {
  readonly id: number;
  readonly description: DomainDescription;
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

/** Maps a client error into the inspector's taxonomy. */
function classify(err: unknown, what: string, signal?: AbortSignal): InspectorError {
  if (err instanceof InspectorError) return err;
  if (signal?.aborted === true) {
    return new InspectorTimeoutError(`${what}: deadline exceeded`, { cause: abortReason(signal) });
  }
  if (err instanceof LibvirtConnectionError)
    return new DisconnectedError(`${what}: ${err.message}`, { cause: err });
  if (err instanceof LibvirtError) return new LibvirtCallError(`${what}: ${err.message}`, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new InspectorError(`${what}: ${message}`, { cause: err });
}

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
function isPartial(stats: DomainStats, groups: readonly StatsGroup[]): boolean {
  return (
    groups.includes('block') &&
    stats.blocks.some(
      (b) => b.path !== undefined && b.readRequests === undefined && b.capacityBytes === undefined,
    )
  );
}

/** The libvirt inspector. */
export class LibvirtInspector implements Inspector {
  readonly client: LibvirtClient;
  readonly #maxShards: number;
  readonly #shardTimeoutMs: number;
  readonly #descriptions = new Map<string, CachedDescription>();
  readonly #inflight = new Map<string, Flight>();
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
  #subscribed = false;
  /** Event kinds subscribed (or refused by the daemon): never subscribed twice. */
  readonly #eventKinds = new Set<string>();
  readonly #events: DomainEventCounts;
  #agent: { readonly uri: string; readonly client: LibvirtClient; readonly own: boolean } | undefined;
  readonly #agentOption: LibvirtClient | undefined;
  readonly #connectTimeoutMs: number;
  #cgroups: CgroupReader | undefined;
  readonly #cgroupPaths: { readonly pidDir?: string; readonly proc?: string };
  /** Why this host's cgroups say nothing about the guests (remote libvirt, injected client), or undefined. */
  readonly #cgroupsNotLocal: string | undefined;
  #host: HostInfo | undefined;
  #connected = false;

  constructor(options: LibvirtInspectorOptions = {}) {
    this.client =
      options.client ??
      new LibvirtClient({
        ...(options.uri !== undefined ? { uri: options.uri } : {}),
        readOnly: options.readWrite !== true,
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
        connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      });
    this.#agentOption = options.agentClient ?? options.client;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.#cgroupPaths = options.cgroupPaths ?? {};
    // Pressure comes from this machine's cgroups: only meaningful when libvirtd runs here.
    if (options.client !== undefined)
      this.#cgroupsNotLocal =
        options.cgroupPaths === undefined ? 'an injected libvirt client (no cgroupPaths given)' : undefined;
    else {
      let local: boolean;
      try {
        local = parseLibvirtUri(options.uri ?? 'qemu:///system').target.kind === 'unix';
      } catch {
        local = false;
      }
      this.#cgroupsNotLocal = local ? undefined : `libvirt at ${options.uri ?? ''} is not on this machine`;
    }
    this.#events = new DomainEventCounts(options.now);
    // Counted from the first subscription (startEvents(), or the first inspection) for as long as we run.
    this.client.on('lifecycle', (event: LifecycleEvent) => {
      this.#events.lifecycle(event);
    });
    this.client.on('ioError', (event: IoErrorEvent) => {
      this.#events.ioError(event);
    });
    this.client.on('watchdog', (event: WatchdogEvent) => {
      this.#events.watchdog(event);
    });
    this.#maxShards = options.maxShards ?? 4;
    this.#shardTimeoutMs = options.shardTimeoutMs ?? 2000;
    // The daemon tells us when a domain changes; a reconnect may hide changes, so forget everything then.
    this.client.on('lifecycle', (event: { domain: Domain; event: number }) => {
      // Suspend, resume and PM suspend (3, 4, 7) leave the XML as it is; the others may change it.
      if (
        event.event !== DomainEventType.SUSPENDED &&
        event.event !== DomainEventType.RESUMED &&
        event.event !== DomainEventType.PMSUSPENDED
      )
        this.#descriptions.delete(event.domain.uuid);
    });
    // The balloon gave the guest more or less memory: what the live XML's <currentMemory> now says.
    this.client.on('balloon', (event: { domain: Domain; actualKiB: number }) => {
      const cached = this.#descriptions.get(event.domain.uuid);
      if (cached !== undefined)
        this.#descriptions.set(event.domain.uuid, {
          id: cached.id,
          description: { ...cached.description, currentMemoryKiB: event.actualKiB },
        });
    });
    // NOTE: the client registers the lifecycle subscription again on a new connection by itself.
    this.client.on('reconnect', (reason: string) => {
      // A connection retired for its stuck calls talks to the same daemon: the XML cache stays (emptying
      // it made the next scrape read every guest's XML again, under exactly the load that caused it).
      if (reason === 'rotated') return;
      this.#descriptions.clear();
      this.#host = undefined;
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  #inspections = 0;

  counters(): InspectorCounters {
    const c = this.client.state;
    return {
      inspections: this.#inspections,
      calls: c.calls,
      callErrors: c.errors,
      abandonedCalls: c.abandoned,
      reconnects: c.reconnects,
      callsInFlight: c.inFlight,
    };
  }

  async #guard<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      this.#connected = true;
      return result;
    } catch (err) {
      const e = classify(err, what, signal);
      if (e instanceof DisconnectedError) this.#connected = false;
      else if (!(e instanceof InspectorTimeoutError)) this.#connected = true;
      throw e;
    }
  }

  async listInstances(options: CallOptions = {}): Promise<readonly Instance[]> {
    return (await this.inspectAll({ ...options, groups: ['state'] })).instances;
  }

  /**
   * Runs one inspection cycle, or joins the one in flight for the same groups (two Prometheus replicas
   * scraping at once share one set of libvirt calls). A joiner still stops waiting at its own deadline.
   */
  inspectAll(options: InspectOptions = {}): Promise<Inspection> {
    const groups = [...new Set<StatsGroup>(['state', ...(options.groups ?? DEFAULT_GROUPS)])].sort();
    const key = groups.join(',');
    let flight = this.#inflight.get(key);
    if (flight === undefined) {
      this.#inspections += 1;
      const controller = new AbortController();
      // Removed from the map before any caller sees the result, so the next call starts a new cycle.
      const promise = this.#cycle(groups, controller.signal).finally(() => this.#inflight.delete(key));
      // Callers that gave up no longer listen: the rejection is theirs to see, not unhandled.
      promise.catch(() => undefined);
      const f: Flight = { promise, controller, waiting: 0 };
      this.#inflight.set(key, f);
      flight = f;
    }
    // The cycle runs until its last waiting caller gives up (the latest deadline), not the first.
    const joined = flight;
    joined.waiting += 1;
    const signal = options.signal;
    if (signal === undefined) {
      // A caller without a deadline keeps the cycle alive.
      joined.waiting = Number.POSITIVE_INFINITY;
      return joined.promise;
    }
    const leave = (): void => {
      joined.waiting -= 1;
      if (joined.waiting <= 0) joined.controller.abort(signal.reason);
    };
    if (signal.aborted) leave();
    else signal.addEventListener('abort', leave, { once: true });
    return withSignal(joined.promise, signal, 'inspection').finally(() => {
      signal.removeEventListener('abort', leave);
    });
  }

  async #cycle(groups: readonly StatsGroup[], callerSignal: AbortSignal | undefined): Promise<Inspection> {
    const started = performance.now();
    // One signal for the cycle's calls: every pending call listens to it, and with hundreds of guests
    // (their XML on the first cycle) that is more listeners than Node's default warning threshold.
    // (The signal is the flight's own controller's, so raising its limit affects no one else.)
    const signal = callerSignal;
    if (signal) setMaxListeners(0, signal);
    const timestampSeconds = Date.now() / 1000;
    let roundTrips = 0;
    const domains = await this.#guard('listing domains', signal, () => {
      roundTrips += 1;
      return this.client.listAllDomains(0, { signal });
    });
    // Once: ask the daemon for lifecycle events, so that cached XML is dropped when a domain changes
    // (the client registers again after a reconnect). Without events, ids and devices still tell.
    if (!this.#subscribed && typeof this.client.subscribeLifecycle === 'function') {
      roundTrips += 4;
      await this.startEvents(signal);
    }

    const mask = groups.reduce((m, g) => m | GROUP_BITS[g], 0);
    const key = groups.join(',');
    // A stuck call's answer, if it still comes: the guest's full stats, as soon as its QEMU answers.
    const keepLate = (records: DomainStatsRecord[]): void => {
      const at = performance.now();
      for (const r of records) {
        const decoded = decodeDomainStats(r.domain, r.params);
        if (!isPartial(decoded, groups)) this.#late.set(r.domain.uuid, { at, key, stats: decoded });
      }
    };
    const skipped: SkippedDomain[] = [];
    const stats = new Map<string, DomainStats>();
    const timedOut = new Set<string>();

    // A shard that failed: its guests are reported, never dropped silently; a lost connection fails the cycle.
    const skipShard = (shard: readonly Domain[], err: unknown): void => {
      const reason = err instanceof InspectorTimeoutError ? 'timeout' : 'error';
      const message = err instanceof Error ? err.message : String(err);
      for (const d of shard) skipped.push({ uuid: d.uuid, name: d.name, reason, message });
      if (err instanceof DisconnectedError) throw err;
    };

    const runShard = async (shard: readonly Domain[]): Promise<void> => {
      // The soft timeout grows with the shard (libvirtd needs about 5 ms per guest, more under load), so
      // that a large healthy shard is not mistaken for a hung one.
      const softMs = this.#shardTimeoutMs + 20 * shard.length;
      // NOTE: not AbortSignal.any([…, AbortSignal.timeout()]): on Node 20 garbage collection can lose the
      // timeout, and then a shard stuck on a hung guest waited for the caller's whole deadline.
      const soft = deadline(softMs, signal);
      let records: DomainStatsRecord[];
      try {
        roundTrips += 1;
        records = await this.#guard('reading domain stats', soft.signal, () =>
          this.client.getAllDomainStats(
            { domains: shard, stats: mask, flags: NOWAIT },
            { signal: soft.signal, onLateReply: keepLate, int64AsNumber: true },
          ),
        );
      } catch (err) {
        if (!(err instanceof InspectorTimeoutError) || signal?.aborted === true) {
          skipShard(shard, err);
          return;
        }
        // Soft timeout: one of these guests holds the call. Send the shard again: the stuck call keeps
        // that guest's job, so this NOWAIT call skips it and answers for the others.
        for (const d of shard) timedOut.add(d.uuid);
        try {
          roundTrips += 1;
          records = await this.#guard('reading domain stats (retry)', signal, () =>
            this.client.getAllDomainStats(
              { domains: shard, stats: mask, flags: NOWAIT },
              signal ? { signal, int64AsNumber: true } : { int64AsNumber: true },
            ),
          );
        } catch (retryErr) {
          skipShard(shard, retryErr);
          return;
        }
      } finally {
        soft.clear();
      }
      for (const r of records) stats.set(r.domain.uuid, decodeDomainStats(r.domain, r.params));
    };

    // NOTE: inactive domains are listed in the shards too: libvirt answers their state from its own
    // memory (no QEMU), and a domain that vanished between the list and the stats call only costs a retry.
    await Promise.all(splitShards(domains, this.#maxShards).map(runShard));
    this.#useLateRecords(stats, groups, key, started);

    const instances: Instance[] = [];
    const describe: Domain[] = [];
    for (const d of domains) {
      const cached = this.#descriptions.get(d.uuid);
      const s = stats.get(d.uuid);
      const devicesChanged =
        cached !== undefined &&
        s !== undefined &&
        // NOTE: a disk without a source (empty CD-ROM) has no path in the stats and is not listed.
        (s.blocks.some((b) => b.path !== undefined && diskOf(cached.description, b.name) === undefined) ||
          s.interfaces.some((i) => i.name !== '' && vnicOf(cached.description, i.name) === undefined));
      if (cached === undefined || cached.id !== d.id || devicesChanged) describe.push(d);
    }
    await Promise.all(
      describe.map(async (d) => {
        try {
          roundTrips += 1;
          const xml = await this.#guard('reading domain XML', signal, () =>
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
    for (const uuid of this.#stuck) if (!live.has(uuid)) this.#stuck.delete(uuid);

    for (const d of domains) {
      const desc = this.#descriptions.get(d.uuid)?.description;
      if (desc === undefined) continue;
      const s = stats.get(d.uuid);
      const stateCode = s?.stateCode ?? (d.id > 0 ? DomainState.NOSTATE : DomainState.SHUTOFF);
      instances.push({
        ...desc,
        name: d.name,
        uuid: d.uuid,
        id: d.id,
        state: (DOMAIN_STATE_NAMES[stateCode] ?? 'nostate') as DomainStateName,
        stateCode,
        stateReason: s?.stateReason ?? 0,
      });
      if (s !== undefined && d.id > 0) {
        const partial = isPartial(s, groups);
        if (!partial) this.#stuck.delete(d.uuid);
        if ((timedOut.has(d.uuid) || this.#stuck.has(d.uuid)) && partial) {
          this.#stuck.add(d.uuid);
          skipped.push({
            uuid: d.uuid,
            name: d.name,
            reason: 'timeout',
            message: 'stats call timed out; partial stats',
          });
        } else if (partial && stateCode !== DomainState.SHUTOFF) {
          skipped.push({
            uuid: d.uuid,
            name: d.name,
            reason: 'busy',
            message: 'domain job busy; partial stats',
          });
        }
      }
    }
    // Only running and paused domains have stats worth reporting.
    const active = new Set(instances.filter((i) => i.id > 0).map((i) => i.uuid));
    for (const [uuid, s] of stats)
      if (!active.has(uuid) || s.stateCode === DomainState.SHUTOFF) stats.delete(uuid);

    return {
      instances,
      stats,
      skipped,
      timestampSeconds,
      durationSeconds: (performance.now() - started) / 1000,
      roundTrips,
    };
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
      if (late.at < started - this.#shardTimeoutMs) {
        this.#late.delete(uuid);
        continue;
      }
      if (late.key !== key) continue;
      this.#late.delete(uuid);
      const current = stats.get(uuid);
      if (current === undefined || isPartial(current, groups)) stats.set(uuid, late.stats);
    }
  }

  readonly #hostRead = new SharedRead<HostInfo>('host info', HOST_INFO_TIMEOUT_MS, (signal) =>
    this.#readHost(signal),
  );

  /**
   * The host's identity and size, read once per connection (five small calls). Concurrent first callers
   * (two scrapes, the readiness probe, the publisher) share one read, bounded by its own deadline; each
   * caller still stops waiting at its own.
   */
  hostInfo(options: CallOptions = {}): Promise<HostInfo> {
    if (this.#host !== undefined) return Promise.resolve(this.#host);
    return this.#hostRead.join(options.signal);
  }

  async #readHost(signal: AbortSignal): Promise<HostInfo> {
    const o = { signal };
    const [hostname, libvirtVersion, hypervisorVersion, hypervisorType, node] = await this.#guard(
      'reading host info',
      signal,
      () =>
        Promise.all([
          this.client.connectGetHostname(o),
          this.client.connectGetLibVersion(o),
          this.client.connectGetVersion(o),
          this.client.connectGetType(o),
          this.client.nodeGetInfo(o),
        ]),
    );
    const host: HostInfo = {
      hostname,
      libvirtVersion,
      hypervisorVersion,
      hypervisorType,
      cpuModel: node.model,
      memoryKiB: node.memory,
      cpus: node.cpus,
      mhz: node.mhz,
      nodes: node.nodes,
      sockets: node.sockets,
      cores: node.cores,
      threads: node.threads,
    };
    this.#host = host;
    return host;
  }

  // Under its own deadline, as host info: a caller that gives up early (a client asking for a short
  // scrape deadline) must not cancel the read that a concurrent Prometheus scrape shares (issue 15 item 7).
  readonly #poolsRead = new SharedRead<readonly StoragePoolInfo[]>(
    'storage pools',
    POOLS_TIMEOUT_MS,
    (signal) => this.#readPools({ signal }),
  );

  /**
   * Every storage pool: one list call, then one info call per pool (concurrently). Concurrent scrapes
   * share the calls in flight, as they share the inspection; the shared read has its own deadline and
   * each caller stops waiting at its own.
   */
  storagePools(options: CallOptions = {}): Promise<readonly StoragePoolInfo[]> {
    return this.#poolsRead.join(options.signal);
  }

  async #readPools(options: CallOptions): Promise<readonly StoragePoolInfo[]> {
    const { signal } = options;
    const o = signal ? { signal } : {};
    return this.#guard('reading storage pools', signal, async () => {
      const pools = await listAllStoragePools(this.client, 0, o);
      return Promise.all(
        pools.map(async (p) => {
          const i = await storagePoolGetInfo(this.client, p, o);
          return {
            name: p.name,
            uuid: p.uuid,
            state: i.state,
            capacityBytes: Number(i.capacity),
            allocationBytes: Number(i.allocation),
            availableBytes: Number(i.available),
          };
        }),
      );
    });
  }

  /**
   * The current job of each running domain. There is no bulk call for jobs: one call per domain, so
   * the job collector is opt-in. A domain that vanished meanwhile is left out.
   */
  async jobInfo(
    instances: readonly Instance[],
    options: CallOptions = {},
  ): Promise<ReadonlyMap<string, JobInfo>> {
    const { signal } = options;
    const o = signal ? { signal } : {};
    const out = new Map<string, JobInfo>();
    await this.#guard('reading domain jobs', signal, () =>
      Promise.all(
        instances.map(async (i) => {
          try {
            const j = await domainGetJobInfo(this.client, { name: i.name, uuid: i.uuid, id: i.id }, o);
            out.set(i.uuid, {
              type: j.type,
              timeElapsedMs: Number(j.timeElapsed),
              timeRemainingMs: Number(j.timeRemaining),
              dataTotalBytes: Number(j.dataTotal),
              dataProcessedBytes: Number(j.dataProcessed),
              dataRemainingBytes: Number(j.dataRemaining),
              memoryTotalBytes: Number(j.memTotal),
              memoryProcessedBytes: Number(j.memProcessed),
              memoryRemainingBytes: Number(j.memRemaining),
              fileTotalBytes: Number(j.fileTotal),
              fileProcessedBytes: Number(j.fileProcessed),
              fileRemainingBytes: Number(j.fileRemaining),
            });
          } catch (err) {
            if (
              err instanceof LibvirtError &&
              (err.code === VIR_ERR.NO_DOMAIN || err.code === VIR_ERR.OPERATION_INVALID)
            )
              return;
            throw err;
          }
        }),
      ),
    );
    return out;
  }

  /**
   * Subscribes to the domain events the exporter uses, once: lifecycle and balloon changes (cache
   * upkeep, event counts), I/O errors and watchdog firings (event counts). main.ts calls it at start so
   * that events are counted from the exporter's start; the first inspection calls it otherwise.
   */
  async startEvents(signal?: AbortSignal): Promise<void> {
    if (this.#subscribed || typeof this.client.subscribeLifecycle !== 'function') return;
    this.#subscribed = true;
    // A daemon that refuses an event is not asked again; ids and devices still reveal changes.
    // Balloon changes keep the cached <currentMemory> current (the domain collector serves it when
    // no collector reads the balloon stats group). A daemon that is down (or a deadline) is not a
    // refusal: the next inspection subscribes what is missing (never twice: events would count twice).
    const o = signal ? { signal } : {};
    const kinds = {
      lifecycle: () => this.client.subscribeLifecycle(null, o),
      balloon: () => this.client.subscribeBalloonChange(null, o),
      ioError: () => this.client.subscribeIoError(null, o),
      watchdog: () => this.client.subscribeWatchdog(null, o),
    };
    const missing: string[] = [];
    await Promise.all(
      Object.entries(kinds).map(async ([kind, subscribe]) => {
        if (this.#eventKinds.has(kind)) return;
        try {
          await subscribe();
          this.#eventKinds.add(kind);
        } catch (err) {
          if (err instanceof LibvirtError) this.#eventKinds.add(kind);
          else missing.push(kind);
        }
      }),
    );
    if (missing.length > 0) this.#subscribed = false;
  }

  domainEvents(present: ReadonlySet<string>, retentionMs: number): readonly DomainEventCount[] {
    return this.#events.snapshot(present, retentionMs);
  }

  /**
   * The guest agent's view of each running guest: one virDomainGetGuestInfo (OS, hostname,
   * filesystems) per guest over a read-write connection to `uri` (libvirt refuses agent calls on a
   * read-only one), concurrently (the client keeps at most 5 on the wire), all under `signal`.
   */
  async guestInfo(
    instances: readonly Instance[],
    options: CallOptions & { readonly uri: string },
  ): Promise<ReadonlyMap<string, GuestInfoResult>> {
    const client = this.#agentClient(options.uri);
    const running = instances.filter((i) => i.id > 0 && i.state === 'running');
    const results = await Promise.all(
      running.map(async (i) => [i.uuid, await readGuestInfo(client, i, options.signal)] as const),
    );
    return new Map(results);
  }

  #agentClient(uri: string): LibvirtClient {
    if (this.#agentOption !== undefined) return this.#agentOption;
    if (this.#agent?.uri !== uri) {
      if (this.#agent?.own === true) void this.#agent.client.close();
      this.#agent = {
        uri,
        own: true,
        client: new LibvirtClient({ uri, readOnly: false, connectTimeoutMs: this.#connectTimeoutMs }),
      };
    }
    return this.#agent.client;
  }

  /** Pressure (PSI) and CPU throttling of each running guest's cgroup v2 directory. */
  pressure(
    instances: readonly Instance[],
    options: { readonly cgroupRoot?: string | undefined },
  ): { readonly unavailable?: string; readonly byUuid: ReadonlyMap<string, GuestPressure> } {
    if (this.#cgroupsNotLocal !== undefined) return { unavailable: this.#cgroupsNotLocal, byUuid: new Map() };
    if (this.#cgroups === undefined || this.#cgroups.root !== (options.cgroupRoot ?? this.#cgroups.root))
      this.#cgroups = new CgroupReader({ root: options.cgroupRoot, ...this.#cgroupPaths });
    const reader = this.#cgroups;
    const byUuid = new Map<string, GuestPressure>();
    if (reader.unavailable !== undefined) return { unavailable: reader.unavailable, byUuid };
    const running = instances.filter((i) => i.id > 0);
    reader.retain(running);
    for (const i of running) {
      const p = reader.read(i);
      if (p !== undefined) byUuid.set(i.uuid, p);
    }
    return { byUuid };
  }

  /**
   * Disk sizes of the shut-off instances, one virDomainGetBlockInfo per disk with a source (what
   * Ceilometer's inspect_disk_info reads for a SHUTOFF domain). A domain or disk that vanished
   * meanwhile is left out.
   */
  async stoppedDisks(
    instances: readonly Instance[],
    options: CallOptions = {},
  ): Promise<ReadonlyMap<string, readonly BlockStats[]>> {
    const { signal } = options;
    const o = signal ? { signal } : {};
    const out = new Map<string, BlockStats[]>();
    await this.#guard('reading the disks of stopped domains', signal, () =>
      Promise.all(
        instances
          .filter((i) => i.state === 'shutoff')
          .map(async (i) => {
            const blocks: BlockStats[] = [];
            for (const [index, d] of i.disks.entries()) {
              try {
                const b = await domainGetBlockInfo(
                  this.client,
                  { name: i.name, uuid: i.uuid, id: -1 },
                  d.target,
                  o,
                );
                blocks.push({
                  index,
                  name: d.target,
                  capacityBytes: Number(b.capacity),
                  allocationBytes: Number(b.allocation),
                  physicalBytes: Number(b.physical),
                });
              } catch (err) {
                if (
                  err instanceof LibvirtError &&
                  (err.code === VIR_ERR.NO_DOMAIN ||
                    err.code === VIR_ERR.OPERATION_INVALID ||
                    err.code === VIR_ERR.INVALID_ARG)
                )
                  continue;
                throw err;
              }
            }
            out.set(i.uuid, blocks);
          }),
      ),
    );
    return out;
  }

  async close(): Promise<void> {
    if (this.#agent?.own === true) await this.#agent.client.close();
    await this.client.close();
  }
}

/** Waits for `p`, but rejects when `signal` aborts first. */
/**
 * One read shared by concurrent callers, under its own deadline (`timeoutMs`): the first caller starts
 * it, later callers join it while it runs, and every caller stops waiting at its own deadline; no
 * caller's deadline cancels the read. A read whose deadline has passed is never joined: the next
 * caller starts a new one.
 */
class SharedRead<T> {
  #inFlight: { readonly promise: Promise<T>; readonly signal: AbortSignal } | undefined;

  constructor(
    private readonly what: string,
    private readonly timeoutMs: number,
    private readonly start: (signal: AbortSignal) => Promise<T>,
  ) {}

  join(signal: AbortSignal | undefined): Promise<T> {
    if (this.#inFlight === undefined || this.#inFlight.signal.aborted) {
      const d = deadline(this.timeoutMs);
      const p = this.start(d.signal).finally(() => {
        d.clear();
        if (this.#inFlight?.promise === p) this.#inFlight = undefined;
      });
      // Callers that gave up no longer listen: the rejection is theirs to see, not unhandled.
      p.catch(() => undefined);
      this.#inFlight = { promise: p, signal: d.signal };
    }
    return withSignal(this.#inFlight.promise, signal, this.what);
  }
}

function withSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(new InspectorTimeoutError(`${what}: deadline exceeded`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new InspectorTimeoutError(`${what}: deadline exceeded`, { cause: abortReason(signal) }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Creates the libvirt inspector. */
export function createLibvirtInspector(options: LibvirtInspectorOptions = {}): LibvirtInspector {
  return new LibvirtInspector(options);
}
