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

/** Each unit: its conversion to the base unit and how HELP says it (none when it is already the base unit). */
const UNITS: Readonly<
  Record<RawUnit, { readonly toBase: (raw: number) => number; readonly phrase?: string }>
> = {
  ns: { toBase: (raw) => raw / 1e9, phrase: 'converted from ns' },
  us: { toBase: (raw) => raw / 1e6, phrase: 'converted from µs' },
  // NOTE: a product, not a division, as the job collector always computed it (same served values).
  ms: { toBase: (raw) => raw * 1e-3, phrase: 'converted from ms' },
  seconds: { toBase: (raw) => raw },
  KiB: { toBase: (raw) => raw * 1024, phrase: 'converted from KiB' },
  MiB: { toBase: (raw) => raw * MiB, phrase: 'converted from MiB' },
  GiB: { toBase: (raw) => raw * 1024 * MiB, phrase: 'converted from GiB' },
  'MiB/s': { toBase: (raw) => raw * MiB, phrase: 'converted from MiB/s' },
  MHz: { toBase: (raw) => raw * 1e6, phrase: 'converted to Hz' },
  bytes: { toBase: (raw) => raw },
  count: { toBase: (raw) => raw },
  code: { toBase: (raw) => raw },
};

/** Converts a raw value to the Prometheus base unit (seconds, bytes, hertz). */
export function toBase(unit: RawUnit, raw: number): number {
  return UNITS[unit].toBase(raw);
}

/** How HELP says the conversion (`converted from ns`), or undefined when the raw unit is the base unit. */
export function conversionPhrase(unit: RawUnit): string | undefined {
  return UNITS[unit].phrase;
}
