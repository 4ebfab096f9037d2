// SPDX-License-Identifier: Apache-2.0
/**
 * XDR (RFC 4506) encoder and decoder for the subset libvirt's RPC uses, plus libvirt's typed parameters.
 *
 * The reader is written for hostile input: every read checks the bytes left, every variable-length item
 * checks its declared maximum and the bytes left before allocating, and the only error it throws is
 * {@link XdrDecodeError}.
 *
 * @packageDocumentation
 */
import { RemoteLimits, TypedParamType } from './constants.ts';
import { XdrDecodeError } from './errors.ts';
import type { NameCache } from './name-cache.ts';
import { readTypedValue } from './typed-value.ts';

/** One libvirt typed parameter (`virTypedParameter`): a named, typed value. */
export interface TypedParam {
  readonly field: string;
  /** `TypedParamType`: 1 int, 2 uint, 3 llong, 4 ullong, 5 double, 6 boolean, 7 string. */
  readonly type: number;
  /** number for int, uint and double; bigint for llong and ullong; boolean; string. */
  readonly value: number | bigint | string | boolean;
}

const pad = (n: number): number => (4 - (n % 4)) % 4;

/** What a typed parameter's name is called in errors (its limit is libvirt's VIR_TYPED_PARAM_FIELD_LENGTH). */
export const TYPED_PARAM_NAME = 'typed parameter name (VIR_TYPED_PARAM_FIELD_LENGTH)';

const INT32_MIN = -(2 ** 31);
const UINT32_MAX = 2 ** 32 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Growable XDR encoder. Methods return `this` so that calls chain. Invalid values (out of range, wrong
 * type, over a maximum) throw RangeError or TypeError: they are programming errors, not I/O errors.
 */
