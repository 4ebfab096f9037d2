// SPDX-License-Identifier: Apache-2.0
/**
 * {@link NameCache}: interned strings for names that repeat in every reply, such as the typed-parameter
 * names of the bulk stats call (`block.0.rd.bytes` comes once per guest with a disk, every scrape).
 *
 * @packageDocumentation
 */

/** Most names a cache holds before it starts over (see {@link NameCache}). */
export const NAME_CACHE_MAX_ENTRIES = 2048;

/**
 * Decodes short ASCII names from a buffer, returning the same string object each time the same bytes
 * come again. Names with a byte over 0x7f are decoded as UTF-8 and not kept.
 *
 * NOTE: the bulk stats reply of 1000 guests holds about 58 000 names but only a few hundred distinct
 * ones. `buf.toString('utf8', …)` per name (a native call and a new string each time) was about a third
 * of the XDR decode; the strings the cache hands out are also the ones whose hash V8 has already
 * computed, so the stats decoder's Map lookups on them cost nothing more.
 *
 * Bounded: a daemon sending a new name each time (hostile, or a host with very many devices) fills the
 * cache up to `maxEntries`; the next new name then empties it and it starts over, so it never holds more
 * than `maxEntries` names (each at most the length the caller allowed) and always answers correctly.
 */
export class NameCache {
  readonly #maxEntries: number;
  readonly #mask: number;
  readonly #hashes: Int32Array;
  readonly #names: (string | undefined)[];
  #size = 0;
  #resets = 0;

  /** @param maxEntries the most names held at once (the table has at least twice as many slots). */
  constructor(maxEntries = NAME_CACHE_MAX_ENTRIES) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`bad cache size ${maxEntries}`);
    let slots = 16;
    while (slots < maxEntries * 2) slots *= 2;
    this.#maxEntries = maxEntries;
    this.#mask = slots - 1;
    this.#hashes = new Int32Array(slots);
    this.#names = new Array<string | undefined>(slots).fill(undefined);
  }

  /** Names held now. */
  get size(): number {
    return this.#size;
  }

  /** How many times the cache was full and started over. */
  get resets(): number {
    return this.#resets;
  }

  /** The string of `buf[start, start + length)`: the cached one when these bytes were seen before. */
  get(buf: Buffer, start: number, length: number): string {
    // FNV-1a over the bytes; `ascii` collects every byte's high bit.
    let hash = 0x811c9dc5 | 0; // as an int32, the type Int32Array stores
    let ascii = 0;
    const end = start + length;
    for (let i = start; i < end; i++) {
      const b = buf[i] ?? 0;
      ascii |= b;
      hash = Math.imul(hash ^ b, 0x01000193);
    }
    if (ascii > 0x7f) return buf.toString('utf8', start, end);
    const mask = this.#mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const name = this.#names[slot];
      if (name === undefined) return this.#add(slot, hash, buf, start, length);
      if (this.#hashes[slot] === hash && sameAscii(name, buf, start, length)) return name;
    }
  }

  #add(slot: number, hash: number, buf: Buffer, start: number, length: number): string {
    // NOTE: latin1 is ASCII here (every byte was checked) and skips the UTF-8 decoder.
    const name = buf.toString('latin1', start, start + length);
    if (this.#size >= this.#maxEntries) {
      this.#names.fill(undefined);
      this.#size = 0;
      this.#resets += 1;
      return name; // cached again the next time it comes, in the emptied table
    }
    this.#names[slot] = name;
    this.#hashes[slot] = hash;
    this.#size += 1;
    return name;
  }
}

/** Whether the ASCII string `s` is the bytes `buf[start, start + length)`. */
function sameAscii(s: string, buf: Uint8Array, start: number, length: number): boolean {
  if (s.length !== length) return false;
  for (let i = 0; i < length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}
