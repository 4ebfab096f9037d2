// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The files of one guest's cgroup directory, each opened once and read again at offset 0 (`pread`) into
 * one reused buffer, and the parsers of their text working on those bytes (cgroups.ts uses both).
 *
 * NOTE: a cgroup file is a seq_file: a read at offset 0 makes the kernel generate its text anew, so a
 * descriptor kept open sees each new value (checked on the lab: bench/cgroup-reads.ts). Reading that way
 * costs about a fifth of `readFileSync` (open + fstat + read + close with a path walk per file) at 50
 * guests. When the cgroup is removed, a kept descriptor's reads fail with ENODEV.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';

/** PSI totals of one resource, microseconds ("some": at least one task stalled; "full": all). */
export interface PsiTotals {
  readonly someUs?: number;
  readonly fullUs?: number;
}

/** One buffer that every read of a reader goes into, grown when a file does not fit. */
export class ReadBuffer {
  bytes: Buffer = Buffer.allocUnsafe(4096);

  /** Reads the whole file from offset 0 into {@link bytes}; returns its length. Throws as `readSync`. */
  readAll(fd: number): number {
    for (;;) {
      const n = readSync(fd, this.bytes, 0, this.bytes.length, 0);
      if (n < this.bytes.length) return n;
      this.bytes = Buffer.allocUnsafe(this.bytes.length * 2);
    }
  }
}

/** A cgroup directory's files, each opened on first read and kept open until dropped or closed. */
export class CgroupFiles {
  readonly #fds = new Map<string, number>();

  constructor(
    /** The directory, absolute. */
    readonly dir: string,
    private readonly buffer: ReadBuffer,
    /** The directory as its owner names it (relative to the cgroup root), to tell whether it moved. */
    readonly relative: string,
  ) {}

  /**
   * Reads the file into the shared buffer; its length, or undefined when it cannot be opened or read
   * (then its descriptor is closed, and the next call opens it again).
   */
  read(name: string): number | undefined {
    let fd = this.#fds.get(name);
    try {
      if (fd === undefined) {
        fd = openSync(path.join(this.dir, name), 'r');
        this.#fds.set(name, fd);
      }
      return this.buffer.readAll(fd);
    } catch {
      this.drop(name);
      return undefined;
    }
  }

  /** Whether the file's descriptor is open. */
  isOpen(name: string): boolean {
    return this.#fds.has(name);
  }

  /** Closes the file's descriptor, if open. */
  drop(name: string): void {
    const fd = this.#fds.get(name);
    if (fd === undefined) return;
    this.#fds.delete(name);
    try {
      closeSync(fd);
    } catch {
      // already gone: nothing held
    }
  }

