// SPDX-License-Identifier: Apache-2.0
/**
 * The event subscriptions of a {@link LibvirtClient}: each survives reconnections, registered again on
 * every new connection, and an event counts only when it carries the callback id of a subscription on
 * the current connection.
 *
 * @packageDocumentation
 */
import type { Clock } from './clock.ts';
import type { LibvirtConnection } from './connection.ts';
import { LibvirtError } from './errors.ts';
import { withDeadline } from './signals.ts';
import type { Domain } from './types.ts';

/** One subscription: what it asks for, and its registration on a connection. */
export interface Subscription {
  readonly id: number;
  /** `DomainEventId` of the events. */
  readonly eventId: number;
  readonly dom: Domain | null;
  conn: LibvirtConnection | undefined;
  callbackId: number | undefined;
}

/** A client's subscriptions, by id. */
export class Subscriptions {
  private readonly byId = new Map<number, Subscription>();
  private seq = 0;

  /** Adds a subscription, not registered anywhere yet. */
  add(eventId: number, dom: Domain | null): Subscription {
    const sub: Subscription = { id: ++this.seq, eventId, dom, conn: undefined, callbackId: undefined };
    this.byId.set(sub.id, sub);
    return sub;
  }

  /** Removes and returns a subscription. */
  remove(id: number): Subscription | undefined {
    const sub = this.byId.get(id);
    this.byId.delete(id);
    return sub;
  }

  /**
   * Registers every subscription not yet registered on `conn`, each bounded by `timeoutMs`. A
   * domain-specific subscription whose domain is gone (a LibvirtError) is skipped; other errors throw.
   */
  async registerAll(conn: LibvirtConnection, timeoutMs: number, clock: Clock): Promise<void> {
    for (const sub of this.byId.values()) {
      if (sub.conn === conn) continue;
      sub.conn = conn;
      sub.callbackId = undefined;
      try {
        sub.callbackId = await withDeadline(
          timeoutMs,
          [],
          (signal) => conn.registerDomainEvents(sub.eventId, sub.dom, { signal }),
          clock,
        );
      } catch (err) {
        if (!(err instanceof LibvirtError)) throw err;
      }
    }
  }

  /** Whether an event of `eventId` with `callbackId` on `conn` belongs to one of the subscriptions. */
  has(conn: LibvirtConnection, eventId: number, callbackId: number): boolean {
    for (const sub of this.byId.values()) {
      if (sub.conn === conn && sub.eventId === eventId && sub.callbackId === callbackId) return true;
    }
    return false;
  }
}
