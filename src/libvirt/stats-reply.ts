// SPDX-License-Identifier: Apache-2.0
/**
 * The bulk stats reply (`remote_connect_get_all_domain_stats_ret`) decoded into the caller's own records:
 * {@link readGetAllDomainStatsRet} hands each parameter to a {@link DomainStatsSink} as it reads it,
 * instead of building a {@link TypedParam} object per parameter.
 *
 * @packageDocumentation
 */
import { RemoteLimits } from './constants.ts';
import { STATS_FIELD_NAMES } from './name-cache.ts';
import { readDomain } from './procedures.ts';
import { readTypedValue } from './typed-value.ts';
import type { Domain } from './types.ts';
import { TYPED_PARAM_NAME, XdrReader, type TypedParam } from './xdr.ts';

const STR_MAX = RemoteLimits.STRING_MAX;
const FIELD_MAX = RemoteLimits.TYPED_PARAM_FIELD_LENGTH - 1;

/**
 * Receives the records of a bulk stats reply while it is decoded. Decoding is synchronous and calls,
 * for each record in turn, `begin`, `param` once per typed parameter, then `end`; one sink can serve
 * every reply.
 */
export interface DomainStatsSink<R> {
  /** A record starts. */
  begin(domain: Domain): void;
  /** One typed parameter of the record, 64-bit integers as numbers (float64, rounded beyond 2^53). */
  param(field: string, value: number | string | boolean): void;
  /**
   * The record ends; its result goes into the array the decoder returns. `exact()` decodes the record's
   * typed parameters again, as {@link TypedParam} objects with 64-bit integers as bigint, when called
   * (it keeps the reply's payload alive as long as it is referenced).
   */
  end(exact: () => TypedParam[]): R;
}

/**
 * Decodes the payload of GET_ALL_DOMAIN_STATS into `sink`'s records, with every check of
 * {@link decodeGetAllDomainStatsRet} (counts, name and string limits, types, trailing bytes).
 *
 * NOTE: at 1000 guests (58 200 parameters) the TypedParam objects, kept alive by the records until the
 * next scrape, were most of what the garbage collector copied during the decode.
 */
export function readGetAllDomainStatsRet<R>(payload: Buffer, sink: DomainStatsSink<R>): R[] {
  const r = new XdrReader(payload);
  const records = r.array(RemoteLimits.DOMAIN_LIST_MAX, (x) => readRecord(x, payload, sink), 28);
  r.expectEnd();
  return records;
}

function readRecord<R>(r: XdrReader, payload: Buffer, sink: DomainStatsSink<R>): R {
  sink.begin(readDomain(r));
  const start = r.offset;
  const n = r.count(RemoteLimits.CONNECT_GET_ALL_DOMAIN_STATS_MAX, 12);
  for (let i = 0; i < n; i++) {
    const field = r.name(FIELD_MAX, TYPED_PARAM_NAME, STATS_FIELD_NAMES);
    const type = r.i32();
    sink.param(field, readTypedValue(r, type, field, STR_MAX, true) as number | string | boolean);
  }
  const end = r.offset;
  return sink.end(() => {
    const again = new XdrReader(payload, start, end);
    const params = again.array(n, (x) => x.typedParam(STR_MAX, false, FIELD_MAX, STATS_FIELD_NAMES), 12);
    again.expectEnd();
    return params;
  });
}
