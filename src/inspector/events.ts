// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Domain events as counts: lifecycle events (with libvirt's detail names), I/O errors (with QEMU's
 * reason) and watchdog firings (with the action libvirt took), counted per domain from the exporter's
 * start. A domain's counts stay for a retention period after it disappears, so that a guest that
 * crashed and was undefined is not lost with it.
 */
import type { IoErrorEvent, LifecycleEvent, WatchdogEvent } from '../libvirt/index.ts';
import { IO_ERROR_ACTION_NAMES, WATCHDOG_ACTION_NAMES, domainEventName } from '../libvirt/index.ts';

/** Detail names per lifecycle event type (`virDomainEvent*DetailType`), from libvirt's headers. */
const LIFECYCLE_DETAILS: Readonly<Record<string, readonly string[]>> = {
  defined: ['added', 'updated', 'renamed', 'from_snapshot'],
  undefined: ['removed', 'renamed'],
  started: ['booted', 'migrated', 'restored', 'from_snapshot', 'wakeup', 'recreated'],
  suspended: [
    'paused',
    'migrated',
    'ioerror',
    'watchdog',
    'restored',
    'from_snapshot',
    'api_error',
    'postcopy',
    'postcopy_failed',
  ],
  resumed: ['unpaused', 'migrated', 'from_snapshot', 'postcopy', 'postcopy_failed'],
  stopped: ['shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from_snapshot'],
  shutdown: ['finished', 'guest', 'host'],
  pmsuspended: ['memory', 'disk'],
  crashed: ['panicked', 'crashloaded'],
};

/** The detail name of a lifecycle event (`destroyed`), or `unknown(N)`. */
export function lifecycleDetailName(eventName: string, detail: number): string {
  return LIFECYCLE_DETAILS[eventName]?.[detail] ?? `unknown(${detail})`;
}

/** One counted (domain, event, detail). */
export interface DomainEventCount {
  readonly domain: string;
  readonly uuid: string;
  /** `started`, `stopped`, … for lifecycle events; `io_error` or `watchdog`. */
  readonly event: string;
  /** Lifecycle detail (`crashed`), I/O error reason (`enospc`) or watchdog action (`reset`). */
  readonly detail: string;
  readonly count: number;
}

interface Entry {
  readonly domain: string;
  readonly uuid: string;
  readonly event: string;
  readonly detail: string;
  count: number;
}

/** Counts of domain events since the start, with retention of domains that went away. */
export class DomainEventCounts {
  readonly #entries = new Map<string, Entry>();
  /** UUID → when the domain was first seen absent (clock ms). */
  readonly #absentSince = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts one event. */
  add(domain: { readonly name: string; readonly uuid: string }, event: string, detail: string): void {
    const key = `${domain.uuid}\u0000${domain.name}\u0000${event}\u0000${detail}`;
    const e = this.#entries.get(key);
    if (e !== undefined) e.count += 1;
    else this.#entries.set(key, { domain: domain.name, uuid: domain.uuid, event, detail, count: 1 });
  }

  lifecycle(e: LifecycleEvent): void {
    const name = domainEventName(e.event);
    this.add(e.domain, name, lifecycleDetailName(name, e.detail));
  }

  ioError(e: IoErrorEvent): void {
    const detail = e.reason !== '' ? e.reason : (IO_ERROR_ACTION_NAMES[e.action] ?? `unknown(${e.action})`);
    this.add(e.domain, 'io_error', detail);
  }

  watchdog(e: WatchdogEvent): void {
    this.add(e.domain, 'watchdog', WATCHDOG_ACTION_NAMES[e.action] ?? `unknown(${e.action})`);
  }

  /**
   * The counts, after dropping those of domains absent from `present` (UUIDs) for longer than
   * `retentionMs`. A domain that comes back keeps its counts.
   */
  snapshot(present: ReadonlySet<string>, retentionMs: number): DomainEventCount[] {
    const now = this.now();
    const uuids = new Set([...this.#entries.values()].map((e) => e.uuid));
    for (const uuid of uuids) {
      if (present.has(uuid)) {
        this.#absentSince.delete(uuid);
        continue;
      }
      const since = this.#absentSince.get(uuid);
      if (since === undefined) this.#absentSince.set(uuid, now);
      else if (now - since > retentionMs) {
        this.#absentSince.delete(uuid);
        for (const [k, e] of this.#entries) if (e.uuid === uuid) this.#entries.delete(k);
      }
    }
    return [...this.#entries.values()].map((e) => ({ ...e }));
  }
}
