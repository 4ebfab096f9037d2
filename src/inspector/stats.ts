// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Decodes one record of libvirt's bulk stats call (virConnectGetAllDomainStats: a flat list of typed
 * parameters such as `block.0.rd.bytes`) into a {@link DomainStats}. Values keep libvirt's units.
 */
import type { BlockStats, DomainStats, InterfaceStats, RawStatValue, VcpuStats } from './types.ts';
import type { DomainStatsSink } from '../libvirt/index.ts';
import { Kind, routeOf, type Route } from './stats-routes.ts';

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

type Slot = Record<string, number | string | boolean> & { index: number };

/** The device records of one kind (vCPUs, vNICs or disks) by index. */
class Devices {
  /**
   * By libvirt's index (`block.<i>.…`): an array with holes where an index was skipped, not a map (one
   * per kind, guest and scrape), so that the records come out in index order without a sort.
   */
  readonly byIndex: (Slot | undefined)[] = [];
  /** How many records {@link byIndex} holds. */
  #count = 0;
  /** The record of the previous field: libvirt sends each device's fields together. */
  #last: Slot | undefined;

  at(index: number): Slot {
    const last = this.#last;
    if (last !== undefined && last.index === index) return last;
    let r = this.byIndex[index];
    if (r === undefined) {
      r = { index };
      this.byIndex[index] = r;
      this.#count++;
    }
    this.#last = r;
    return r;
  }

