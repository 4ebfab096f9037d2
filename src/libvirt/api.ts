// SPDX-License-Identifier: Apache-2.0
/**
 * {@link LibvirtApi}: the typed wrappers of the read-only procedures, shared by
 * {@link LibvirtConnection} and {@link LibvirtClient} over their own `call()`.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'node:events';

import { Proc, RemoteLimits } from './constants.ts';
import { LibvirtError, VIR_ERR } from './errors.ts';
import {
  decodeAll,
  decodeDomainInfo,
  decodeDomainRet,
  decodeGetAllDomainStatsRet,
  decodeI32,
  decodeListAllDomainsRet,
  decodeNodeInfo,
  decodeString,
  decodeU64,
  domainArgs,
  encodeGetAllDomainStatsArgs,
} from './procedures.ts';
import type {
  CallOptions,
  Domain,
  DomainInfo,
  DomainStateInfo,
  DomainStatsRecord,
  GetAllDomainStatsArgs,
  GetAllDomainStatsOptions,
  NodeInfo,
  ReadAllDomainStatsOptions,
} from './types.ts';
import { readGetAllDomainStatsRet, type DomainStatsSink } from './stats-reply.ts';
import { uuidToBytes } from './uuid.ts';
import { XdrWriter } from './xdr.ts';

const STR_MAX = RemoteLimits.STRING_MAX;

/**
 * Typed wrappers of the read-only procedures, over an abstract {@link LibvirtApi.call}. The connection
 * implements `call` on its socket; the client implements it with reconnection and rotation.
 */
export abstract class LibvirtApi<
  Events extends Record<keyof Events, unknown[]>,
