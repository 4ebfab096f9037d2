// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * `basic_auth_users`: bcrypt hashes checked when the file is loaded, and the request-time check,
 * built to hold under a flood of wrong credentials (issue 15, item 5):
 * - bcrypt is CPU work on the main thread, so runs go one at a time (as exporter-toolkit's mutex),
 *   from a bounded queue: past {@link BasicAuth.MAX_QUEUE} the answer is "busy" (503), never a wait;
 * - runs of client addresses that never failed go first, and when the queue is full such a run takes
 *   the place of the newest run of an address that did (that one is answered 503), so a client with
 *   the right password is neither queued behind nor shut out by a flood from addresses that fail;
 * - each address has a budget of failures ({@link FailureBudget}); past it, "throttled" (429) without
 *   any bcrypt run, and at most {@link BasicAuth.MAX_PER_ADDRESS} runs of one address wait at a time;
 * - successes have their own small cache (refreshed at each use), so junk logins cannot evict them;
 *   failures have a larger one of their own;
 * - costs above {@link MAX_BCRYPT_COST} are refused when the file is loaded.
 */
import { createHmac, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../../config/load.ts';
import { FailureBudget, type Clock } from './rate-limit.ts';
import { Secret } from './types.ts';

/**
 * A bcrypt hash in modular crypt format: `$2a$`, `$2b$` or `$2y$` (htpasswd writes 2y), a two-digit
 * cost from 04 to 31, then 53 characters of bcrypt's base64 (22 of salt, 31 of digest).
 */
const BCRYPT_RE = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/**
 * The highest bcrypt cost accepted. Each step doubles the work: at 12 one check already takes a few
 * hundred milliseconds of the only thread, and every wrong password costs one check.
 */
export const MAX_BCRYPT_COST = 12;

/** bcrypt reads at most 72 bytes; a longer password would match on its prefix alone, so it never matches. */
const BCRYPT_MAX_PASSWORD_BYTES = 72;

export function resolveUsers(raw: Record<string, string> | null | undefined): Map<string, Secret<string>> {
  const users = new Map<string, Secret<string>>();
  for (const [user, hash] of Object.entries(raw ?? {})) {
    // A colon can never reach us in a user name: Basic credentials are split at the first one.
    if (user === '' || user.includes(':')) {
      throw new ConfigError(
        `basic_auth_users: the user name ${JSON.stringify(user)} is empty or contains ":"`,
      );
    }
    if (!BCRYPT_RE.test(hash)) {
      throw new ConfigError(
        `basic_auth_users.${user}: not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost from 04 to 31 and 53 characters, as "htpasswd -nBC 10" writes)`,
      );
    }
    const cost = Number(hash.slice(4, 6));
    if (cost > MAX_BCRYPT_COST) {
      throw new ConfigError(
        `basic_auth_users.${user}: bcrypt cost ${cost} is above ${MAX_BCRYPT_COST}: every wrong password would hold the exporter for seconds; hash the password again with "htpasswd -nBC 10"`,
      );
    }
    users.set(user, new Secret(hash));
  }
  return users;
}

/** What {@link BasicAuth.check} decided: let in, 401, 429 (this address failed too often) or 503 (queue full). */
export type AuthOutcome = 'ok' | 'denied' | 'throttled' | 'busy';

interface Job {
  readonly address: string;
  readonly run: () => Promise<boolean>;
  /** The result of the run, or 'busy' when a run of a clean address took its place in the queue. */
  readonly resolve: (result: boolean | 'busy') => void;
}

/** Basic auth with bcrypt: cached results, a bounded queue of runs, and a failure budget per address. */
export class BasicAuth {
  /** A result lives this long after its last use (a success is refreshed by each scrape that uses it). */
  static readonly TTL_MS = 5 * 60_000;
  /** Successes remembered: the few real clients (Prometheus replicas, an operator's curl). */
  static readonly MAX_SUCCESSES = 64;
  /** Failures remembered, so that repeating one wrong password costs nothing. */
  static readonly MAX_FAILURES = 1024;
  /** bcrypt runs waiting or running at most; beyond, "busy". */
  static readonly MAX_QUEUE = 16;
  /** bcrypt runs of one client address waiting or running at most; beyond, "throttled". */
  static readonly MAX_PER_ADDRESS = 1;

  readonly #users: ReadonlyMap<string, Secret<string>>;
  readonly #now: Clock;
  readonly #failures: FailureBudget;
  /** Cache keys are an HMAC under a key of this process, so a memory dump does not give fast password guesses. */
  readonly #hmacKey = randomBytes(32);
  readonly #successes = new Map<string, number>();
  readonly #failed = new Map<string, number>();
  readonly #pending = new Map<string, Promise<boolean>>();
  /** Waiting runs: from addresses without recent failures, and from the others. */
  readonly #clean: Job[] = [];
  readonly #suspect: Job[] = [];
  readonly #perAddress = new Map<string, number>();
  #running = false;
  #decoy: Promise<string> | undefined;

  constructor(
    users: ReadonlyMap<string, Secret<string>>,
    opts: { now?: Clock; failures?: FailureBudget } = {},
  ) {
    this.#users = users;
    this.#now = opts.now ?? (() => performance.now());
    this.#failures = opts.failures ?? new FailureBudget(opts.now ? { now: opts.now } : {});
  }

  /** bcrypt runs waiting or running now. */
  get queued(): number {
    return this.#clean.length + this.#suspect.length + (this.#running ? 1 : 0);
  }

  /** A hash to compare against for unknown users, so that they take as long as known ones. */
  #decoyHash(): Promise<string> {
    if (this.#decoy === undefined) {
      let cost = 10;
      for (const h of this.#users.values()) cost = Number(h.reveal().slice(4, 6));
      this.#decoy = bcrypt.hash(randomBytes(16).toString('hex'), cost);
    }
    return this.#decoy;
  }

  /** Decides on the Authorization header of a request from `address`. */
  async check(header: string | undefined, address: string): Promise<AuthOutcome> {
    const creds = parseBasic(header);
    if (creds === undefined) return 'denied';
    const hash = this.#users.get(creds.user)?.reveal();
    const key = createHmac('sha256', this.#hmacKey)
      .update(creds.user)
      .update('\0')
      .update(creds.password)
      .update('\0')
      .update(hash ?? '')
      .digest('base64');
    const now = this.#now();
    const success = this.#successes.get(key);
    if (success !== undefined && success > now) {
      // Refreshed, and moved to the end of the eviction order.
      this.#successes.delete(key);
      this.#successes.set(key, now + BasicAuth.TTL_MS);
      return 'ok';
    }
    const failure = this.#failed.get(key);
    if (failure !== undefined && failure > now) return 'denied';
    // Concurrent requests with the same credentials share one bcrypt run.
    const pending = this.#pending.get(key);
    if (pending !== undefined) return (await pending) ? 'ok' : 'denied';
    if (!this.#failures.allows(address)) return 'throttled';
    if ((this.#perAddress.get(address) ?? 0) >= BasicAuth.MAX_PER_ADDRESS) return 'throttled';
    const clean = this.#failures.clean(address);
    if (this.queued >= BasicAuth.MAX_QUEUE) {
      // Full: a clean address takes the place of the newest run of an address that failed; else busy.
      const evicted = clean ? this.#suspect.pop() : undefined;
      if (evicted === undefined) return 'busy';
      this.#release(evicted.address);
      evicted.resolve('busy');
    }

    const run = this.#enqueue(address, clean, () => this.#compare(creds.password, hash)).then((result) => {
      if (result === 'busy') return result;
      this.#remember(
        result ? this.#successes : this.#failed,
        result ? BasicAuth.MAX_SUCCESSES : BasicAuth.MAX_FAILURES,
        key,
      );
      if (!result) this.#failures.fail(address);
      return result;
    });
    // Requests that join this run while it waits see a run given up to a clean address as a failure.
    this.#pending.set(
      key,
      run.then((r) => r === true),
    );
    try {
      const result = await run;
      return result === 'busy' ? 'busy' : result ? 'ok' : 'denied';
    } finally {
      this.#pending.delete(key);
    }
  }

  #enqueue(address: string, clean: boolean, run: () => Promise<boolean>): Promise<boolean | 'busy'> {
    return new Promise<boolean | 'busy'>((resolve) => {
      this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
      (clean ? this.#clean : this.#suspect).push({ address, run, resolve });
      this.#pump();
    });
  }

  #release(address: string): void {
    const left = (this.#perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.#perAddress.set(address, left);
    else this.#perAddress.delete(address);
  }

  /** Runs the queued comparisons one at a time, clean addresses first. */
  #pump(): void {
    if (this.#running) return;
    const job = this.#clean.shift() ?? this.#suspect.shift();
    if (job === undefined) return;
    this.#running = true;
    void job
      .run()
      .catch(() => false)
      .then((ok) => {
        this.#running = false;
        this.#release(job.address);
        job.resolve(ok);
        this.#pump();
      });
  }

  async #compare(password: string, hash: string | undefined): Promise<boolean> {
    const tooLong = Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_PASSWORD_BYTES;
    const ok = await bcrypt.compare(password, hash ?? (await this.#decoyHash()));
    return ok && hash !== undefined && !tooLong;
  }

  #remember(cache: Map<string, number>, max: number, key: string): void {
    const now = this.#now();
    if (cache.size >= max) {
      for (const [k, expires] of cache) if (expires <= now) cache.delete(k);
      // Still full: drop the oldest entries (a Map iterates in insertion order).
      for (const k of cache.keys()) {
        if (cache.size < max) break;
        cache.delete(k);
      }
    }
    cache.set(key, now + BasicAuth.TTL_MS);
  }
}

export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (m?.[1] === undefined) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