  /** The records in index order. */
  list<T>(): T[] {
    const all = this.byIndex;
    const out: Slot[] = [];
    // libvirt numbers devices from 0: the array is dense, or nearly.
    if (all.length <= 2 * this.#count + 64)
      for (let i = 0; i < all.length; i++) {
        const r = all[i];
        if (r !== undefined) out.push(r);
      }
    // NOTE: far-apart indices (a broken or hostile daemon; up to 10 digits, beyond an array index) are
    // listed by key and sorted, never by walking the holes up to the largest.
    if (out.length !== this.#count) {
      out.length = 0;
      const byKey = all as unknown as Readonly<Record<string, Slot | undefined>>;
      for (const k of Object.keys(byKey)) {
        const r = byKey[k];
        if (r !== undefined) out.push(r);
      }
      out.sort((a, b) => a.index - b.index);
    }
    return out as unknown as T[];
  }
}

/** What the fields of one record fill, in one pass. */
class Decoding {
  cpu: Record<string, number> | undefined = undefined;
  balloon: Record<string, number> | undefined = undefined;
  dirty: Record<string, number | string> | undefined = undefined;
  readonly perf: Record<string, number> = {};
  readonly vcpus = new Devices();
  readonly nets = new Devices();
  readonly blocks = new Devices();
  stateCode: number | undefined = undefined;
  stateReason: number | undefined = undefined;
  vcpuCurrent: number | undefined = undefined;
  vcpuMaximum: number | undefined = undefined;
}

/** Puts one field where its route says; fields this decoder does not know are left to `raw`. */
function put(d: Decoding, r: Route, value: RawStatValue): void {
  switch (r.kind) {
    case Kind.IGNORE:
      return;
    case Kind.STATE:
      d.stateCode = num(value);
      return;
    case Kind.REASON:
      d.stateReason = num(value);
      return;
    case Kind.VCPU_CURRENT:
      d.vcpuCurrent = num(value);
      return;
    case Kind.VCPU_MAXIMUM:
      d.vcpuMaximum = num(value);
      return;
    case Kind.VCPU_HALTED:
      d.vcpus.at(r.index)['halted'] = value === true || num(value) === 1;
      return;
    case Kind.NET_NAME:
      d.nets.at(r.index)['name'] = str(value) ?? '';
      return;
    case Kind.BLOCK_NAME:
      d.blocks.at(r.index)['name'] = str(value) ?? '';
      return;
    case Kind.BLOCK_PATH:
      if (typeof value === 'string') d.blocks.at(r.index)['path'] = value;
      return;
    case Kind.DIRTY_MODE:
      if (typeof value === 'string') (d.dirty ??= {})['calcMode'] = value;
      return;
    default:
      putNumber(d, r, num(value));
  }
}

/** The fields whose value is a number (a field with a value of another type is left to `raw`). */
function putNumber(d: Decoding, r: Route, n: number | undefined): void {
  if (n === undefined) return;
  switch (r.kind) {
    case Kind.CPU:
      (d.cpu ??= {})[r.key] = n;
      return;
    case Kind.BALLOON:
      (d.balloon ??= {})[r.key] = n;
      return;
    case Kind.DIRTY:
      (d.dirty ??= {})[r.key] = n;
      return;
    case Kind.VCPU:
      d.vcpus.at(r.index)[r.key] = n;
      return;
    case Kind.NET:
      d.nets.at(r.index)[r.key] = n;
      return;
    case Kind.BLOCK:
    case Kind.BLOCK_BACKING:
      d.blocks.at(r.index)[r.key] = n;
      return;
    case Kind.PERF:
      // An own data property whatever the event name (`perf.__proto__` must not be lost or set a prototype).
      Object.defineProperty(d.perf, r.key, {
        value: n,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
}

/**
 * Decodes the typed parameters of one domain. Unknown fields are kept in `raw` only; a device index
 * libvirt skipped leaves no hole (devices are listed by the indices that exist).
 *
 * Hot path (every guest, every scrape): one pass, one lookup per field, and records built in place.
 */
export function decodeDomainStats(domain: StatDomain, params: readonly StatParam[]): DomainStats {
  const d = new Decoding();
  for (const p of params) put(d, routeOf(p.field), p.value);
  // Built on first use only: nothing on the scrape path reads it, and a Map per guest per scrape
  // was a measurable share of the garbage collector's work with hundreds of guests.
  return finish(d, domain, () => new Map<string, RawStatValue>(params.map((p) => [p.field, p.value])));
}

/**
 * Decodes each record of a bulk stats reply straight into a {@link DomainStats} while the RPC client reads
 * it (see {@link DomainStatsSink}); `raw` decodes the record's parameters again, exactly, on first use.
 */
export class DomainStatsDecoder implements DomainStatsSink<DomainStats> {
  #d = new Decoding();
  #domain: StatDomain = { name: '', uuid: '', id: -1 };

  begin(domain: StatDomain): void {
    this.#d = new Decoding();
    this.#domain = domain;
  }

  param(field: string, value: number | string | boolean): void {
    put(this.#d, routeOf(field), value);
  }

  end(exact: () => readonly StatParam[]): DomainStats {
    return finish(this.#d, this.#domain, () => new Map(exact().map((p) => [p.field, p.value])));
  }
}

/**
 * The record of one domain, with the keys in a fixed order and only those libvirt reported
 * (exactOptionalPropertyTypes: absent, never undefined).
 *
 * NOTE: assigned one by one rather than spread from `defined({…})` objects: that spread was about a
 * tenth of the stats decode at 1000 guests.
 */
function finish(d: Decoding, domain: StatDomain, raw: () => Map<string, RawStatValue>): DomainStats {
  const out: Record<string, unknown> = {};
  if (d.stateCode !== undefined) out['stateCode'] = d.stateCode;
  if (d.stateReason !== undefined) out['stateReason'] = d.stateReason;
  if (d.vcpuCurrent !== undefined) out['vcpuCurrent'] = d.vcpuCurrent;
  if (d.vcpuMaximum !== undefined) out['vcpuMaximum'] = d.vcpuMaximum;
  if (d.cpu !== undefined) out['cpu'] = d.cpu;
  if (d.balloon !== undefined) out['balloon'] = d.balloon;
  if (d.dirty !== undefined) out['dirtyRate'] = d.dirty;
  out['uuid'] = domain.uuid;
  out['name'] = domain.name;
  out['id'] = domain.id;
  out['vcpus'] = d.vcpus.list<VcpuStats>();
  // NOTE: a NIC or disk record without a name cannot be labelled; libvirt always sends one, but an
  // SR-IOV hostdev NIC can have an empty name (Tinkoff#35): keep it, the collectors label it by index.
  out['interfaces'] = d.nets.list<InterfaceStats>();
  out['blocks'] = d.blocks.list<BlockStats>();
  out['perf'] = d.perf;
  Object.defineProperty(out, EXACT, { value: raw, writable: true, configurable: true });
  Object.defineProperty(out, 'raw', RAW);
  return out as unknown as DomainStats;
}

/** Where a record keeps the function that builds its `raw` map (not enumerable: no part of the record). */
const EXACT = Symbol('exact');

/**
 * The `raw` accessor of every record: builds the map on first use and keeps it as `raw`'s value.
 * NOTE: one getter for all records. A getter made per record (a closure over its parameters) gave each
 * record an accessor of its own, and V8 turns an object whose accessor differs from the one its shape
 * was made with into a dictionary: every record after the first was one (`%HasFastProperties`), and
 * each collector's reads of a record went through a hash lookup.
 */
const RAW: PropertyDescriptor = {
  get(this: Record<PropertyKey, unknown>): ReadonlyMap<string, RawStatValue> {
    const map = (this[EXACT] as () => Map<string, RawStatValue>)();
    Object.defineProperty(this, 'raw', { value: map, enumerable: true });
    this[EXACT] = undefined;
    return map;
  },
  enumerable: true,
  configurable: true,
};
