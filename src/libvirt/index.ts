// SPDX-License-Identifier: Apache-2.0
/**
 * A pure-TypeScript client of libvirt's remote RPC protocol (the protocol `virsh` and libvirt's remote
 * driver speak to libvirtd), with no native code. It depends on Node built-ins only. Everything other
 * code uses is exported here.
 *
 * @packageDocumentation
 */
export { raceSignal } from './abort.ts';
export { LibvirtApi } from './api.ts';
export { LibvirtClient } from './client.ts';
export { CLIENT_EVENT_NAMES } from './client-types.ts';
export type {
  ClientEventName,
  LibvirtClientEvents,
  LibvirtClientOptions,
  LibvirtClientState,
  LifecycleSubscription,
  ReconnectReason,
} from './client-types.ts';
export { LibvirtConnection } from './connection.ts';
export { CONNECTION_ANOMALY_KINDS } from './connection-types.ts';
export type {
  ConnectionAnomaly,
  ConnectionAnomalyKind,
  ConnectionTuning,
  LibvirtConnectionEvents,
  LibvirtConnectionOptions,
} from './connection-types.ts';
export {
  LibvirtAbortError,
  LibvirtConnectionError,
  LibvirtError,
  LibvirtUriError,
  VIR_ERR,
  VIR_FROM,
  XdrDecodeError,
  libvirtErrorCodeName,
} from './errors.ts';
export type { LibvirtConnectionErrorReason, LibvirtErrorCodeName, RemoteErrorFields } from './errors.ts';
// libvirt's numbers (generated from its sources) and the names derived from them: all public.
export * from './constants.ts';
export {
  decodeBlockInfoRet,
  decodeGuestInfoRet,
  decodeIoErrorMessage,
  decodeWatchdogMessage,
  domainGetBlockInfo,
  domainGetGuestInfo,
  encodeBlockInfoArgs,
  encodeGuestInfoArgs,
  encodeIoErrorMessage,
  encodeWatchdogMessage,
} from './guest-and-events.ts';
export type { DomainBlockInfo, IoErrorEvent, WatchdogEvent } from './guest-and-events.ts';
export {
  decodeDomainJobInfo,
  decodeListAllStoragePoolsRet,
  decodeStoragePoolInfo,
  domainGetJobInfo,
  listAllStoragePools,
  storagePoolGetInfo,
} from './pools-and-jobs.ts';
export type { DomainJobInfo, StoragePool, StoragePoolInfo } from './pools-and-jobs.ts';
export type {
  BalloonChangeEvent,
  CallOptions,
  Caller,
  Domain,
  DomainInfo,
  DomainStateInfo,
  DomainStatsRecord,
  GetAllDomainStatsArgs,
  GetAllDomainStatsOptions,
  LifecycleEvent,
  NodeInfo,
  ReadAllDomainStatsOptions,
} from './types.ts';
export { readGetAllDomainStatsRet } from './stats-reply.ts';
export type { DomainStatsSink } from './stats-reply.ts';
export { DEFAULT_PKI, LIBVIRT_TCP_PORT, LIBVIRT_TLS_PORT, describeTarget, parseLibvirtUri } from './uri.ts';
export type { ConnectTarget, LibvirtTransport, ParsedLibvirtUri, TlsFileOptions, UriOptions } from './uri.ts';
export { clockDeadline, deadline, withDeadline } from './signals.ts';
export { systemClock } from './clock.ts';
export type { Clock } from './clock.ts';
export type { Deadline } from './signals.ts';
export { uuidToBytes, uuidToString } from './uuid.ts';
export { XdrReader, XdrWriter } from './xdr.ts';
export type { TypedParam } from './xdr.ts';
export { FrameDecoder, decodeFrame, encodeFrame } from './framing.ts';
export type { Frame, FrameHeader } from './framing.ts';
