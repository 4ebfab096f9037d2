// SPDX-License-Identifier: Apache-2.0
/**
 * Keepalive towards libvirtd (virkeepaliveprotocol.x): after `intervalMs` of silence from the daemon a
 * PING goes out; after `count` intervals without any traffic the daemon is declared dead.
 *
 * @packageDocumentation
 */
import type { Clock } from './clock.ts';

/** What the keepalive timer needs from its connection. */
export interface KeepaliveHooks {
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly count: number;
  /** When the last bytes arrived, on `clock`. */
  lastReceivedAt(): number;
  /** Sends a PING. */
  ping(): void;
  /** No traffic for `silenceMs` despite the pings. */
  timedOut(silenceMs: number): void;
}

/** The keepalive timer of one connection. */
export class Keepalive {
  private cancel: (() => void) | undefined;
  private started = false;

  constructor(private readonly hooks: KeepaliveHooks) {}

  /** True once started (keepalive was negotiated with the daemon). */
  get enabled(): boolean {
    return this.started;
  }

  /** Starts the timer (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { clock, intervalMs, count } = this.hooks;
    const tick = (): void => {
      const silence = clock.now() - this.hooks.lastReceivedAt();
      if (silence >= intervalMs * count) {
        this.cancel = undefined;
        this.hooks.timedOut(silence);
        return;
      }
      if (silence >= intervalMs) this.hooks.ping();
      this.cancel = clock.setTimer(tick, intervalMs);
    };
    this.cancel = clock.setTimer(tick, intervalMs);
  }

  /** Stops the timer for good. */
  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }
}
