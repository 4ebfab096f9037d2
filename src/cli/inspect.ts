// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * `libvirt-exporter inspect`: a virt-top-like table of the local guests for operators at a shell, from
 * two inspections a short interval apart (rates need two readings). `--output json` for scripts.
 */
import type { Config } from '../config/schema.ts';
import { parseDuration } from '../config/duration.ts';
import { inspectorOptions } from '../config/inspector-options.ts';
import {
  createLibvirtInspector,
  type LibvirtInspector,
  type LibvirtInspectorOptions,
} from '../inspector/libvirt-inspector.ts';
import type { DomainStats, Inspection } from '../inspector/types.ts';

/** One guest's row. Rates are per second over the interval; absent when not measurable. */
export interface GuestRow {
  readonly name: string;
  readonly uuid: string;
  readonly state: string;
  readonly vcpus?: number;
  /** CPU use as a share of one host CPU, in percent (virt-top's %CPU). */
  readonly cpuPercent?: number;
  readonly memoryBytes?: number;
  readonly diskReadBytesPerSecond?: number;
  readonly diskWriteBytesPerSecond?: number;
  readonly netRxBytesPerSecond?: number;
  readonly netTxBytesPerSecond?: number;
  readonly project?: string;
  readonly displayName?: string;
  readonly skipped?: string;
}

function sum(values: readonly (number | undefined)[]): number | undefined {
  let total = 0;
  let any = false;
  for (const v of values) {
    if (v !== undefined) {
      total += v;
      any = true;
    }
  }
  return any ? total : undefined;
}

function rate(a: number | undefined, b: number | undefined, seconds: number): number | undefined {
  return a === undefined || b === undefined || seconds <= 0 ? undefined : Math.max(0, (b - a) / seconds);
}

/** Builds the rows from two inspections. */
export function guestRows(first: Inspection, second: Inspection): GuestRow[] {
  const dt = second.timestampSeconds - first.timestampSeconds;
  const skipped = new Map(second.skipped.map((s) => [s.uuid, s.reason]));
  return second.instances.map((i) => {
    const a: DomainStats | undefined = first.stats.get(i.uuid);
    const b: DomainStats | undefined = second.stats.get(i.uuid);
    const blocks = (s: DomainStats | undefined, k: 'readBytes' | 'writeBytes') =>
      s === undefined ? undefined : sum(s.blocks.map((x) => x[k]));
    const nets = (s: DomainStats | undefined, k: 'rxBytes' | 'txBytes') =>
      s === undefined ? undefined : sum(s.interfaces.map((x) => x[k]));
    const cpu = rate(a?.cpu?.timeNs, b?.cpu?.timeNs, dt);
    const row: Record<string, unknown> = {
      name: i.name,
      uuid: i.uuid,
      state: i.state,
      vcpus: b?.vcpuCurrent ?? i.vcpus,
      cpuPercent: cpu === undefined ? undefined : cpu / 1e7,
      memoryBytes: b?.balloon?.currentKiB === undefined ? undefined : b.balloon.currentKiB * 1024,
      diskReadBytesPerSecond: rate(blocks(a, 'readBytes'), blocks(b, 'readBytes'), dt),
      diskWriteBytesPerSecond: rate(blocks(a, 'writeBytes'), blocks(b, 'writeBytes'), dt),
      netRxBytesPerSecond: rate(nets(a, 'rxBytes'), nets(b, 'rxBytes'), dt),
      netTxBytesPerSecond: rate(nets(a, 'txBytes'), nets(b, 'txBytes'), dt),
      project: i.nova?.projectName,
      displayName: i.nova?.displayName,
      skipped: skipped.get(i.uuid),
    };
    // Absent values are left out of the row (and of the JSON), never written as null or 0.
    return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)) as unknown as GuestRow;
  });
}

function human(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)}${units[u] ?? ''}`;
}

/** Renders the rows as a fixed-width table. */
export function renderTable(rows: readonly GuestRow[]): string {
  const header = [
    'NAME',
    'STATE',
    'VCPUS',
    '%CPU',
    'MEMORY',
    'DISK RD/s',
    'DISK WR/s',
    'NET RX/s',
    'NET TX/s',
    'PROJECT',
    'DISPLAY NAME',
  ];
  const lines = rows.map((r) => [
    r.name + (r.skipped ? ` (${r.skipped})` : ''),
    r.state,
    r.vcpus === undefined ? '-' : String(r.vcpus),
    r.cpuPercent === undefined ? '-' : r.cpuPercent.toFixed(1),
    human(r.memoryBytes),
    human(r.diskReadBytesPerSecond),
    human(r.diskWriteBytesPerSecond),
    human(r.netRxBytesPerSecond),
    human(r.netTxBytesPerSecond),
    r.project ?? '-',
    r.displayName ?? '-',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => (l[c] ?? '').length)));
  const fmt = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...lines.map(fmt)].join('\n') + '\n';
}

/** Runs the inspect command; returns the exit code. `createInspector` is for tests. */
export async function runInspect(
  config: Config,
  options: { output: 'table' | 'json'; intervalSeconds: number },
  createInspector: (options: LibvirtInspectorOptions) => LibvirtInspector = createLibvirtInspector,
): Promise<number> {
  // The same options as the server's (TLS files included).
  const inspector = createInspector(inspectorOptions(config));
  try {
    const deadline = (): AbortSignal => AbortSignal.timeout(parseDuration(config.scrape.timeout));
    const first = await inspector.inspectAll({ signal: deadline() });
    await new Promise((r) => setTimeout(r, options.intervalSeconds * 1000));
    const second = await inspector.inspectAll({ signal: deadline() });
    const rows = guestRows(first, second);
    process.stdout.write(
      options.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows),
    );
    return 0;
  } catch (err) {
    process.stderr.write(`libvirt-exporter inspect: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await inspector.close();
  }
}
