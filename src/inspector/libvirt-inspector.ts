// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The {@link Inspector} over the project's libvirt RPC client.
 *
 * This file wires the parts together and shares work between concurrent callers: one inspection cycle
 * per set of groups in flight (inspection-cycle.ts: listing, the stats shards with their soft timeouts
 * in stats-shards.ts, the XML description cache in description-cache.ts), one read of the host's info
 * and one of the storage pools (host-and-pools.ts), each under its own deadline. Per-domain reads are
 * in domain-calls.ts (jobs, stopped domains' disks), guest-agent.ts and pressure.ts; event
 * subscriptions in event-subscriptions.ts. Every timer goes through the `clock` option.
 */
import { clockDeadline, raceSignal, systemClock, type Clock, type LibvirtClient } from '../libvirt/index.ts';
import { CallGuard, abortReason } from './call-guard.ts';
import type { GuestPressure } from './cgroups.ts';
import { DescriptionCache } from './description-cache.ts';
import { readJobs, readStoppedDisks } from './domain-calls.ts';
import { InspectorTimeoutError } from './errors.ts';
import { EventSubscriptions } from './event-subscriptions.ts';
import { DomainEventCounts, type DomainEventCount } from './events.ts';
import { AgentClients, readGuestInfos, type GuestInfoResult } from './guest-agent.ts';
import { HOST_INFO_TIMEOUT_MS, POOLS_TIMEOUT_MS, readHost, readPools } from './host-and-pools.ts';
import { runCycle, type CycleParts } from './inspection-cycle.ts';
import { GuestPressureReader, cgroupsNotLocal } from './pressure.ts';
import { clientFor, type LibvirtInspectorOptions } from './options.ts';
import { StatsShards } from './stats-shards.ts';
import type {
  BlockStats,
  CallOptions,
  HostInfo,
  InspectOptions,
  Inspection,
  Inspector,
  InspectorCounters,
  JobInfo,
  StoragePoolInfo,
  Instance,
  StatsGroup,
} from './types.ts';

export { splitShards } from './stats-shards.ts';
export type { LibvirtInspectorOptions } from './options.ts';

/** The groups read when the caller does not say (everything libvirt 9 offers that costs no extra setup). */
export const DEFAULT_GROUPS: readonly StatsGroup[] = [
  'state',
  'cpu',
  'balloon',
  'vcpu',
  'interface',
  'block',
];

/** A cycle in flight, shared by every caller that asks for the same groups meanwhile. */
interface Flight {
  readonly promise: Promise<Inspection>;
  readonly controller: AbortController;
  /** Callers still waiting (each has its own deadline). */
  waiting: number;
}

/** The libvirt inspector. */
export class LibvirtInspector implements Inspector {
  readonly client: LibvirtClient;
  readonly #guard = new CallGuard();
  readonly #parts: CycleParts;
  readonly #inflight = new Map<string, Flight>();
  readonly #events: DomainEventCounts;
  readonly #agents: AgentClients;
  readonly #pressure: GuestPressureReader;
  readonly #hostRead: SharedRead<HostInfo>;
  readonly #poolsRead: SharedRead<readonly StoragePoolInfo[]>;
  #host: HostInfo | undefined;
  #inspections = 0;

  constructor(options: LibvirtInspectorOptions = {}) {
    const client = clientFor(options);
    this.client = client;
    const clock = options.clock ?? systemClock;
    const guard = this.#guard;
    this.#agents = new AgentClients(options.agentClient ?? options.client, options.connectTimeoutMs ?? 2000);
    // Pressure comes from this machine's cgroups: only meaningful when libvirtd runs here.
    this.#pressure = new GuestPressureReader(cgroupsNotLocal(options), options.cgroupPaths ?? {});
    this.#events = new DomainEventCounts(options.now ?? (() => clock.now()));
    const events = new EventSubscriptions(client, this.#events);
    const shards = new StatsShards({
      client,
      guard,
      clock,
      maxShards: options.maxShards ?? 4,
      shardTimeoutMs: options.shardTimeoutMs ?? 2000,
    });
    const descriptions = new DescriptionCache(client, guard);
    this.#parts = { client, guard, clock, events, shards, descriptions };
    // A new connection may talk to another daemon (a rotated one talks to the same).
    client.on('reconnect', (reason: string) => {
      if (reason !== 'rotated') this.#host = undefined;
    });
    this.#hostRead = new SharedRead('host info', HOST_INFO_TIMEOUT_MS, clock, async (signal) => {
      this.#host = await readHost(client, guard, signal);
      return this.#host;
    });
    // Under its own deadline, as host info: a caller that gives up early (a client asking for a short
    // scrape deadline) must not cancel the read that a concurrent Prometheus scrape shares (issue 15 item 7).
    this.#poolsRead = new SharedRead('storage pools', POOLS_TIMEOUT_MS, clock, (signal) =>
      readPools(client, guard, signal),
    );
  }

  get connected(): boolean {
    return this.#guard.connected;
  }

  counters(): InspectorCounters {
    const c = this.client.state;
    return {
      inspections: this.#inspections,
      calls: c.calls,
      callErrors: c.errors,
      abandonedCalls: c.abandoned,
      reconnects: c.reconnects,
      callsInFlight: c.inFlight,
      anomalies: c.anomalies,
      listenerErrors: c.listenerErrorsByEvent,
    };
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
      const promise = runCycle(this.#parts, groups, controller.signal).finally(() =>
        this.#inflight.delete(key),
      );
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

  /**
   * The host's identity and size, read once per connection (five small calls). Concurrent first callers
   * (two scrapes, the readiness probe, the publisher) share one read, bounded by its own deadline; each
   * caller still stops waiting at its own.
   */
  hostInfo(options: CallOptions = {}): Promise<HostInfo> {
    if (this.#host !== undefined) return Promise.resolve(this.#host);
    return this.#hostRead.join(options.signal);
  }

  /**
   * Every storage pool: one list call, then one info call per pool (concurrently). Concurrent scrapes
   * share the calls in flight, as they share the inspection; the shared read has its own deadline and
   * each caller stops waiting at its own.
   */
  storagePools(options: CallOptions = {}): Promise<readonly StoragePoolInfo[]> {
    return this.#poolsRead.join(options.signal);
  }

  /**
   * The current job of each running domain. There is no bulk call for jobs: one call per domain, so
   * the job collector is opt-in. A domain that vanished meanwhile is left out.
   */
  jobInfo(instances: readonly Instance[], options: CallOptions = {}): Promise<ReadonlyMap<string, JobInfo>> {
    return readJobs(this.client, this.#guard, instances, options.signal);
  }

  /**
   * Subscribes to the domain events the exporter uses, once (event-subscriptions.ts). main.ts calls it
   * at start so that events are counted from the exporter's start; the first inspection calls it otherwise.
   */
  startEvents(signal?: AbortSignal): Promise<void> {
    return this.#parts.events.start(signal);
  }

  domainEvents(present: ReadonlySet<string>, retentionMs: number): readonly DomainEventCount[] {
    return this.#events.snapshot(present, retentionMs);
  }

  /**
   * The guest agent's view of each running guest: one virDomainGetGuestInfo (OS, hostname,
   * filesystems) per guest over a read-write connection to `uri` (libvirt refuses agent calls on a
   * read-only one), concurrently (the client keeps at most 5 on the wire), all under `signal`.
   */
  guestInfo(
    instances: readonly Instance[],
    options: CallOptions & { readonly uri: string },
  ): Promise<ReadonlyMap<string, GuestInfoResult>> {
    return readGuestInfos(this.#agents.for(options.uri), instances, options.signal);
  }

  /** Pressure (PSI) and CPU throttling of each running guest's cgroup v2 directory. */
  pressure(
    instances: readonly Instance[],
    options: { readonly cgroupRoot?: string | undefined },
  ): { readonly unavailable?: string; readonly byUuid: ReadonlyMap<string, GuestPressure> } {
    return this.#pressure.read(instances, options);
  }

  /**
   * Disk sizes of the shut-off instances, one virDomainGetBlockInfo per disk with a source (what
   * Ceilometer's inspect_disk_info reads for a SHUTOFF domain). A domain or disk that vanished
   * meanwhile is left out.
   */
  stoppedDisks(
    instances: readonly Instance[],
    options: CallOptions = {},
  ): Promise<ReadonlyMap<string, readonly BlockStats[]>> {
    return readStoppedDisks(this.client, this.#guard, instances, options.signal);
  }

  async close(): Promise<void> {
    this.#pressure.close();
    await this.#agents.close();
    await this.client.close();
  }
}

/**
 * One read shared by concurrent callers, under its own deadline (`timeoutMs`, on `clock`): the first
 * caller starts it, later callers join it while it runs, and every caller stops waiting at its own
 * deadline; no caller's deadline cancels the read. A read whose deadline has passed is never joined:
 * the next caller starts a new one.
 */
class SharedRead<T> {
  #inFlight: { readonly promise: Promise<T>; readonly signal: AbortSignal } | undefined;

  constructor(
    private readonly what: string,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
    private readonly start: (signal: AbortSignal) => Promise<T>,
  ) {}

  join(signal: AbortSignal | undefined): Promise<T> {
    if (this.#inFlight === undefined || this.#inFlight.signal.aborted) {
      const d = clockDeadline(this.clock, this.timeoutMs);
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

/** `p`, or an {@link InspectorTimeoutError} as soon as `signal` aborts (the work itself goes on). */
function withSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  return raceSignal(
    p,
    signal,
    (s) => new InspectorTimeoutError(`${what}: deadline exceeded`, { cause: abortReason(s) }),
  );
}

/** Creates the libvirt inspector. */
export function createLibvirtInspector(options: LibvirtInspectorOptions = {}): LibvirtInspector {
  return new LibvirtInspector(options);
}
