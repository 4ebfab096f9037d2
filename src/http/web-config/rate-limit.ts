// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Request budgets: exporter-toolkit's global `rate_limit` (a token bucket), and the budget of failed
 * logins of each client address, which keeps a flood of wrong credentials from one address off the
 * bcrypt queue. Both take an injectable clock (ms), so that tests never wait.
 */
import { ConfigError } from '../../config/load.ts';
import { parseDuration } from '../../config/duration.ts';
import type { RawFile } from './schema.ts';
import type { WebConfig } from './types.ts';

/** A clock in milliseconds; only differences matter. */
export type Clock = () => number;

const monotonic: Clock = () => performance.now();

export function resolveRateLimit(raw: RawFile['rate_limit']): WebConfig['rateLimit'] {
  if (raw === null || raw === undefined || raw.interval === undefined) return undefined;
  const at = 'rate_limit';
  let intervalMs: number;
  if (typeof raw.interval === 'number' || raw.interval === '0') {
    if (raw.interval !== 0 && raw.interval !== '0')
      throw new ConfigError(`${at}.interval: give a unit (for example 100ms or 1s)`);
    intervalMs = 0;
  } else {
    try {
      intervalMs = parseDuration(raw.interval);
    } catch (err) {
      throw new ConfigError(`${at}.interval: ${(err as Error).message}`);
    }
  }
  if (intervalMs === 0) return undefined;
  // With a burst of 0 Go's limiter refuses every request; that is never what anyone wants.
  if (raw.burst === undefined || raw.burst < 1)
    throw new ConfigError(`${at}.burst: must be at least 1 when interval is set`);
  return { intervalMs, burst: raw.burst };
}

/** A token bucket: `burst` requests at once, then one more every `intervalMs`. */
export function tokenBucket(intervalMs: number, burst: number, now: Clock = monotonic): () => boolean {
  let tokens = burst;
  let last = now();
  return () => {
    const t = now();
    tokens = Math.min(burst, tokens + (t - last) / intervalMs);
    last = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

/**
 * Failed logins per client address: each address may fail `burst` times, then once per `intervalMs`;
 * past that its requests are refused (429) before any bcrypt run. An address that never failed is
 * "clean": its bcrypt runs go ahead of those of addresses that did (see BasicAuth).
 */
export class FailureBudget {
  /** Addresses remembered at most; beyond, those back at a full budget are forgotten first. */
  static readonly MAX_ADDRESSES = 10_000;

  readonly #burst: number;
  readonly #intervalMs: number;
  readonly #now: Clock;
  readonly #failures = new Map<string, { tokens: number; at: number }>();

  constructor(opts: { burst?: number; intervalMs?: number; now?: Clock } = {}) {
    this.#burst = opts.burst ?? 5;
    this.#intervalMs = opts.intervalMs ?? 10_000;
    this.#now = opts.now ?? monotonic;
  }

  /** Tokens left to `address` now (`burst` for an address that never failed). */
  #tokens(address: string): number {
    const e = this.#failures.get(address);
    if (e === undefined) return this.#burst;
    const tokens = Math.min(this.#burst, e.tokens + (this.#now() - e.at) / this.#intervalMs);
    if (tokens >= this.#burst) this.#failures.delete(address);
    return tokens;
  }

  /** True if the address has failed logins to spend (its next failure is allowed to cost a bcrypt run). */
  allows(address: string): boolean {
    return this.#tokens(address) >= 1;
  }

  /** True if the address has no recent failure. */
  clean(address: string): boolean {
    return this.#tokens(address) >= this.#burst;
  }

  /** Spends one failure of the address. */
  fail(address: string): void {
    const tokens = Math.max(0, this.#tokens(address) - 1);
    this.#failures.delete(address);
    if (this.#failures.size >= FailureBudget.MAX_ADDRESSES) {
      for (const a of this.#failures.keys()) {
        if (this.#failures.size < FailureBudget.MAX_ADDRESSES) break;
        this.#failures.delete(a);
      }
    }
    this.#failures.set(address, { tokens, at: this.#now() });
  }
}