  /** Closes every descriptor. */
  close(): void {
    for (const name of [...this.#fds.keys()]) this.drop(name);
  }
}

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;
const isWord = (b: number | undefined): boolean =>
  b !== undefined && (isDigit(b) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f);
/** ASCII whitespace as `\s` has it (the kernel writes no other). */
const isSpace = (b: number | undefined): boolean => b === 0x20 || (b !== undefined && b >= 0x09 && b <= 0x0d);

/** The decimal number in `buf[from, to)` (digits only), as `Number(text)` would read it. */
function decimal(buf: Uint8Array, from: number, to: number): number {
  // Up to 15 digits the running sum is exact (below 2^53); longer ones are read as text, rounded alike.
  if (to - from > 15)
    return Number(Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString('latin1'));
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (buf[i] ?? 0) - 0x30;
  return n;
}

/** The end of the line starting at `start` (its `\n`, or `len`). */
function lineEnd(buf: Uint8Array, start: number, len: number): number {
  const nl = buf.indexOf(0x0a, start);
  return nl < 0 || nl > len ? len : nl;
}

const TOTAL = Buffer.from('total=', 'latin1');
const SOME = Buffer.from('some', 'latin1');
const FULL = Buffer.from('full', 'latin1');
/**
 * Whether `word` is at `buf[at]`.
 * NOTE: a loop, not `word.every(…)`, whose callback was a closure allocated per call: per PSI line and
 * per `t` of it, the largest allocation of a scrape at 50 guests (sampled).
 */
function startsWith(buf: Uint8Array, at: number, word: Uint8Array): boolean {
  for (let i = 0; i < word.length; i++) if (buf[at + i] !== word[i]) return false;
  return true;
}

/**
 * The bytes of a word the parsers below look for, encoded once.
 * NOTE: the callers pass a handful of constant words (`max`, `cpu`, the cpu.stat keys) for every running
 * guest and scrape; encoding them at each call was an allocation per call on that path.
 */
const WORDS = new Map<string, Buffer>();
function wordBytes(word: string): Buffer {
  let w = WORDS.get(word);
  if (w === undefined) {
    w = Buffer.from(word, 'latin1');
    WORDS.set(word, w);
  }
  return w;
}

/**
 * The value of the line's last `total=N` preceded by a non-word character, from `from` on, before a
 * `\r` (what `.*\btotal=(\d+)` matches); undefined when there is none.
 */
function lastTotal(buf: Uint8Array, from: number, end: number): number | undefined {
  const cr = buf.indexOf(0x0d, from);
  const stop = cr < 0 || cr > end ? end : cr;
  for (let at = stop - TOTAL.length - 1; at >= from; at--) {
    if (buf[at] !== 0x74 || !startsWith(buf, at, TOTAL) || isWord(buf[at - 1])) continue;
    let d = at + TOTAL.length;
    if (!isDigit(buf[d])) continue;
    while (d < stop && isDigit(buf[d])) d++;
    return decimal(buf, at + TOTAL.length, d);
  }
  return undefined;
}

/**
 * Parses a PSI file's bytes `buf[0, len)` (`some avg10=… total=N` / `full … total=N`): per line, the
 * last `total=` of a line that starts with `some` or `full` and a space; a later line wins.
 */
export function parsePsiBytes(buf: Uint8Array, len: number): PsiTotals {
  let someUs: number | undefined;
  let fullUs: number | undefined;
  for (let start = 0; start <= len;) {
    const end = lineEnd(buf, start, len);
    const some = startsWith(buf, start, SOME);
    if ((some || startsWith(buf, start, FULL)) && start + 4 < end && isSpace(buf[start + 4])) {
      const total = lastTotal(buf, start + 5, end);
      if (total !== undefined) {
        if (some) someUs = total;
        else fullUs = total;
      }
    }
    start = end + 1;
  }
  // One object of the shape the caller reads (no spread of temporary ones); absent fields stay absent.
  if (someUs === undefined) return fullUs === undefined ? {} : { fullUs };
  return fullUs === undefined ? { someUs } : { someUs, fullUs };
}

/** The end of the token starting at `from` (the next whitespace, or `end`). */
function tokenEnd(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end && !isSpace(buf[i])) i++;
  return i;
}

/** The first non-whitespace position from `from` on, before `end`. */
function skipSpace(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end && isSpace(buf[i])) i++;
  return i;
}

/** Whether the first whitespace-separated token of `buf[0, len)` is `word` (cpu.max's `max`). */
export function firstTokenIs(buf: Uint8Array, len: number, word: string): boolean {
  const from = skipSpace(buf, 0, len);
  const to = tokenEnd(buf, from, len);
  return to - from === word.length && startsWith(buf, from, wordBytes(word));
}

/** Whether `word` is one of the whitespace-separated tokens of `buf[0, len)` (cgroup.controllers). */
export function hasToken(buf: Uint8Array, len: number, word: string): boolean {
  const w = wordBytes(word);
  for (let from = skipSpace(buf, 0, len); from < len; from = skipSpace(buf, tokenEnd(buf, from, len), len))
    if (tokenEnd(buf, from, len) - from === w.length && startsWith(buf, from, w)) return true;
  return false;
}

/**
 * The value of `key` in a flat keyed file's bytes (`cpu.stat`: `key value` lines): the last line whose
 * first token is `key` and whose second is all digits; undefined when none is.
 */
export function flatKeyedValue(buf: Uint8Array, len: number, key: string): number | undefined {
  const k = wordBytes(key);
  let value: number | undefined;
  for (let start = 0; start <= len;) {
    const end = lineEnd(buf, start, len);
    const from = skipSpace(buf, start, end);
    const keyEnd = tokenEnd(buf, from, end);
    if (keyEnd - from === k.length && startsWith(buf, from, k)) {
      const v = skipSpace(buf, keyEnd, end);
      const vEnd = tokenEnd(buf, v, end);
      let digits = vEnd > v;
      for (let i = v; i < vEnd && digits; i++) digits = isDigit(buf[i]);
      if (digits) value = decimal(buf, v, vEnd);
    }
    start = end + 1;
  }
  return value;
}
