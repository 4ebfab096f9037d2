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

/** Domain-level fields (not per device) → the group record and key they fill. */
type GroupField = readonly ['cpu' | 'balloon' | 'dirty', string];
const GROUP_FIELDS: ReadonlyMap<string, GroupField> = new Map<string, GroupField>([
  ...Object.entries(CPU_FIELDS).map(([f, k]): [string, GroupField] => [`cpu.${f}`, ['cpu', k]]),
  ...Object.entries(BALLOON_FIELDS).map(([f, k]): [string, GroupField] => [`balloon.${f}`, ['balloon', k]]),
  ...Object.entries(DIRTYRATE_FIELDS).map(([f, k]): [string, GroupField] => [`dirtyrate.${f}`, ['dirty', k]]),
]);
/** Per-device fields by what follows `<prefix>.<n>.` (Maps: the names come from the daemon). */
const VCPU_KEYS: ReadonlyMap<string, string> = new Map(Object.entries(VCPU_FIELDS));
const NET_KEYS: ReadonlyMap<string, string> = new Map(Object.entries(NET_FIELDS));
const BLOCK_KEYS: ReadonlyMap<string, string> = new Map(Object.entries(BLOCK_FIELDS));

/**
 * The index of `<prefix>.<n>.<rest>` when `field` starts with `prefix` (dot included) followed by decimal
 * digits and a dot; -1 otherwise. `restAt` receives where `<rest>` starts.
 */
function deviceIndex(field: string, prefixLength: number, restAt: { at: number }): number {
  let n = 0;
  let i = prefixLength;
  for (; i < field.length; i++) {
    const c = field.charCodeAt(i);
    if (c === 46 /* . */) break;
    if (c < 48 || c > 57 || i - prefixLength > 9) return -1;
    n = n * 10 + (c - 48);
  }
  if (i === prefixLength || i >= field.length - 1) return -1;
  restAt.at = i + 1;
  return n;
}

type Slot = Record<string, number | string | boolean> & { index: number };

function slot(m: Map<number, Slot>, n: number): Slot {
  let r = m.get(n);
  if (r === undefined) {
    r = { index: n };
    m.set(n, r);
  }
  return r;
}

/** The records of a map in index order (libvirt sends them in order; sorted only when it did not). */
function byIndex<T>(m: Map<number, Slot>): T[] {
  const out = [...m.values()];
  let last = -1;
  for (const r of out) {
    if (r.index < last) {
      out.sort((a, b) => a.index - b.index);
      break;
    }
    last = r.index;
  }
  return out as unknown as T[];
}

/** What the fields of one record fill, in one pass. */
interface Decoding {
  cpu: Record<string, number> | undefined;
  balloon: Record<string, number> | undefined;
  dirty: Record<string, number | string> | undefined;
  readonly perf: Record<string, number>;
  readonly vcpus: Map<number, Slot>;
  readonly nets: Map<number, Slot>;
  readonly blocks: Map<number, Slot>;
  stateCode: number | undefined;
  stateReason: number | undefined;
  vcpuCurrent: number | undefined;
  vcpuMaximum: number | undefined;
  /** Where the `<rest>` of the last per-device field starts (see {@link deviceIndex}). */
  readonly rest: { at: number };
}

