// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Storage pool and domain job procedures (CONNECT_LIST_ALL_STORAGE_POOLS, STORAGE_POOL_GET_INFO,
 * DOMAIN_GET_JOB_INFO), as functions over any client's `call()`.
 * Structures from libvirt's remote_protocol.x: a pool is `string name` + `opaque uuid[16]`; an
 * `unsigned char` travels as a 4-byte XDR unsigned int.
 */
import { Proc, RemoteLimits } from './constants.ts';
import { decodeAll, domainArgs } from './procedures.ts';
import type { CallOptions, Caller, Domain } from './types.ts';
import { uuidToBytes, uuidToString } from './uuid.ts';
import { XdrWriter, type XdrReader } from './xdr.ts';

const STRING_MAX = RemoteLimits.STRING_MAX;

/** A storage pool reference. */
export interface StoragePool {
  readonly name: string;
  readonly uuid: string;
}

/** virStoragePoolInfo. */
export interface StoragePoolInfo {
  readonly state: number;
  readonly capacity: bigint;
  readonly allocation: bigint;
  readonly available: bigint;
}

/** virDomainJobInfo (times in ms, sizes in bytes). */
export interface DomainJobInfo {
  readonly type: number;
  readonly timeElapsed: bigint;
  readonly timeRemaining: bigint;
  readonly dataTotal: bigint;
  readonly dataProcessed: bigint;
  readonly dataRemaining: bigint;
  readonly memTotal: bigint;
  readonly memProcessed: bigint;
  readonly memRemaining: bigint;
  readonly fileTotal: bigint;
  readonly fileProcessed: bigint;
  readonly fileRemaining: bigint;
}

/** Reads a `remote_nonnull_storage_pool`. */
function readPool(r: XdrReader): StoragePool {
  const name = r.string(STRING_MAX);
  return { name, uuid: uuidToString(r.opaqueFixed(RemoteLimits.UUID_BYTES)) };
}

/** Lists every storage pool (virConnectListAllStoragePools); `flags` 0 for all. */
export async function listAllStoragePools(
  api: Caller,
  flags = 0,
  options: CallOptions = {},
): Promise<StoragePool[]> {
  const args = new XdrWriter().i32(1).u32(flags).finish();
  return decodeListAllStoragePoolsRet(await api.call(Proc.CONNECT_LIST_ALL_STORAGE_POOLS, args, options));
}

/** Decodes the payload of CONNECT_LIST_ALL_STORAGE_POOLS. */
export function decodeListAllStoragePoolsRet(payload: Buffer): StoragePool[] {
  return decodeAll(payload, (r) => {
    const pools = r.array(RemoteLimits.STORAGE_POOL_LIST_MAX, readPool, 20);
    r.u32(); // ret: the count
    return pools;
  });
}

/** Reads a pool's state and sizes (virStoragePoolGetInfo). */
export async function storagePoolGetInfo(
  api: Caller,
  pool: StoragePool,
  options: CallOptions = {},
): Promise<StoragePoolInfo> {
  const args = new XdrWriter()
    .string(pool.name, STRING_MAX)
    .opaqueFixed(uuidToBytes(pool.uuid), RemoteLimits.UUID_BYTES)
    .finish();
  return decodeStoragePoolInfo(await api.call(Proc.STORAGE_POOL_GET_INFO, args, options));
}

/** Decodes the payload of STORAGE_POOL_GET_INFO. */
export function decodeStoragePoolInfo(payload: Buffer): StoragePoolInfo {
  return decodeAll(payload, (r) => ({
    state: r.u32(),
    capacity: r.u64(),
    allocation: r.u64(),
    available: r.u64(),
  }));
}

/** Reads a domain's current job (virDomainGetJobInfo). */
export async function domainGetJobInfo(
  api: Caller,
  dom: Domain,
  options: CallOptions = {},
): Promise<DomainJobInfo> {
  return decodeDomainJobInfo(await api.call(Proc.DOMAIN_GET_JOB_INFO, domainArgs(dom).finish(), options));
}

/** Decodes the payload of DOMAIN_GET_JOB_INFO. */
export function decodeDomainJobInfo(payload: Buffer): DomainJobInfo {
  return decodeAll(payload, (r) => ({
    type: r.i32(),
    timeElapsed: r.u64(),
    timeRemaining: r.u64(),
    dataTotal: r.u64(),
    dataProcessed: r.u64(),
    dataRemaining: r.u64(),
    memTotal: r.u64(),
    memProcessed: r.u64(),
    memRemaining: r.u64(),
    fileTotal: r.u64(),
    fileProcessed: r.u64(),
    fileRemaining: r.u64(),
  }));
}
