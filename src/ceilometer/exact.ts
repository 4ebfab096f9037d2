// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Exact integer volumes (issue 15, item 10). The inspector's records and the meter table hold float64
 * numbers, which is what Prometheus needs; Ceilometer prints integer volumes as Python ints, and real
 * Ceilometer prints libvirt's exact value (2^64 − 1 as 18446744073709551615, not 18446744073709551616).
 * An integer meter therefore has an exact reader that reads the record's raw typed parameters again,
 * where libvirt's uint64 counters are bigint; samples use it only beyond 2^53, where float64 may have
 * rounded the value.
 */
import type { DomainStats } from '../inspector/types.ts';
import type { DiskSubject, DomainSubject, MeterRow, VnicSubject } from '../meters/table.ts';

/** Reads the exact integer of a meter's volume, or undefined when it cannot. */
export type ExactReader<Subject> = (subject: Subject) => bigint | undefined;

/** A raw typed parameter of the record as an exact integer (libvirt's 64-bit counters arrive as bigint). */
export function rawInteger(stats: DomainStats, field: string): bigint | undefined {
  const v = stats.raw.get(field);
  if (typeof v === 'bigint') return v;
  return typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
}

/** Ceilometer's `cpu` ({@link ceilometerCpuNs} of the meter table) summed exactly. */
function exactCpuNs(s: DomainSubject): bigint | undefined {
  const stats = s.stats;
  let total = 0n;
  let complete = 0;
  for (const v of stats.vcpus) {
    if (v.timeNs === undefined || v.waitNs === undefined) continue;
    const time = rawInteger(stats, `vcpu.${v.index}.time`);
    const wait = rawInteger(stats, `vcpu.${v.index}.wait`);
    if (time === undefined || wait === undefined) return undefined;
    total += time + wait;
    complete += 1;
  }
  if (complete > 0 && complete >= (stats.vcpuCurrent ?? 0)) return total;
  return rawInteger(stats, 'cpu.time');
}

/** `disk.device.capacity`: the larger of capacity and physical, exactly. */
function exactDiskCapacity(s: DiskSubject): bigint | undefined {
  const capacity = rawInteger(s.stats, `block.${s.block.index}.capacity`);
  const physical = rawInteger(s.stats, `block.${s.block.index}.physical`);
  if (capacity === undefined && physical === undefined) return undefined;
  const c = capacity ?? 0n;
  const p = physical ?? 0n;
  return c > p ? c : p;
}

/** Rows whose value is computed from several fields: their exact reader, by row key. */
const COMPUTED: Readonly<Record<string, ExactReader<never>>> = {
  ceilometer_cpu: exactCpuNs,
  disk_capacity_ceilometer: exactDiskCapacity,
};

/** A row source naming one libvirt field: `cpu.time`, `block.<n>.rd.bytes`, `net.<n>.rx.bytes`. */
const ONE_FIELD = /^[a-z_]+(\.<n>)?(\.[a-z_]+)+$/;

/**
 * The exact reader of a table row: its computed reader, else the one libvirt field its source names
 * read as it is (`<n>` is the disk's or vNIC's index), else none.
 */
export function exactReaderOfRow(
  row: MeterRow,
): ExactReader<DomainSubject | DiskSubject | VnicSubject> | undefined {
  const computed = COMPUTED[row.key] as ExactReader<DomainSubject | DiskSubject | VnicSubject> | undefined;
  if (computed !== undefined) return computed;
  const source = row.source;
  if (!ONE_FIELD.test(source)) return undefined;
  return (s) => {
    if (!source.includes('<n>')) return rawInteger(s.stats, source);
    const index = 'block' in s ? s.block.index : 'iface' in s ? s.iface.index : undefined;
    return index === undefined ? undefined : rawInteger(s.stats, source.replace('<n>', String(index)));
  };
}
