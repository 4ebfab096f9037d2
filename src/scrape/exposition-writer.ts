// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Writes the text exposition straight into one UTF-8 buffer: the response body of a scrape.
 *
 * NOTE: why bytes and not strings (issue 16, 1000 guests, 66 000 samples, a 6 MB body): building each
 * sample line as a string (`name + labels + ' ' + value`), joining a family's lines and encoding the joined
 * pieces cost about 33 ms CPU per scrape, most of it in string concatenation, the garbage of 200 000 short
 * strings and the number-to-string conversions. Here a sample is three copies into the body: the family's
 * name (copied from its first occurrence in the body itself), the label text (UTF-8 encoded in place) and
 * the value (digits written directly for integers), about 7 ms for the same body (profiled).
 */

/** At most the bytes a value's text takes, with room to spare (`-1.2345678901234567e-308` is 24). */
const VALUE_ROOM = 32;
/** Ten to the ninth: integers are written in two halves below and above it. */
const E9 = 1_000_000_000;
/** Byte codes written directly. */
const SPACE = 0x20;
const NEWLINE = 0x0a;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;

/** Formats a sample value as the exposition formats want it (the reference every fast path must match). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The number of decimal digits of an integer 0 ≤ v < 10⁹. */
function digitCount(v: number): number {
  if (v < 10_000) return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : 4;
  if (v < 10_000_000) return v < 100_000 ? 5 : v < 1_000_000 ? 6 : 7;
  return v < 100_000_000 ? 8 : 9;
}

/** Writes the digits of an integer 0 ≤ v < 10⁹, left-padded with zeros to `width`, and returns the end. */
function writeDigits(buf: Buffer, pos: number, v: number, width: number): number {
  const end = pos + width;
  let p = end;
  let rest = v;
  while (p > pos) {
    const q = (rest / 10) | 0;
    buf[--p] = ZERO + rest - q * 10;
    rest = q;
  }
  return end;
}

/**
 * Writes `v` as {@link formatValue} formats it and returns the end.
 * NOTE: a safe integer prints as its exact digits in JavaScript (no exponent below 10²¹, and every
 * integer up to 2⁵³ is a distinct double, so the shortest round-trip text is the integer itself): those
 * are written digit by digit, without a string; -0 prints as `0` like String(-0). So are short decimals
 * ({@link writeDecimal}). Anything else (other fractions, larger magnitudes with their rounding and
 * exponents, NaN, ±Inf) goes through {@link formatValue}.
 */
export function writeValue(buf: Buffer, pos: number, v: number): number {
  if (!Number.isSafeInteger(v)) {
    const end = writeDecimal(buf, pos, v);
    return end >= 0 ? end : pos + buf.write(formatValue(v), pos, 'latin1');
  }
  return writeInteger(buf, pos, v);
}

/** Writes a safe integer's digits (`-` first when negative; -0 as `0`) and returns the end. */
function writeInteger(buf: Buffer, pos: number, v: number): number {
  let p = pos;
  let n = v;
  if (n < 0) {
    buf[p++] = MINUS;
    n = -n;
  }
  if (n < E9) return writeDigits(buf, p, n, digitCount(n));
  // NOTE: two halves, each small enough for 32-bit arithmetic. The quotient of the division is rounded
  // and may come out one too high just below a multiple of 10⁹ (never too low: the true quotient is at
  // least the integer it rounds to); the remainder says so. hi · 10⁹ is exact (hi < 2²⁴).
  let hi = Math.floor(n / E9);
  let lo = n - hi * E9;
  if (lo < 0) {
    hi -= 1;
    lo += E9;
  }
  p = writeDigits(buf, p, hi, digitCount(hi));
  return writeDigits(buf, p, lo, 9);
}

/** Decimal places {@link writeDecimal} tries: nanoseconds in seconds, the finest conversion of src/meters/units.ts. */
const MAX_PLACES = 9;
/** Significant digits below which every decimal is the shortest text of its double (DBL_DIG). */
const E15 = 1e15;

/**
 * Writes a finite non-integer `v` with at most {@link MAX_PLACES} decimal places and 15 significant digits
 * (`12.345`, `0.000123`: a duration converted from ns, say) exactly as String(v) does, and returns the
 * end; returns -1, having written nothing, for any other value.
 * NOTE: String() allocated a string per fraction, 6 % of a 1000-guest exposition (profiled). Why this is
 * String's text: m / 10^k === |v| (both integers exact, the division correctly rounded) says the decimal
 * m·10^-k rounds to |v|; it has at most 15 significant digits (m < 10^15), and no two such decimals round
 * to the same double (IEEE 754's 15 decimal digits), so no shorter or closer text exists: it is the
 * shortest round-trip text String() gives, in the fixed notation String() uses from 10^-6 up to 10^21.
 */
