// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Python value formatting that Ceilometer's wire format and signature depend on: `repr()` of floats,
 * `str()` of scalars (the HMAC input), `json.dumps()` with its default separators and `ensure_ascii`
 * (the body bytes), and a JSON reader that keeps the int/float distinction of the text it reads.
 *
 * JavaScript has one number type, Python two: `45` and `45.0` are different strings to the signature
 * (`counter_volume45` vs `counter_volume45.0`). Values are therefore modelled as {@link PyValue}, where
 * a plain integral `number` is a Python int and a {@link PyFloat} is a Python float.
 */

/** A Python float. Plain integral numbers are Python ints; wrap a number in this to make it a float. */
export class PyFloat {
  /** The value. */
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

/** A Python dict of {@link PyValue}s; insertion order is the dict's order (JSON key order). */
export interface PyDict {
  [key: string]: PyValue;
}

/** A JSON-compatible Python value: None, bool, int (integral number or bigint), float, str, list, dict. */
export type PyValue = null | boolean | number | bigint | string | PyFloat | readonly PyValue[] | PyDict;

/**
 * Formats a number as Python's `repr(float)` (and `str(float)`, the same since Python 3.2): the
 * shortest digits that round-trip, fixed notation for decimal exponents -4..15 with `.0` on integral
 * values, otherwise `d.ddde±XX` with at least two exponent digits.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // NOTE: toExponential() without an argument gives the shortest round-trip digits (ECMA-262
  // Number.prototype.toExponential, fractionDigits undefined), the same digits as Python's repr
  // (David Gay's shortest mode); only the layout differs.
  const [mantissa = '', exponentText = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  // Python's float_repr_style 'short': exponent notation when decpt <= -4 or decpt > 16,
  // where decpt = exponent + 1.
  if (exponent < -4 || exponent >= 16) {
    const m = digits.length > 1 ? `${digits.slice(0, 1)}.${digits.slice(1)}` : digits;
    const e = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${m}e${exponent < 0 ? '-' : '+'}${e}`;
  }
  const decpt = exponent + 1;
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** Formats a Python int; integral doubles beyond 2^53 print all their digits, as Python's int would. */
function pyIntRepr(x: number | bigint): string {
  return typeof x === 'bigint' ? x.toString() : BigInt(x).toString();
}

/** Formats a plain number: integral → int, otherwise float (a non-integral number cannot be a Python int). */
function pyNumberRepr(x: number): string {
  return Number.isInteger(x) ? pyIntRepr(x) : pyFloatRepr(x);
}

/** Orders strings by code point, as Python's `sorted()` does (JavaScript's default sorts UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done === true) return cb.done === true ? 0 : -1;
    if (cb.done === true) return 1;
    const d = (ca.value.codePointAt(0) ?? 0) - (cb.value.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
}

/** Python `repr()` of a `bytes` object holding the UTF-8 encoding of `s`. */
function pyBytesRepr(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  const hasSingle = bytes.includes(0x27);
  const hasDouble = bytes.includes(0x22);
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = `b${quote}`;
  for (const b of bytes) {
    if (b === quote.charCodeAt(0) || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b === 0x09) out += '\\t';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b < 0x20 || b >= 0x7f) out += `\\x${b.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `${out}${quote}`;
}

/**
 * Python `repr()` of a value after Ceilometer's `decode_unicode()` (publisher/utils.py): strings have
 * become bytes (`b'a'`) and dict keys are sorted. Only lists reach this in the signature.
 */
function pyDecodedRepr(v: PyValue): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return pyNumberRepr(v);
  if (typeof v === 'bigint') return pyIntRepr(v);
  if (typeof v === 'string') return pyBytesRepr(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (Array.isArray(v)) return `[${(v as readonly PyValue[]).map(pyDecodedRepr).join(', ')}]`;
  const d = v as PyDict;
  const keys = Object.keys(d).sort(compareCodePoints);
  return `{${keys.map((k) => `${pyBytesRepr(k)}: ${pyDecodedRepr(d[k] ?? null)}`).join(', ')}}`;
}

/**
 * Python `str(value)` as Ceilometer's `compute_signature` feeds it to the HMAC: `None`, `True`,
 * `45`, `45.0`, `1e-07`, the string itself, and lists after `decode_unicode` (`[b'a', 1, None]`).
 * Dicts never reach it (they are flattened first), but are formatted like list members if they do.
 */
export function pyStr(v: PyValue): string {
  if (typeof v === 'string') return v;
  return pyDecodedRepr(v);
}

/** Python `json.dumps` string escaping with `ensure_ascii=True` (lower-case hex, as CPython writes it). */
function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    // Everything outside ' '..'~' is escaped, including DEL (0x7f); astral characters come out as
    // their two UTF-16 surrogates, which is what iterating char codes gives.
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i] ?? '';
  }
  return `${out}"`;
}

function pyJsonFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pyFloatRepr(x);
}

