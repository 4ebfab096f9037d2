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
  /** For each slot, the slot of the name that followed it last time (-1: none yet). */
  readonly #next: Int32Array;
  /** The slot of the name returned last (-1: none, or not kept). */
  #last = -1;
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
    this.#next = new Int32Array(slots).fill(-1);
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
    // NOTE: names come in the same order for every guest (`block.0.rd.reqs`, then `block.0.rd.bytes`…),
    // so the name that followed the previous one last time is tried first: comparing its bytes is all
    // it costs, without hashing. This halved the cache's own time (a sixth of the decode before).
    const last = this.#last;
    if (last >= 0) {
      const guess = this.#next[last] ?? -1;
      const name = guess >= 0 ? this.#names[guess] : undefined;
      if (name !== undefined && sameAscii(name, buf, start, length)) {
        this.#last = guess;
        return name;
      }
    }
    const slot = this.#slotOf(buf, start, length);
    if (slot < 0) return buf.toString('utf8', start, start + length);
    if (last >= 0) this.#next[last] = slot;
    this.#last = slot;
    return this.#names[slot] ?? '';
  }

  /** The slot holding these bytes' name, filled now if needed; -1 when the name is not kept. */
  #slotOf(buf: Buffer, start: number, length: number): number {
    // FNV-1a over the bytes; `ascii` collects every byte's high bit.
    let hash = 0x811c9dc5 | 0; // as an int32, the type Int32Array stores
    let ascii = 0;
    const end = start + length;
    for (let i = start; i < end; i++) {
      const b = buf[i] ?? 0;
      ascii |= b;
      hash = Math.imul(hash ^ b, 0x01000193);
    }
    if (ascii > 0x7f) return -1;
    const mask = this.#mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const name = this.#names[slot];
      if (name === undefined) return this.#add(slot, hash, buf, start, length);
      if (this.#hashes[slot] === hash && sameAscii(name, buf, start, length)) return slot;
    }
  }

  #add(slot: number, hash: number, buf: Buffer, start: number, length: number): number {
    if (this.#size >= this.#maxEntries) {
      this.#names.fill(undefined);
      this.#next.fill(-1);
      this.#last = -1;
      this.#size = 0;
      this.#resets += 1;
      return -1; // decoded without the cache; cached again the next time it comes, in the emptied table
    }
    // NOTE: latin1 is ASCII here (every byte was checked) and skips the UTF-8 decoder.
    this.#names[slot] = buf.toString('latin1', start, start + length);
    this.#hashes[slot] = hash;
    this.#size += 1;
    return slot;
  }
}

/** Whether the ASCII string `s` is the bytes `buf[start, start + length)`. */
function sameAscii(s: string, buf: Uint8Array, start: number, length: number): boolean {
  if (s.length !== length) return false;
  for (let i = 0; i < length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/** The typed-parameter names of the bulk stats replies, shared by every connection (bounded). */
export const STATS_FIELD_NAMES = new NameCache();
