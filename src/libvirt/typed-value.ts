// SPDX-License-Identifier: Apache-2.0
/**
 * The value of a libvirt typed parameter (`remote_typed_param_value`), by its type.
 *
 * @packageDocumentation
 */
import { TypedParamType } from './constants.ts';
import { XdrDecodeError } from './errors.ts';
import type { TypedParam, XdrReader } from './xdr.ts';

/**
 * Reads the value of a typed parameter whose name (`field`, for errors) and type were just read: 64-bit
 * integers as bigint, or as numbers with `int64AsNumber` (see {@link XdrReader.u64Number}); a string
 * is refused beyond `maxString` bytes, an unknown type with {@link XdrDecodeError}.
 */
export function readTypedValue(
  r: XdrReader,
  type: number,
  field: string,
  maxString: number,
  int64AsNumber: boolean,
): TypedParam['value'] {
  switch (type) {
    case TypedParamType.INT:
      return r.i32();
    case TypedParamType.UINT:
      return r.u32();
    case TypedParamType.LLONG:
      return int64AsNumber ? r.i64Number() : r.i64();
    case TypedParamType.ULLONG:
      return int64AsNumber ? r.u64Number() : r.u64();
    case TypedParamType.DOUBLE:
      return r.f64();
    case TypedParamType.BOOLEAN:
      return r.i32() !== 0;
    case TypedParamType.STRING:
      return r.string(maxString);
    default:
      // The offset of the type word, just read.
      throw new XdrDecodeError(
        `typed parameter ${JSON.stringify(field)} has unknown type ${type}`,
        r.offset - 4,
      );
  }
}
