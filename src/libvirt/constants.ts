// SPDX-License-Identifier: Apache-2.0
/**
 * The numbers of libvirt's ABI that callers of this client need. Every number comes from the tables in
 * ./generated/, which scripts/gen-libvirt-constants.ts writes from libvirt's own sources; this file
 * only re-exports them and derives names and groupings from them.
 *
 * @packageDocumentation
 */
import {
  DomainEventIoErrorAction,
  DomainEventType,
  DomainEventWatchdogAction,
  DomainState,
} from './generated/domain.ts';
import { VIR_TYPED_PARAM_FIELD_LENGTH, VIR_UUID_BUFLEN } from './generated/host.ts';
import { RemoteMax } from './generated/remote-protocol.ts';
import { NetMessageLimit } from './generated/rpc-protocol.ts';

export {
  DomainBlockedReason,
  DomainCrashedReason,
  DomainEventId,
  DomainEventIoErrorAction,
  DomainEventType,
  DomainEventWatchdogAction,
  DomainJobType,
  DomainMetadataType,
  DomainModificationImpact,
  DomainNostateReason,
  DomainPausedReason,
  DomainPmSuspendedReason,
  DomainRunningReason,
  DomainShutdownReason,
  DomainShutoffReason,
  DomainState,
  DomainStatsTypes,
  DomainXmlFlags,
  GetAllDomainStatsFlags,
  GuestInfoTypes,
  ListAllDomainsFlags,
} from './generated/domain.ts';
export { ErrorLevel, VIR_ERR, VIR_FROM } from './generated/errors.ts';
export { ConnectFlags, DrvFeature, TypedParamType } from './generated/host.ts';
export { AuthType, Proc, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION } from './generated/remote-protocol.ts';
export {
  KEEPALIVE_PROC,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  MessageStatus,
  MessageType,
} from './generated/rpc-protocol.ts';

/** Size of the RPC header after the length word: prog, vers, proc, type, serial, status. */
export const HEADER_BYTES = NetMessageLimit.HEADER_MAX;
/** Size of the length word that starts every frame (it counts itself). */
export const LENGTH_BYTES = NetMessageLimit.LEN_MAX;
/**
 * Default maximum size of one message (header + payload, without the length word): libvirt 9 allows
 * 32 MiB (`VIR_NET_MESSAGE_MAX`); older releases allowed 16 MiB.
 */
export const DEFAULT_MAX_MESSAGE_BYTES: number = NetMessageLimit.MAX;

/**
 * Limits of remote_protocol.x that bound what a decoder accepts, and libvirt's own limit on typed
 * parameter names. A reply over any of them is refused with XdrDecodeError before its items are
 * allocated, as libvirt's own client refuses it.
 */
export const RemoteLimits = {
  /** Any `remote_nonnull_string`. */
  STRING_MAX: RemoteMax.STRING_MAX,
  /** Domains in a list, and records of a bulk stats reply. */
  DOMAIN_LIST_MAX: RemoteMax.DOMAIN_LIST_MAX,
  /** Typed parameters of one bulk stats record. */
  CONNECT_GET_ALL_DOMAIN_STATS_MAX: RemoteMax.CONNECT_GET_ALL_DOMAIN_STATS_MAX,
  AUTH_TYPE_LIST_MAX: RemoteMax.AUTH_TYPE_LIST_MAX,
  /** Pools of virConnectListAllStoragePools. */
  STORAGE_POOL_LIST_MAX: RemoteMax.STORAGE_POOL_LIST_MAX,
  /** Typed parameters of virDomainGetGuestInfo. */
  DOMAIN_GUEST_INFO_PARAMS_MAX: RemoteMax.DOMAIN_GUEST_INFO_PARAMS_MAX,
  /**
   * The size of `virTypedParameter.field`, NUL included, so a name has at most 79 bytes; libvirt's
   * virTypedParamsDeserialize refuses longer ones.
   */
  TYPED_PARAM_FIELD_LENGTH: VIR_TYPED_PARAM_FIELD_LENGTH,
  UUID_BYTES: VIR_UUID_BUFLEN,
} as const;

/**
 * The lower-case names of a generated table, indexed by value (`DomainState` → `['nostate', …]`);
 * `rename` overrides a name where a label vocabulary predates this table.
 */
function namesByValue(
  table: Readonly<Record<string, number>>,
  rename: Readonly<Record<string, string>> = {},
): readonly string[] {
  const names: string[] = [];
  for (const [name, value] of Object.entries(table)) names[value] = rename[name] ?? name.toLowerCase();
  return names;
}

/** Returns `name(value)`: the name at `value`, or `unknown(N)`. */
function nameOf(names: readonly string[], value: number): string {
  return names[value] ?? `unknown(${value})`;
}

/** Lower-case names of the domain states, indexed by state number. */
export const DOMAIN_STATE_NAMES = namesByValue(DomainState);

/** Lower-case names of the lifecycle event types, indexed by event number. */
export const DOMAIN_EVENT_NAMES = namesByValue(DomainEventType);

/** Watchdog actions, by number (`inject_nmi`, as this exporter has always labelled it). */
export const WATCHDOG_ACTION_NAMES = namesByValue(DomainEventWatchdogAction, { INJECTNMI: 'inject_nmi' });

/** I/O error actions, by number. */
export const IO_ERROR_ACTION_NAMES = namesByValue(DomainEventIoErrorAction);

/** Returns the lower-case name of a domain state (`running`), or `unknown(N)`. */
export function domainStateName(state: number): string {
  return nameOf(DOMAIN_STATE_NAMES, state);
}

/** Returns the lower-case name of a lifecycle event type (`suspended`), or `unknown(N)`. */
export function domainEventName(event: number): string {
  return nameOf(DOMAIN_EVENT_NAMES, event);
}
