// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Identifiers and clocks in the formats Ceilometer and oslo.messaging write: time-based UUIDs for
 * sample `message_id`s (Python `uuid.uuid1()`), naive UTC ISO timestamps (`datetime.isoformat()` and
 * `str(datetime)`), and `time.monotonic()`.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { networkInterfaces } from 'node:os';

/** 100 ns intervals between the Gregorian reform (1582-10-15) and the Unix epoch (RFC 9562 §5.1). */
const GREGORIAN_OFFSET = 0x01b21dd213814000n;

/** Returns the current wall-clock time in microseconds since the epoch (sub-millisecond from performance.now()). */
export function nowMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

/**
 * Seconds on the system's monotonic clock, like Python's `time.monotonic()`: both read
 * CLOCK_MONOTONIC on Linux (libuv's hrtime), so the values are comparable with the real agent's.
 */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function formatUtc(micros: bigint, separator: string): string {
  const ms = Number(micros / 1000n);
  const us = Number(micros % 1000000n);
  const d = new Date(ms);
  const base =
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `${separator}${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  // Python drops the fraction entirely when microsecond == 0.
  return us === 0 ? base : `${base}.${pad(us, 6)}`;
}

/** Python `datetime.utcnow().isoformat()`: naive UTC, `T` separator, no zone, `.ffffff` unless 0. */
export function pyIsoformat(micros: bigint): string {
  return formatUtc(micros, 'T');
}

/** Python `str(datetime.utcnow())` (oslo's notification timestamp): as isoformat with a space separator. */
export function pyStrDatetime(micros: bigint): string {
  return formatUtc(micros, ' ');
}

/** 32 lower-case hex digits of a random UUID (Python `uuid.uuid4().hex`, oslo's `_unique_id`). */
export function uuid4Hex(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

/** A random UUID in canonical form (Python `str(uuid.uuid4())`, oslo's notification `message_id`). */
export function uuid4(): string {
  return crypto.randomUUID();
}

/** Options of {@link createUuid1}. */
export interface Uuid1Options {
  /** The 48-bit node as 12 hex digits; default: the first non-internal MAC address, else random. */
  readonly node?: string;
  /** The 14-bit clock sequence; default: random (RFC 9562 §5.1). */
  readonly clockSeq?: number;
  /** Clock in microseconds since the epoch; default {@link nowMicros}. */
  readonly now?: () => bigint;
}

/** Returns the first non-internal, non-zero MAC of the host as 12 hex digits, if any. */
export function hostMacNode(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (!a.internal && a.mac !== '00:00:00:00:00:00') return a.mac.replaceAll(':', '');
    }
  }
  return undefined;
}

/** A random node id with the multicast bit set, so it cannot collide with a real MAC (RFC 9562 §6.10). */
function randomNode(): string {
  const b = randomBytes(6);
  b[0] = (b[0] ?? 0) | 0x01;
  return b.toString('hex');
}

/**
 * Creates a generator of version-1 (time-based) UUIDs like Python's `uuid.uuid1()` with libuuid:
 * the host MAC as node and a clock sequence fixed for the process. Timestamps are forced to increase
 * strictly, so ids generated within one 100 ns tick (or after the clock stepped back) stay unique.
 */
export function createUuid1(options: Uuid1Options = {}): () => string {
  const node = (options.node ?? hostMacNode() ?? randomNode()).toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(node)) throw new RangeError(`uuid1 node must be 12 hex digits, got ${node}`);
  const clockSeq = (options.clockSeq ?? randomInt(0x4000)) & 0x3fff;
  const now = options.now ?? nowMicros;
  let last = 0n;
  return () => {
    let ts = now() * 10n + GREGORIAN_OFFSET;
    if (ts <= last) ts = last + 1n;
    last = ts;
    const timeLow = ts & 0xffffffffn;
    const timeMid = (ts >> 32n) & 0xffffn;
    const timeHi = ((ts >> 48n) & 0x0fffn) | 0x1000n;
    const seq = clockSeq | 0x8000; // RFC 4122 variant 10xx
    return (
      `${timeLow.toString(16).padStart(8, '0')}-${timeMid.toString(16).padStart(4, '0')}-` +
      `${timeHi.toString(16).padStart(4, '0')}-${seq.toString(16).padStart(4, '0')}-${node}`
    );
  };
}

/** Decodes the timestamp of a version-1 UUID, in microseconds since the epoch (for tests and checks). */
export function uuid1Micros(uuid: string): bigint {
  const [low = '', mid = '', hi = ''] = uuid.split('-');
  const ts = ((BigInt(`0x${hi}`) & 0x0fffn) << 48n) | (BigInt(`0x${mid}`) << 32n) | BigInt(`0x${low}`);
  return (ts - GREGORIAN_OFFSET) / 10n;
}
