// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Where each bulk stats field goes: the field maps from libvirt's names to the record keys of
 * types.ts, and {@link routeOf}, which parses a full field name (`block.3.rd.bytes`) once into a
 * {@link Route} and remembers it for the next guests and scrapes.
 */
import type {
  BalloonStats,
  BlockStats,
  CpuStats,
  DirtyRateStats,
  InterfaceStats,
  VcpuStats,
} from './types.ts';

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

/** What a field fills (the `kind` of a {@link Route}). */
export const Kind = {
  /** A field this decoder does not know: kept in `raw` only. */
  IGNORE: 0,
  CPU: 1,
  BALLOON: 2,
  DIRTY: 3,
  DIRTY_MODE: 4,
  STATE: 5,
  REASON: 6,
  VCPU_CURRENT: 7,
  VCPU_MAXIMUM: 8,
  PERF: 9,
  /** Numeric per-device fields: `key` of the device record `index`. */
  VCPU: 10,
  NET: 11,
  BLOCK: 12,
  VCPU_HALTED: 13,
  NET_NAME: 14,
  BLOCK_NAME: 15,
  BLOCK_PATH: 16,
  BLOCK_BACKING: 17,
} as const;

/** Where one field name goes: a kind, the device index (per-device kinds) and the record key. */
export interface Route {
  readonly kind: number;
  readonly index: number;
  readonly key: string;
}

const IGNORED: Route = { kind: Kind.IGNORE, index: -1, key: '' };
const route = (kind: number, key = '', index = -1): Route => ({ kind, index, key });

/** Domain-level fields by full name (Maps: the names come from the daemon and may be `__proto__`). */
const FIXED: ReadonlyMap<string, Route> = new Map<string, Route>([
  ...Object.entries(CPU_FIELDS).map(([f, k]): [string, Route] => [`cpu.${f}`, route(Kind.CPU, k)]),
  ...Object.entries(BALLOON_FIELDS).map(([f, k]): [string, Route] => [
    `balloon.${f}`,
    route(Kind.BALLOON, k),
  ]),
  ...Object.entries(DIRTYRATE_FIELDS).map(([f, k]): [string, Route] => [
    `dirtyrate.${f}`,
    route(Kind.DIRTY, k),
  ]),
  ['state.state', route(Kind.STATE)],
  ['state.reason', route(Kind.REASON)],
  ['vcpu.current', route(Kind.VCPU_CURRENT)],
  ['vcpu.maximum', route(Kind.VCPU_MAXIMUM)],
  ['dirtyrate.calc_mode', route(Kind.DIRTY_MODE, 'calcMode')],
]);

/** Per-device fields by what follows `<prefix>.<n>.`: the kind for that index. */
const map = (kind: number, o: Readonly<Record<string, string>>): Map<string, Route> =>
  new Map(Object.entries(o).map(([f, k]) => [f, route(kind, k)]));
const DEVICES: readonly (readonly [string, ReadonlyMap<string, Route>])[] = [
  [
    'block.',
    new Map([
      ...map(Kind.BLOCK, BLOCK_FIELDS),
      ...map(Kind.BLOCK_NAME, { name: 'name' }),
      ...map(Kind.BLOCK_PATH, { path: 'path' }),
      ...map(Kind.BLOCK_BACKING, { backingIndex: 'backingIndex' }),
    ]),
  ],
  ['net.', new Map([...map(Kind.NET, NET_FIELDS), ...map(Kind.NET_NAME, { name: 'name' })])],
  ['vcpu.', new Map([...map(Kind.VCPU, VCPU_FIELDS), ...map(Kind.VCPU_HALTED, { halted: 'halted' })])],
];

/**
 * The index of `<prefix>.<n>.<rest>` when `field` has decimal digits (at most 10) after the prefix (dot
 * included) and a non-empty rest after them; -1 otherwise. The rest starts after the returned dot.
 */
function deviceIndex(field: string, prefixLength: number): { index: number; restAt: number } | undefined {
  let n = 0;
  let i = prefixLength;
  for (; i < field.length; i++) {
    const c = field.charCodeAt(i);
    if (c === 46 /* . */) break;
    if (c < 48 || c > 57 || i - prefixLength > 9) return undefined;
    n = n * 10 + (c - 48);
  }
  if (i === prefixLength || i >= field.length - 1) return undefined;
  return { index: n, restAt: i + 1 };
}

/** Parses a field name into its route (not cached: see {@link routeOf}). */
export function parseRoute(field: string): Route {
  const fixed = FIXED.get(field);
  if (fixed !== undefined) return fixed;
  for (const [prefix, keys] of DEVICES) {
    if (!field.startsWith(prefix)) continue;
    const at = deviceIndex(field, prefix.length);
    if (at === undefined) return IGNORED;
    const r = keys.get(field.slice(at.restAt));
    return r === undefined ? IGNORED : route(r.kind, r.key, at.index);
  }
  if (field.startsWith('perf.')) return route(Kind.PERF, field.slice(5));
  return IGNORED;
}

/** Most field names whose route is remembered at once (a few hundred on a real host). */
export const ROUTE_CACHE_MAX = 4096;
const routes = new Map<string, Route>();

/**
 * The route of a field name, parsed once and then looked up.
 *
 * NOTE: the names repeat for every guest and every scrape (58 200 fields, a few hundred names, at 1000
 * guests); one Map lookup replaces the prefix tests, the index parse and the `slice` per field. Bounded:
 * a daemon sending ever new names empties the cache when it holds {@link ROUTE_CACHE_MAX} names.
 */
export function routeOf(field: string): Route {
  let r = routes.get(field);
  if (r === undefined) {
    if (routes.size >= ROUTE_CACHE_MAX) routes.clear();
    r = parseRoute(field);
    routes.set(field, r);
  }
  return r;
}

/** Names whose route is remembered now (for tests). */
export function routeCacheSize(): number {
  return routes.size;
}