> extends EventEmitter<Events> {
  /**
   * Calls a remote procedure with an XDR-encoded argument and resolves with the XDR payload of the
   * reply. Rejects with LibvirtError (error reply), LibvirtConnectionError or LibvirtAbortError.
   */
  abstract call(proc: number, args?: Uint8Array, options?: CallOptions): Promise<Buffer>;

  /**
   * Returns stats of many domains in one round trip: virConnectGetAllDomainStats when `domains` is empty,
   * virDomainListGetStats otherwise.
   */
  async getAllDomainStats(
    args: GetAllDomainStatsArgs,
    options: GetAllDomainStatsOptions = {},
  ): Promise<DomainStatsRecord[]> {
    const asNumber = options.int64AsNumber === true;
    return this.#allDomainStats(args, options, (p) => decodeGetAllDomainStatsRet(p, asNumber));
  }

  /**
   * The same call as {@link LibvirtApi.getAllDomainStats}, decoded into `sink`'s records (see
   * {@link DomainStatsSink}): no TypedParam object per parameter, 64-bit values as numbers, the exact
   * parameters on demand.
   */
  async readAllDomainStats<R>(
    args: GetAllDomainStatsArgs,
    sink: DomainStatsSink<R>,
    options: ReadAllDomainStatsOptions<R> = {},
  ): Promise<R[]> {
    return this.#allDomainStats(args, options, (p) => readGetAllDomainStatsRet(p, sink));
  }

  /** The bulk stats call, its reply (and a late one, to `onLateReply`) decoded by `decode`. */
  async #allDomainStats<T>(
    args: GetAllDomainStatsArgs,
    options: {
      readonly signal?: AbortSignal | undefined;
      readonly onLateReply?: ((r: T) => void) | undefined;
    },
    decode: (payload: Buffer) => T,
  ): Promise<T> {
    const late = options.onLateReply;
    const payload = await this.call(Proc.CONNECT_GET_ALL_DOMAIN_STATS, encodeGetAllDomainStatsArgs(args), {
      signal: options.signal,
      onLateReply:
        late === undefined
          ? undefined
          : (p) => {
              late(decode(p));
            },
    });
    return decode(payload);
  }

  /** Lists domains (virConnectListAllDomains); `flags` are `ListAllDomainsFlags` bits, 0 for all. */
  async listAllDomains(flags = 0, options: CallOptions = {}): Promise<Domain[]> {
    const args = new XdrWriter().i32(1).u32(flags).finish();
    return decodeListAllDomainsRet(await this.call(Proc.CONNECT_LIST_ALL_DOMAINS, args, options));
  }

  /** Returns the domain XML (virDomainGetXMLDesc); `flags` are `DomainXmlFlags` bits. */
  async domainGetXmlDesc(dom: Domain, flags = 0, options: CallOptions = {}): Promise<string> {
    const args = domainArgs(dom).u32(flags).finish();
    return decodeString(await this.call(Proc.DOMAIN_GET_XML_DESC, args, options));
  }

  /**
   * Returns a metadata element, title or description (virDomainGetMetadata), or `null` when the domain
   * has none (VIR_ERR_NO_DOMAIN_METADATA is the normal "absent" answer, not a failure).
   */
  async domainGetMetadata(
    dom: Domain,
    type: number,
    uri: string | null,
    flags = 0,
    options: CallOptions = {},
  ): Promise<string | null> {
    const args = domainArgs(dom)
      .i32(type)
      .optional(uri, (w, v) => w.string(v, STR_MAX))
      .u32(flags)
      .finish();
    try {
      return decodeString(await this.call(Proc.DOMAIN_GET_METADATA, args, options));
    } catch (err) {
      if (err instanceof LibvirtError && err.code === VIR_ERR.NO_DOMAIN_METADATA) return null;
      throw err;
    }
  }

  /** Returns the state and its reason (virDomainGetState). */
  async domainGetState(dom: Domain, options: CallOptions = {}): Promise<DomainStateInfo> {
    const args = domainArgs(dom).u32(0).finish();
    return decodeAll(await this.call(Proc.DOMAIN_GET_STATE, args, options), (r) => ({
      state: r.i32(),
      reason: r.i32(),
    }));
  }

  /** Returns state, memory, vCPU count and CPU time (virDomainGetInfo). */
  async domainGetInfo(dom: Domain, options: CallOptions = {}): Promise<DomainInfo> {
    return decodeDomainInfo(await this.call(Proc.DOMAIN_GET_INFO, domainArgs(dom).finish(), options));
  }

  /** Looks a domain up by UUID; rejects with LibvirtError code 42 (NO_DOMAIN) when absent. */
  async domainLookupByUuid(uuid: string, options: CallOptions = {}): Promise<Domain> {
    const args = new XdrWriter().opaqueFixed(uuidToBytes(uuid), RemoteLimits.UUID_BYTES).finish();
    return decodeDomainRet(await this.call(Proc.DOMAIN_LOOKUP_BY_UUID, args, options));
  }

  /** Looks a domain up by name; rejects with LibvirtError code 42 (NO_DOMAIN) when absent. */
  async domainLookupByName(name: string, options: CallOptions = {}): Promise<Domain> {
    const args = new XdrWriter().string(name, STR_MAX).finish();
    return decodeDomainRet(await this.call(Proc.DOMAIN_LOOKUP_BY_NAME, args, options));
  }

  /** Returns the host name of the hypervisor host (virConnectGetHostname). */
  async connectGetHostname(options: CallOptions = {}): Promise<string> {
    return decodeString(await this.call(Proc.CONNECT_GET_HOSTNAME, undefined, options));
  }

  /** Returns the libvirt version of the daemon as major * 1e6 + minor * 1e3 + micro (virConnectGetLibVersion). */
  async connectGetLibVersion(options: CallOptions = {}): Promise<number> {
    return Number(decodeU64(await this.call(Proc.CONNECT_GET_LIB_VERSION, undefined, options)));
  }

  /** Returns the hypervisor version, encoded like the lib version (virConnectGetVersion). */
  async connectGetVersion(options: CallOptions = {}): Promise<number> {
    return Number(decodeU64(await this.call(Proc.CONNECT_GET_VERSION, undefined, options)));
  }

  /** Returns the hypervisor driver name, e.g. `QEMU` (virConnectGetType). */
  async connectGetType(options: CallOptions = {}): Promise<string> {
    return decodeString(await this.call(Proc.CONNECT_GET_TYPE, undefined, options));
  }

  /** Returns the canonical URI of the connection as the daemon sees it (virConnectGetURI). */
  async connectGetUri(options: CallOptions = {}): Promise<string> {
    return decodeString(await this.call(Proc.CONNECT_GET_URI, undefined, options));
  }

  /** Returns host CPU and memory information (virNodeGetInfo). */
  async nodeGetInfo(options: CallOptions = {}): Promise<NodeInfo> {
    return decodeNodeInfo(await this.call(Proc.NODE_GET_INFO, undefined, options));
  }

  /** Asks whether the daemon supports a `DrvFeature` (virConnectSupportsFeature). */
  async supportsFeature(feature: number, options: CallOptions = {}): Promise<boolean> {
    const args = new XdrWriter().i32(feature).finish();
    return decodeI32(await this.call(Proc.CONNECT_SUPPORTS_FEATURE, args, options)) !== 0;
  }
}