/** Puts one field where it belongs; fields this decoder does not know are left to `raw`. */
function decodeField(d: Decoding, field: string, value: RawStatValue): void {
  const n = num(value);
  const group = GROUP_FIELDS.get(field);
  if (group !== undefined) {
    if (n === undefined) return;
    const [g, key] = group;
    if (g === 'cpu') (d.cpu ??= {})[key] = n;
    else if (g === 'balloon') (d.balloon ??= {})[key] = n;
    else (d.dirty ??= {})[key] = n;
  } else if (field === 'state.state') d.stateCode = n;
  else if (field === 'state.reason') d.stateReason = n;
  else if (field === 'vcpu.current') d.vcpuCurrent = n;
  else if (field === 'vcpu.maximum') d.vcpuMaximum = n;
  else if (field.startsWith('block.')) decodeBlockField(d, field, value, n);
  else if (field.startsWith('net.')) {
    const i = deviceIndex(field, 4, d.rest);
    if (i < 0) return;
    const r = field.slice(d.rest.at);
    if (r === 'name') slot(d.nets, i)['name'] = str(value) ?? '';
    const key = NET_KEYS.get(r);
    if (key !== undefined && n !== undefined) slot(d.nets, i)[key] = n;
  } else if (field.startsWith('vcpu.')) {
    const i = deviceIndex(field, 5, d.rest);
    if (i < 0) return;
    const r = field.slice(d.rest.at);
    if (r === 'halted') slot(d.vcpus, i)['halted'] = value === true || n === 1;
    const key = VCPU_KEYS.get(r);
    if (key !== undefined && n !== undefined) slot(d.vcpus, i)[key] = n;
  } else if (field.startsWith('perf.')) {
    // An own data property whatever the event name (`perf.__proto__` must not be lost or set a prototype).
    if (n !== undefined)
      Object.defineProperty(d.perf, field.slice(5), {
        value: n,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  } else if (field === 'dirtyrate.calc_mode') {
    const m = str(value);
    if (m !== undefined) (d.dirty ??= {})['calcMode'] = m;
  }
}

/** A `block.<n>.<rest>` field. */
function decodeBlockField(d: Decoding, field: string, value: RawStatValue, n: number | undefined): void {
  const i = deviceIndex(field, 6, d.rest);
  if (i < 0) return;
  const r = field.slice(d.rest.at);
  if (r === 'name') slot(d.blocks, i)['name'] = str(value) ?? '';
  else if (r === 'path') {
    const p = str(value);
    if (p !== undefined) slot(d.blocks, i)['path'] = p;
  } else if (r === 'backingIndex') {
    if (n !== undefined) slot(d.blocks, i)['backingIndex'] = n;
  } else {
    const key = BLOCK_KEYS.get(r);
    if (key !== undefined && n !== undefined) slot(d.blocks, i)[key] = n;
  }
}

/**
 * Decodes the typed parameters of one domain. Unknown fields are kept in `raw` only; a device index
 * libvirt skipped leaves no hole (devices are listed by the indices that exist).
 *
 * Hot path (every guest, every scrape): one pass, one lookup per field, and records built in place.
 */
export function decodeDomainStats(domain: StatDomain, params: readonly StatParam[]): DomainStats {
  const d: Decoding = {
    cpu: undefined,
    balloon: undefined,
    dirty: undefined,
    perf: {},
    vcpus: new Map(),
    nets: new Map(),
    blocks: new Map(),
    stateCode: undefined,
    stateReason: undefined,
    vcpuCurrent: undefined,
    vcpuMaximum: undefined,
    rest: { at: 0 },
  };
  for (const { field, value } of params) decodeField(d, field, value);
  const { cpu, balloon, dirty, perf, stateCode, stateReason, vcpuCurrent, vcpuMaximum } = d;

  const out: DomainStats = {
    ...defined<Pick<DomainStats, 'stateCode' | 'stateReason' | 'vcpuCurrent' | 'vcpuMaximum'>>({
      stateCode,
      stateReason,
      vcpuCurrent,
      vcpuMaximum,
    }),
    ...(cpu !== undefined ? { cpu } : {}),
    ...(balloon !== undefined ? { balloon } : {}),
    ...(dirty !== undefined ? { dirtyRate: dirty } : {}),
    uuid: domain.uuid,
    name: domain.name,
    id: domain.id,
    vcpus: byIndex<VcpuStats>(d.vcpus),
    // NOTE: a NIC or disk record without a name cannot be labelled; libvirt always sends one, but an
    // SR-IOV hostdev NIC can have an empty name (Tinkoff#35): keep it, the collectors label it by index.
    interfaces: byIndex<InterfaceStats>(d.nets),
    blocks: byIndex<BlockStats>(d.blocks),
    perf,
    // Built on first use only: nothing on the scrape path reads it, and a Map per guest per scrape
    // was a measurable share of the garbage collector's work with hundreds of guests.
    get raw(): ReadonlyMap<string, RawStatValue> {
      const map = new Map<string, RawStatValue>(params.map((p) => [p.field, p.value]));
      Object.defineProperty(this, 'raw', { value: map });
      return map;
    },
  };
  return out;
}