function writeDecimal(buf: Buffer, pos: number, v: number): number {
  const a = Math.abs(v);
  if (!(a >= 1e-6 && a < E15)) return -1;
  let p10 = 1;
  for (let k = 1; k <= MAX_PLACES; k++) {
    p10 *= 10;
    const m = a * p10;
    if (m >= E15) return -1;
    if (!Number.isInteger(m) || m / p10 !== a) continue;
    let frac = m % p10;
    const whole = (m - frac) / p10;
    let places = k;
    while (frac % 10 === 0) {
      frac /= 10;
      places--;
    }
    let p = pos;
    if (v < 0) buf[p++] = MINUS;
    p = writeInteger(buf, p, whole);
    buf[p++] = DOT;
    return writeDigits(buf, p, frac, places);
  }
  return -1;
}

/** The most bytes {@link writeValue} writes for `v`, exact for safe integers. */
function valueBound(v: number): number {
  if (!Number.isSafeInteger(v)) return VALUE_ROOM;
  const n = Math.abs(v);
  return (v < 0 ? 1 : 0) + (n < E9 ? digitCount(n) : 9 + digitCount(Math.floor(n / E9)));
}

/**
 * The bytes of a family's sample lines when every label text is ASCII (the usual case; a longer text only
 * makes the writer grow), values counted exactly for integers: the capacity to start a body with.
 */
export function samplesBound(
  name: string,
  labels: readonly string[],
  values: readonly number[],
  count = labels.length,
): number {
  // NOTE: indexed loops: `for…of` here allocated an iterator result per sample (3.5 MB per 1000-guest
  // scrape under the sampling heap profiler), which the optimiser did not remove.
  let bytes = (name.length + 2) * count;
  for (let i = 0; i < count; i++) bytes += (labels[i] ?? '').length + valueBound(values[i] ?? Number.NaN);
  return bytes;
}

/**
 * A response body being written: text and sample lines appended in order, UTF-8, into one buffer that
 * grows when needed. Rendering is synchronous, so nothing else writes into it meanwhile; the buffer is
 * never reused after {@link ExpositionWriter.finish}, which hands it over (it may be sent while the next
 * scrape renders).
 */
export class ExpositionWriter {
  #buf: Buffer;
  #pos = 0;

  /** `capacity`: the expected body size in bytes (a bound from {@link samplesBound} avoids growing). */
  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(64, Math.ceil(capacity)));
  }

  /** Makes room for `bytes` more bytes. */
  #ensure(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length + (this.#buf.length >> 1), this.#pos + bytes));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  /** Appends `text`, UTF-8. */
  text(text: string): void {
    // Three bytes per UTF-16 unit at most; counted exactly only when that much room is not left.
    if (this.#pos + text.length * 3 > this.#buf.length) this.#ensure(Buffer.byteLength(text, 'utf8'));
    this.#pos += this.#buf.write(text, this.#pos, 'utf8');
  }

  /**
   * Appends the sample lines `name{labels} value\n` of one family: `labels[i]` is the rendered label text
   * of `values[i]` (`{a="1"}`, or empty); the first `count` of them.
   * NOTE: the name is encoded once and copied from there for the other lines (copyWithin is a plain
   * memory move; encoding the same string again costs more); label texts may hold any UTF-8.
   */
  samples(name: string, labels: readonly string[], values: readonly number[], count = labels.length): void {
    if (count === 0) return;
    this.#ensure(name.length * 3);
    let buf = this.#buf;
    let pos = this.#pos;
    const nameAt = pos;
    const nameBytes = buf.write(name, pos, 'utf8');
    pos += nameBytes;
    for (let i = 0; i < count; i++) {
      const labelText = labels[i] ?? '';
      const value = values[i] ?? Number.NaN;
      if (pos + nameBytes + labelText.length * 3 + VALUE_ROOM + 2 > buf.length) {
        // Near the end of the buffer: the exact size of this line decides whether it grows.
        this.#pos = pos;
        this.#ensure(nameBytes + Buffer.byteLength(labelText, 'utf8') + valueBound(value) + 2);
        buf = this.#buf;
      }
      if (i > 0) {
        buf.copyWithin(pos, nameAt, nameAt + nameBytes);
        pos += nameBytes;
      }
      pos += buf.write(labelText, pos, 'utf8');
      buf[pos++] = SPACE;
      pos = writeValue(buf, pos, value);
      buf[pos++] = NEWLINE;
    }
    this.#pos = pos;
  }

  /**
   * The body written, as a view of the buffer, which this writer lets go of.
   * NOTE: when more than an eighth of the buffer is unused (label texts far from ASCII made it grow), the
   * body is copied into a buffer of its size, so that the spare bytes are not kept while it is sent.
   */
  finish(): Buffer {
    const buf = this.#buf;
    const used = this.#pos;
    this.#buf = Buffer.alloc(0);
    this.#pos = 0;
    if (buf.length - used <= buf.length >> 3) return buf.subarray(0, used);
    const exact = Buffer.allocUnsafe(used);
    buf.copy(exact, 0, 0, used);
    return exact;
  }
}
