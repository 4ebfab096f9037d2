// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Decodes one record of libvirt's bulk stats call (virConnectGetAllDomainStats: a flat list of typed
 * parameters such as `block.0.rd.bytes`) into a {@link DomainStats}. Values keep libvirt's units.
 */
import type {
  BalloonStats,
  BlockStats,
  CpuStats,
  DirtyRateStats,
  DomainStats,
  InterfaceStats,
  RawStatValue,
  VcpuStats,
} from './types.ts';

/** A typed parameter as the RPC client decodes it. */
export interface StatParam {
  readonly field: string;
  readonly value: RawStatValue;
}

/** The domain a record belongs to. */
export interface StatDomain {
  readonly name: string;
  readonly uuid: string;
  readonly id: number;
}

function num(v: RawStatValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  // NOTE: 64-bit counters arrive as bigint; Prometheus and Ceilometer values are float64 anyway.
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

function str(v: RawStatValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Builds an object from the defined entries only (exactOptionalPropertyTypes: absent, never undefined). */
function defined<T extends object>(o: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

const BALLOON_FIELDS: Readonly<Record<string, keyof BalloonStats>> = {
  current: 'currentKiB',
  maximum: 'maximumKiB',
  swap_in: 'swapInKiB',
  swap_out: 'swapOutKiB',
  major_fault: 'majorFaults',
  minor_fault: 'minorFaults',
  unused: 'unusedKiB',
  available: 'availableKiB',
  usable: 'usableKiB',
  disk_caches: 'diskCachesKiB',
  hugetlb_pgalloc: 'hugetlbPgalloc',
  hugetlb_pgfail: 'hugetlbPgfail',
  rss: 'rssKiB',
  'last-update': 'lastUpdateSeconds',
};

const BLOCK_FIELDS: Readonly<Record<string, keyof BlockStats>> = {
  'rd.reqs': 'readRequests',
  'rd.bytes': 'readBytes',
  'rd.times': 'readTimeNs',
  'wr.reqs': 'writeRequests',
  'wr.bytes': 'writeBytes',
  'wr.times': 'writeTimeNs',
  'fl.reqs': 'flushRequests',
  'fl.times': 'flushTimeNs',
  errors: 'errors',
  allocation: 'allocationBytes',
  capacity: 'capacityBytes',
  physical: 'physicalBytes',
  threshold: 'thresholdBytes',
};

const NET_FIELDS: Readonly<Record<string, keyof InterfaceStats>> = {
  'rx.bytes': 'rxBytes',
  'rx.pkts': 'rxPackets',
  'rx.errs': 'rxErrors',
  'rx.drop': 'rxDrops',
  'tx.bytes': 'txBytes',
  'tx.pkts': 'txPackets',
  'tx.errs': 'txErrors',
  'tx.drop': 'txDrops',
};

const VCPU_FIELDS: Readonly<Record<string, keyof VcpuStats>> = {
  state: 'state',
  time: 'timeNs',
  wait: 'waitNs',
  delay: 'delayNs',
};

const CPU_FIELDS: Readonly<Record<string, keyof CpuStats>> = {
  time: 'timeNs',
  user: 'userNs',
  system: 'systemNs',
  'haltpoll.success.time': 'haltpollSuccessNs',
  'haltpoll.fail.time': 'haltpollFailNs',
};

const DIRTYRATE_FIELDS: Readonly<Record<string, keyof DirtyRateStats>> = {
  calc_status: 'calcStatus',
  calc_start_time: 'calcStartTimeSeconds',
  calc_period: 'calcPeriodSeconds',
  megabytes_per_second: 'megabytesPerSecond',
};

/**
 * A table entry for a field name the daemon sent, or undefined. Field names come from libvirtd: a plain
 * `TABLE[name]` would find `__proto__`, `constructor` or `toString` on Object.prototype (issue 15, item 9).
 */
function own<V>(table: Readonly<Record<string, V>>, name: string): V | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** `<prefix>.<n>.<rest>` → [n, rest], or undefined. */
function indexed(field: string, prefix: string): [number, string] | undefined {
  if (!field.startsWith(prefix)) return undefined;
  const rest = field.slice(prefix.length);
  const dot = rest.indexOf('.');
  if (dot <= 0) return undefined;
  const n = Number(rest.slice(0, dot));
  if (!Number.isInteger(n) || n < 0) return undefined;
  return [n, rest.slice(dot + 1)];
}

/**
 * Decodes the typed parameters of one domain. Unknown fields are kept in `raw` only; a device index
 * libvirt skipped leaves no hole (devices are listed by the indices that exist).
 */
export function decodeDomainStats(domain: StatDomain, params: readonly StatParam[]): DomainStats {
  const cpu: Record<string, number> = {};
  const balloon: Record<string, number> = {};
  const dirty: Record<string, number | string> = {};
  const perf: Record<string, number> = {};
  const vcpus = new Map<number, Record<string, number | boolean>>();
  const nets = new Map<number, Record<string, number | string>>();
  const blocks = new Map<number, Record<string, number | string>>();
  let stateCode: number | undefined;
  let stateReason: number | undefined;
  let vcpuCurrent: number | undefined;
  let vcpuMaximum: number | undefined;

  const slot = <V>(m: Map<number, Record<string, V>>, n: number): Record<string, V> => {
    let r = m.get(n);
    if (r === undefined) {
      r = {};
      m.set(n, r);
    }
    return r;
  };

  for (const { field, value } of params) {
    const n = num(value);
    if (field === 'state.state') stateCode = n;
    else if (field === 'state.reason') stateReason = n;
    else if (field.startsWith('cpu.')) {
      const key = own(CPU_FIELDS, field.slice(4));
      if (key !== undefined && n !== undefined) cpu[key] = n;
    } else if (field.startsWith('balloon.')) {
      const key = own(BALLOON_FIELDS, field.slice(8));
      if (key !== undefined && n !== undefined) balloon[key] = n;
    } else if (field === 'vcpu.current') vcpuCurrent = n;
    else if (field === 'vcpu.maximum') vcpuMaximum = n;
    else if (field.startsWith('vcpu.')) {
      const ix = indexed(field, 'vcpu.');
      if (ix === undefined) continue;
      const [i, rest] = ix;
      if (rest === 'halted') slot(vcpus, i)['halted'] = value === true || n === 1;
      const key = own(VCPU_FIELDS, rest);
      if (key !== undefined && n !== undefined) slot(vcpus, i)[key] = n;
    } else if (field.startsWith('net.')) {
      const ix = indexed(field, 'net.');
      if (ix === undefined) continue;
      const [i, rest] = ix;
      if (rest === 'name') slot(nets, i)['name'] = str(value) ?? '';
      const key = own(NET_FIELDS, rest);
      if (key !== undefined && n !== undefined) slot(nets, i)[key] = n;
    } else if (field.startsWith('block.')) {
      const ix = indexed(field, 'block.');
      if (ix === undefined) continue;
      const [i, rest] = ix;
      if (rest === 'name') slot(blocks, i)['name'] = str(value) ?? '';
      else if (rest === 'path') {
        const p = str(value);
        if (p !== undefined) slot(blocks, i)['path'] = p;
      } else if (rest === 'backingIndex') {
        if (n !== undefined) slot(blocks, i)['backingIndex'] = n;
      } else {
        const key = own(BLOCK_FIELDS, rest);
        if (key !== undefined && n !== undefined) slot(blocks, i)[key] = n;
      }
    } else if (field.startsWith('perf.')) {
      // An own data property whatever the event name (`perf.__proto__` must not be lost or set a prototype).
      if (n !== undefined)
        Object.defineProperty(perf, field.slice(5), {
          value: n,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    } else if (field.startsWith('dirtyrate.')) {
      const rest = field.slice(10);
      if (rest === 'calc_mode') {
        const s = str(value);
        if (s !== undefined) dirty['calcMode'] = s;
      } else {
        const key = own(DIRTYRATE_FIELDS, rest);
        if (key !== undefined && n !== undefined) dirty[key] = n;
      }
    }
  }

  const byIndex = <T>(m: Map<number, Record<string, unknown>>): T[] =>
    [...m.entries()].sort((a, b) => a[0] - b[0]).map(([index, r]) => ({ index, ...r }) as T);

  return {
    ...defined<Pick<DomainStats, 'stateCode' | 'stateReason' | 'vcpuCurrent' | 'vcpuMaximum'>>({
      stateCode,
      stateReason,
      vcpuCurrent,
      vcpuMaximum,
    }),
    ...(Object.keys(cpu).length > 0 ? { cpu } : {}),
    ...(Object.keys(balloon).length > 0 ? { balloon } : {}),
    ...(Object.keys(dirty).length > 0 ? { dirtyRate: dirty } : {}),
    uuid: domain.uuid,
    name: domain.name,
    id: domain.id,
    vcpus: byIndex<VcpuStats>(vcpus),
    // NOTE: a NIC or disk record without a name cannot be labelled; libvirt always sends one, but an
    // SR-IOV hostdev NIC can have an empty name (Tinkoff#35): keep it, the collectors label it by index.
    interfaces: byIndex<InterfaceStats>(nets).map((i) => ({ ...i, name: i.name })),
    blocks: byIndex<BlockStats>(blocks),
    perf,
    // Built on first use only: nothing on the scrape path reads it, and a Map per guest per scrape
    // was a measurable share of the garbage collector's work with hundreds of guests.
    get raw(): ReadonlyMap<string, RawStatValue> {
      const map = new Map<string, RawStatValue>(params.map((p) => [p.field, p.value]));
      Object.defineProperty(this, 'raw', { value: map });
      return map;
    },
  };
}