/**
 * Serialises like Python's `json.dumps(value)` with default arguments (what oslo's `jsonutils.dumps`
 * calls): separators `", "` and `": "`, `ensure_ascii`, floats as `repr()`, keys in insertion order.
 */
export function pyJsonDumps(v: PyValue): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? pyIntRepr(v) : pyJsonFloat(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return pyJsonString(v);
  if (v instanceof PyFloat) return pyJsonFloat(v.value);
  if (Array.isArray(v)) return `[${(v as readonly PyValue[]).map(pyJsonDumps).join(', ')}]`;
  const d = v as PyDict;
  return `{${Object.keys(d)
    .map((k) => `${pyJsonString(k)}: ${pyJsonDumps(d[k] ?? null)}`)
    .join(', ')}}`;
}

/** Thrown by {@link parsePyJson} on malformed input. */
export class PyJsonSyntaxError extends SyntaxError {
  override readonly name = 'PyJsonSyntaxError';
}

/**
 * Parses JSON keeping Python's number types: a number written with a fraction or exponent becomes a
 * {@link PyFloat}, others become ints (bigint beyond 2^53). Also accepts Python's `NaN`/`Infinity`.
 * Needed to recompute the signature of a received message: the number's text is what was hashed.
 */
export function parsePyJson(text: string): PyValue {
  const p = new PyJsonParser(text);
  const v = p.value();
  p.ws();
  if (p.i !== text.length) p.fail('trailing data');
  return v;
}

/** A recursive-descent reader of {@link parsePyJson}'s grammar over one text, `i` its offset. */
class PyJsonParser {
  i = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new PyJsonSyntaxError(`${what} at offset ${this.i}`);
  }

  ws(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i] ?? '')) this.i++;
  }

  /** Consumes `c` if it is the next character. */
  eat(c: string): boolean {
    if (this.text[this.i] !== c) return false;
    this.i++;
    return true;
  }

  literal(word: string): boolean {
    if (!this.text.startsWith(word, this.i)) return false;
    this.i += word.length;
    return true;
  }

  str(): string {
    const start = this.i;
    this.i++; // opening quote
    while (this.i < this.text.length && this.text[this.i] !== '"')
      this.i += this.text[this.i] === '\\' ? 2 : 1;
    if (this.i >= this.text.length) this.fail('unterminated string');
    this.i++;
    return JSON.parse(this.text.slice(start, this.i)) as string;
  }

  value(): PyValue {
    this.ws();
    if (this.eat('{')) return this.dict();
    if (this.eat('[')) return this.list();
    if (this.text[this.i] === '"') return this.str();
    if (this.literal('null')) return null;
    if (this.literal('true')) return true;
    if (this.literal('false')) return false;
    if (this.literal('NaN')) return new PyFloat(NaN);
    if (this.literal('Infinity')) return new PyFloat(Infinity);
    if (this.literal('-Infinity')) return new PyFloat(-Infinity);
    return this.number();
  }

  /** After `{`: members up to the closing `}`. */
  dict(): PyDict {
    const d: PyDict = {};
    this.ws();
    if (this.eat('}')) return d;
    for (;;) {
      this.ws();
      if (this.text[this.i] !== '"') this.fail('expected a key');
      const k = this.str();
      this.ws();
      if (!this.eat(':')) this.fail("expected ':'");
      d[k] = this.value();
      this.ws();
      if (this.eat(',')) continue;
      if (this.eat('}')) return d;
      this.fail("expected ',' or '}'");
    }
  }

  /** After `[`: elements up to the closing `]`. */
  list(): PyValue[] {
    const a: PyValue[] = [];
    this.ws();
    if (this.eat(']')) return a;
    for (;;) {
      a.push(this.value());
      this.ws();
      if (this.eat(',')) continue;
      if (this.eat(']')) return a;
      this.fail("expected ',' or ']'");
    }
  }

  /** A JSON number: a PyFloat when written with a fraction or exponent, else an int (bigint beyond 2^53). */
  number(): PyValue {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.i, this.i + 400));
    if (m === null) return this.fail('unexpected character');
    this.i += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new PyFloat(Number(m[0]));
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  }
}
