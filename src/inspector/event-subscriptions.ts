// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The domain events the inspector subscribes to, once per client: lifecycle and balloon changes (XML
 * cache upkeep, event counts), I/O errors and watchdog firings (event counts). The client registers
 * the subscriptions again on a new connection by itself.
 */
import {
  LibvirtError,
  type IoErrorEvent,
  type LibvirtClient,
  type LifecycleEvent,
  type WatchdogEvent,
} from '../libvirt/index.ts';
import type { DomainEventCounts } from './events.ts';

/** Subscribes a client's domain events once, and counts them. */
export class EventSubscriptions {
  #subscribed = false;
  /** Event kinds subscribed (or refused by the daemon): never subscribed twice. */
  readonly #eventKinds = new Set<string>();

  constructor(
    private readonly client: LibvirtClient,
    counts: DomainEventCounts,
  ) {
    // Counted from the first subscription (startEvents(), or the first inspection) for as long as we run.
    client.on('lifecycle', (event: LifecycleEvent) => {
      counts.lifecycle(event);
    });
    client.on('ioError', (event: IoErrorEvent) => {
      counts.ioError(event);
    });
    client.on('watchdog', (event: WatchdogEvent) => {
      counts.watchdog(event);
    });
  }

  /** Whether a subscription is still to be made (and the client can make it). */
  get pending(): boolean {
    return !this.#subscribed && typeof this.client.subscribeLifecycle === 'function';
  }

  /**
   * Subscribes what is missing. A daemon that refuses an event is not asked again; ids and devices still
   * reveal changes. A daemon that is down (or a deadline) is not a refusal: the next call subscribes
   * what is missing (never twice: events would count twice).
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (!this.pending) return;
    this.#subscribed = true;
    // Balloon changes keep the cached <currentMemory> current (the domain collector serves it when
    // no collector reads the balloon stats group).
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
}
