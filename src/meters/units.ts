// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Raw units as libvirt (or Nova, or the kernel) reports them, and their conversion to the Prometheus
 * base units (seconds, bytes, hertz). The only place where a unit is converted for /metrics.
 */

/** Raw units as the source reports them. */
export type RawUnit =
  'ns' | 'us' | 'ms' | 'seconds' | 'KiB' | 'MiB' | 'GiB' | 'MiB/s' | 'MHz' | 'bytes' | 'count' | 'code';

const MiB = 1024 * 1024;

/**
 * How a raw value becomes the base value: `raw / div * mul`, one of the two being 1 (a division or a
 * product by 1 is exact, so this is the one operation each unit needs, bit for bit).
 * NOTE: numbers, not one conversion function per unit: the meter table's rows convert every sample of a
 * scrape (66 000 at 1000 guests), and a call through a table of functions cannot be inlined there, so
 * each call returned a freshly boxed number (about 1 MB of garbage per such scrape, sampled).
 */
export interface UnitScale {
  readonly div: number;
  readonly mul: number;
}

/** Each unit: its conversion to the base unit and how HELP says it (none when it is already the base unit). */
const UNITS: Readonly<Record<RawUnit, UnitScale & { readonly phrase?: string }>> = {
  ns: { div: 1e9, mul: 1, phrase: 'converted from ns' },
  us: { div: 1e6, mul: 1, phrase: 'converted from µs' },
  // NOTE: a product, not a division, as the job collector always computed it (same served values).
  ms: { div: 1, mul: 1e-3, phrase: 'converted from ms' },
  seconds: { div: 1, mul: 1 },
  KiB: { div: 1, mul: 1024, phrase: 'converted from KiB' },
  MiB: { div: 1, mul: MiB, phrase: 'converted from MiB' },
  // 2³⁰: a product by a power of two is exact, as `raw * 1024 * MiB` was.
  GiB: { div: 1, mul: 1024 * MiB, phrase: 'converted from GiB' },
  'MiB/s': { div: 1, mul: MiB, phrase: 'converted from MiB/s' },
  MHz: { div: 1, mul: 1e6, phrase: 'converted to Hz' },
  bytes: { div: 1, mul: 1 },
  count: { div: 1, mul: 1 },
  code: { div: 1, mul: 1 },
};

/** The conversion of `unit` to its base unit as numbers: `raw / div * mul` (for hot loops). */
export function unitScale(unit: RawUnit): UnitScale {
  const { div, mul } = UNITS[unit];
  return { div, mul };
}

/** Converts a raw value to the Prometheus base unit (seconds, bytes, hertz). */
export function toBase(unit: RawUnit, raw: number): number {
  const u = UNITS[unit];
  return (raw / u.div) * u.mul;
}

/** How HELP says the conversion (`converted from ns`), or undefined when the raw unit is the base unit. */
export function conversionPhrase(unit: RawUnit): string | undefined {
  return UNITS[unit].phrase;
}