export class XdrWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.len;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /**
   * Writes an unsigned 32-bit integer. Negative int32 values are accepted and written as their two's
   * complement, so flag sets that use bit 31 (`1 << 31` is negative in JS) encode correctly.
   */
  u32(v: number): this {
    if (!Number.isInteger(v) || v < INT32_MIN || v > UINT32_MAX) throw new RangeError(`not a u32: ${v}`);
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }

  /** Writes a signed 32-bit integer. */
  i32(v: number): this {
    if (!Number.isInteger(v) || v < INT32_MIN || v > 2 ** 31 - 1) throw new RangeError(`not an i32: ${v}`);
    this.ensure(4);
    this.buf.writeInt32BE(v, this.len);
    this.len += 4;
    return this;
  }

  /** Writes an unsigned hyper (64-bit). */
  u64(v: bigint | number): this {
    const b = BigInt(v);
    if (b < 0n || b > UINT64_MAX) throw new RangeError(`not a u64: ${b}`);
    this.ensure(8);
    this.buf.writeBigUInt64BE(b, this.len);
    this.len += 8;
    return this;
  }

  /** Writes a signed hyper (64-bit). */
  i64(v: bigint | number): this {
    const b = BigInt(v);
    if (b < INT64_MIN || b > INT64_MAX) throw new RangeError(`not an i64: ${b}`);
    this.ensure(8);
    this.buf.writeBigInt64BE(b, this.len);
    this.len += 8;
    return this;
  }

  /** Writes an IEEE 754 double. */
  f64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.len);
    this.len += 8;
    return this;
  }

  /** Writes a boolean as 0 or 1. */
  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  /** Writes fixed-length opaque data (no length prefix), padded to 4 bytes. */
  opaqueFixed(data: Uint8Array, size: number): this {
    if (data.length !== size) throw new RangeError(`fixed opaque needs ${size} bytes, got ${data.length}`);
    this.ensure(size + pad(size));
    this.buf.set(data, this.len);
    this.len += size;
    this.zeroPad(size);
    return this;
  }

  /** Writes variable-length opaque data: u32 length, bytes, padding. */
  opaqueVar(data: Uint8Array, max = UINT32_MAX): this {
    if (data.length > max) throw new RangeError(`opaque of ${data.length} bytes over its maximum ${max}`);
    this.u32(data.length);
    this.ensure(data.length + pad(data.length));
    this.buf.set(data, this.len);
    this.len += data.length;
    this.zeroPad(data.length);
    return this;
  }

  /** Writes a UTF-8 string: u32 byte length, bytes, padding. */
  string(s: string, max = UINT32_MAX): this {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > max) throw new RangeError(`string of ${bytes.length} bytes over its maximum ${max}`);
    return this.opaqueVar(bytes);
  }

  /** Writes an optional value (`T *` in XDR): 0, or 1 followed by the value. */
  optional<T>(v: T | null | undefined, write: (w: this, v: T) => void): this {
    if (v === null || v === undefined) return this.u32(0);
    this.u32(1);
    write(this, v);
    return this;
  }

  /** Writes a variable-length array: u32 count, then each element. */
  array<T>(items: readonly T[], max: number, write: (w: this, v: T) => void): this {
    if (items.length > max) throw new RangeError(`array of ${items.length} items over its maximum ${max}`);
    this.u32(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  /** Writes a libvirt typed parameter (`remote_typed_param`). */
  typedParam(p: TypedParam): this {
    this.string(p.field).i32(p.type);
    const { value } = p;
    switch (p.type) {
      case TypedParamType.INT:
        return this.i32(expectNumber(p));
      case TypedParamType.UINT:
        return this.u32(expectNumber(p));
      case TypedParamType.LLONG:
        return this.i64(expectInteger(p));
      case TypedParamType.ULLONG:
        return this.u64(expectInteger(p));
      case TypedParamType.DOUBLE:
        return this.f64(expectNumber(p));
      case TypedParamType.BOOLEAN:
        if (typeof value !== 'boolean') throw new TypeError(`typed param ${p.field}: boolean expected`);
        return this.i32(value ? 1 : 0);
      case TypedParamType.STRING:
        if (typeof value !== 'string') throw new TypeError(`typed param ${p.field}: string expected`);
        return this.string(value);
      default:
        throw new RangeError(`typed param ${p.field}: unknown type ${p.type}`);
    }
  }

  private zeroPad(n: number): void {
    const p = pad(n);
    this.ensure(p);
    this.buf.fill(0, this.len, this.len + p);
    this.len += p;
  }

  /** Returns the bytes written (a view of the internal buffer: do not write more afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

function expectNumber(p: TypedParam): number {
  if (typeof p.value !== 'number') throw new TypeError(`typed param ${p.field}: number expected`);
  return p.value;
}

function expectInteger(p: TypedParam): bigint | number {
  if (typeof p.value !== 'bigint' && typeof p.value !== 'number') {
    throw new TypeError(`typed param ${p.field}: bigint expected`);
  }
  return p.value;
}

/**
 * XDR decoder over a byte range. Every method throws {@link XdrDecodeError} (and nothing else) when the
 * input is truncated, malformed or over a declared maximum.
 */
export class XdrReader {
  private pos: number;
  private readonly end: number;
  private readonly buf: Buffer;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf;
    this.pos = offset;
    this.end = Math.min(end, buf.length);
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Current read position. */
  get offset(): number {
    return this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new XdrDecodeError(`truncated ${what}: need ${n} bytes, ${this.end - this.pos} left`, this.pos);
    }
  }

  /** Reads an unsigned 32-bit integer. */
  u32(): number {
    this.need(4, 'u32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads a signed 32-bit integer. */
  i32(): number {
    this.need(4, 'i32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads an unsigned hyper as bigint. */
  u64(): bigint {
    this.need(8, 'u64');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a signed hyper as bigint. */
  i64(): bigint {
    this.need(8, 'i64');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * Reads an unsigned hyper as a number: exact up to 2^53, above that rounded to the nearest float64
   * (one rounding of the exact value, as `Number(bigint)` rounds), without allocating a bigint.
   */
  u64Number(): number {
    this.need(8, 'u64');
    const v = this.buf.readUInt32BE(this.pos) * 4294967296 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }

  /** Reads a signed hyper as a number (see {@link XdrReader.u64Number}). */
  i64Number(): number {
    this.need(8, 'i64');
    const v = this.buf.readInt32BE(this.pos) * 4294967296 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }

  /** Reads an IEEE 754 double. */
  f64(): number {
    this.need(8, 'f64');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a boolean; like glibc's xdr_bool, any non-zero value is true. */
  bool(): boolean {
    return this.u32() !== 0;
  }

  /** Reads fixed-length opaque data (a copy) and skips its padding. */
  opaqueFixed(size: number): Buffer {
    const total = size + pad(size);
    this.need(total, `opaque[${size}]`);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + size));
    this.pos += total;
    return out;
  }

  private varLength(max: number, what: string): number {
    const at = this.pos;
    const n = this.u32();
    if (n > max) throw new XdrDecodeError(`${what} length ${n} over its maximum ${max}`, at);
    if (n + pad(n) > this.end - this.pos) {
      throw new XdrDecodeError(`truncated ${what}: length ${n}, ${this.end - this.pos} bytes left`, at);
    }
    return n;
  }

  /** Reads variable-length opaque data (a copy). */
  opaqueVar(max: number): Buffer {
    const n = this.varLength(max, 'opaque');
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n + pad(n);
    return out;
  }

  /**
   * Reads a string; invalid UTF-8 sequences become U+FFFD rather than failing. `what` names the item
   * in the error when its length is over `max`.
   */
  string(max: number, what = 'string'): string {
    const n = this.varLength(max, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n + pad(n);
    return s;
  }

  /** Reads a string as {@link XdrReader.string} does, through `names` when given (see {@link NameCache}). */
  name(max: number, what: string, names: NameCache | undefined): string {
    if (names === undefined) return this.string(max, what);
    const n = this.varLength(max, what);
    const s = names.get(this.buf, this.pos, n);
    this.pos += n + pad(n);
    return s;
  }

  /** Reads an optional value: a 0/1 discriminant, then the value when 1. */
  optional<T>(read: (r: this) => T): T | null {
    const at = this.pos;
    const present = this.u32();
    if (present === 0) return null;
    if (present !== 1) throw new XdrDecodeError(`optional discriminant ${present} is neither 0 nor 1`, at);
    return read(this);
  }

  /** Reads the count of a variable-length array, checked as {@link XdrReader.array} checks it. */
  count(max: number, minElementBytes: number): number {
    const at = this.pos;
    const n = this.u32();
    if (n > max) throw new XdrDecodeError(`array count ${n} over its maximum ${max}`, at);
    if (n * minElementBytes > this.end - this.pos) {
      throw new XdrDecodeError(`truncated array: ${n} items cannot fit in ${this.end - this.pos} bytes`, at);
    }
    return n;
  }

  /**
   * Reads a variable-length array. The count is checked against `max` and against the bytes left
   * (each element takes at least `minElementBytes`), so a forged count cannot make it allocate or loop
   * beyond the input.
   */
  array<T>(max: number, read: (r: this, index: number) => T, minElementBytes = 4): T[] {
    const n = this.count(max, minElementBytes);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this, i));
    return out;
  }

  /**
   * Reads a libvirt typed parameter (`remote_typed_param`); 64-bit integers as bigint, or as numbers
   * with `int64AsNumber` (see {@link XdrReader.u64Number}). The name is refused beyond `maxField` bytes
   * (libvirt's limit, VIR_TYPED_PARAM_FIELD_LENGTH − 1, by default), a string value beyond `maxString`.
   * With `names`, the name is taken from that cache (the same string for the same bytes).
   */
  typedParam(
    maxString: number,
    int64AsNumber = false,
    maxField = RemoteLimits.TYPED_PARAM_FIELD_LENGTH - 1,
    names?: NameCache,
  ): TypedParam {
    const field = this.name(maxField, TYPED_PARAM_NAME, names);
    const type = this.i32();
    return { field, type, value: readTypedValue(this, type, field, maxString, int64AsNumber) };
  }

  /** Throws when bytes are left over: the structure was not what the caller expected. */
  expectEnd(): void {
    if (this.pos !== this.end) {
      throw new XdrDecodeError(`${this.end - this.pos} unexpected trailing bytes`, this.pos);
    }
  }
}
