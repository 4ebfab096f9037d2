// SPDX-License-Identifier: Apache-2.0
/**
 * Numeric constants of libvirt's public API and of its RPC protocol that callers of this client need:
 * stats groups, list and stats flags, domain states and lifecycle events. Values are libvirt's ABI
 * (libvirt-domain.h, remote_protocol.x, virnetprotocol.x, virkeepaliveprotocol.x).
 *
 * @packageDocumentation
 */

/** Program number of libvirt's remote (driver) protocol. */
export const REMOTE_PROGRAM = 0x20008086;
/** Version of the remote protocol. */
export const REMOTE_PROTOCOL_VERSION = 1;
/** Program number of the keepalive protocol ("keep" in ASCII). */
export const KEEPALIVE_PROGRAM = 0x6b656570;
/** Version of the keepalive protocol. */
export const KEEPALIVE_PROTOCOL_VERSION = 1;
/** Keepalive procedures. */
export const KEEPALIVE_PROC = { PING: 1, PONG: 2 } as const;

/** Message types of the RPC header (`virNetMessageType`). */
export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
} as const;

/** Status values of the RPC header (`virNetMessageStatus`). */
export const MessageStatus = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;

/** Size of the RPC header after the length word: prog, vers, proc, type, serial, status. */
export const HEADER_BYTES = 24;
/** Size of the length word that starts every frame (it counts itself). */
export const LENGTH_BYTES = 4;
/**
 * Default maximum size of one message (header + payload, without the length word): libvirt 9 allows
 * 32 MiB (`VIR_NET_MESSAGE_MAX`); older releases allowed 16 MiB.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** Authentication methods announced by AUTH_LIST (`remote_auth_type`). */
export const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** `virConnectFlags` for CONNECT_OPEN. */
export const ConnectFlags = { RO: 1, NO_ALIASES: 2 } as const;

/** `virDrvFeature` values for CONNECT_SUPPORTS_FEATURE. */
export const DrvFeature = {
  TYPED_PARAM_STRING: 9,
  PROGRAM_KEEPALIVE: 10,
  REMOTE_EVENT_CALLBACK: 14,
} as const;

/** Stats groups of virConnectGetAllDomainStats (`virDomainStatsTypes`). 0 asks for every supported group. */
export const DomainStatsTypes = {
  STATE: 1,
  CPU_TOTAL: 2,
  BALLOON: 4,
  VCPU: 8,
  INTERFACE: 16,
  BLOCK: 32,
  PERF: 64,
  IOTHREAD: 128,
  MEMORY: 256,
  DIRTYRATE: 512,
} as const;

/**
 * Flags of virConnectGetAllDomainStats (`virConnectGetAllDomainStatsFlags`). ENFORCE_STATS is bit 31,
 * which is negative as a JS int32: these values are written as unsigned 32-bit numbers on the wire, so
 * combine them with `|` and pass the result as is (the encoder accepts negative int32 as well).
 */
export const GetAllDomainStatsFlags = {
  ACTIVE: 1,
  INACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  RUNNING: 16,
  PAUSED: 32,
  SHUTOFF: 64,
  OTHER: 128,
  NOWAIT: 2 ** 29,
  BACKING: 2 ** 30,
  ENFORCE_STATS: 2 ** 31,
} as const;

/** Flags of virConnectListAllDomains (`virConnectListAllDomainsFlags`). 0 lists every domain. */
export const ListAllDomainsFlags = {
  ACTIVE: 1,
  INACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  RUNNING: 16,
  PAUSED: 32,
  SHUTOFF: 64,
  OTHER: 128,
  MANAGEDSAVE: 256,
  NO_MANAGEDSAVE: 512,
  AUTOSTART: 1024,
  NO_AUTOSTART: 2048,
  HAS_SNAPSHOT: 4096,
  NO_SNAPSHOT: 8192,
  HAS_CHECKPOINT: 16384,
  NO_CHECKPOINT: 32768,
} as const;

/** Flags of virDomainGetXMLDesc (`virDomainXMLFlags`). */
export const DomainXmlFlags = { SECURE: 1, INACTIVE: 2, UPDATE_CPU: 4, MIGRATABLE: 8 } as const;

/** Metadata kinds of virDomainGetMetadata (`virDomainMetadataType`). */
export const DomainMetadataType = { DESCRIPTION: 0, TITLE: 1, ELEMENT: 2 } as const;

/** Which definition virDomainGetMetadata reads (`virDomainModificationImpact`). */
export const DomainModificationImpact = { CURRENT: 0, LIVE: 1, CONFIG: 2 } as const;

/** Domain states (`virDomainState`). */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;

/** Lower-case names of the domain states, indexed by state number. */
export const DOMAIN_STATE_NAMES: readonly string[] = [
  'nostate',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
];

/** Returns the lower-case name of a domain state (`running`), or `unknown(N)`. */
export function domainStateName(state: number): string {
  return DOMAIN_STATE_NAMES[state] ?? `unknown(${state})`;
}

/** Domain event ids for CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY (`virDomainEventID`). */
export const DomainEventId = {
  LIFECYCLE: 0,
  REBOOT: 1,
  RTC_CHANGE: 2,
  WATCHDOG: 3,
  IO_ERROR: 4,
  IO_ERROR_REASON: 6,
  BALLOON_CHANGE: 13,
} as const;

/** Lifecycle event types (`virDomainEventType`). */
export const DomainEventType = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

/** Lower-case names of the lifecycle event types, indexed by event number. */
export const DOMAIN_EVENT_NAMES: readonly string[] = [
  'defined',
  'undefined',
  'started',
  'suspended',
  'resumed',
  'stopped',
  'shutdown',
  'pmsuspended',
  'crashed',
];

/** Returns the lower-case name of a lifecycle event type (`suspended`), or `unknown(N)`. */
export function domainEventName(event: number): string {
  return DOMAIN_EVENT_NAMES[event] ?? `unknown(${event})`;
}

/** Value types of typed parameters (`virTypedParameterType`). */
export const TypedParamType = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;

/**
 * Limits of remote_protocol.x that bound what a decoder accepts (newest libvirt values), and libvirt's
 * own limit on typed parameter names. A reply over any of them is refused with XdrDecodeError before
 * its items are allocated, as libvirt's own client refuses it.
 */
export const RemoteLimits = {
  /** REMOTE_STRING_MAX: any `remote_nonnull_string`. */
  STRING_MAX: 4194304,
  /** REMOTE_DOMAIN_LIST_MAX: domains in a list, and records of a bulk stats reply. */
  DOMAIN_LIST_MAX: 16384,
  /** REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX: typed parameters of one bulk stats record. */
  CONNECT_GET_ALL_DOMAIN_STATS_MAX: 262144,
  /** REMOTE_AUTH_TYPE_LIST_MAX. */
  AUTH_TYPE_LIST_MAX: 20,
  /** REMOTE_STORAGE_POOL_LIST_MAX: pools of virConnectListAllStoragePools. */
  STORAGE_POOL_LIST_MAX: 4096,
  /**
   * VIR_TYPED_PARAM_FIELD_LENGTH (libvirt-common.h): the size of `virTypedParameter.field`, NUL
   * included, so a name has at most 79 bytes; libvirt's virTypedParamsDeserialize refuses longer ones.
   */
  TYPED_PARAM_FIELD_LENGTH: 80,
  UUID_BYTES: 16,
} as const;
