// SPDX-License-Identifier: Apache-2.0
/**
 * What scripts/gen-libvirt-constants.ts generates: which enum or constants of which libvirt source file
 * go into which table of which file under src/libvirt/generated/. To use another libvirt constant, add
 * its table here and run the generator.
 */

/** A table to write: an enum of a header or .x file, or a group of `const`s of a .x file. */
export interface TableSpec {
  readonly file: string;
  /** The C or XDR enum's name, or `const` for a group of XDR constants. */
  readonly source: string;
  readonly exportName: string;
  /** Prefix stripped from each member name (members without it keep their full name). */
  readonly prefix: string;
  /** For `const` groups: which constants (by full name). */
  readonly select?: (name: string) => boolean;
  readonly doc: string;
}

/** A single value written as `export const NAME = value;`. */
export interface ValueSpec {
  readonly file: string;
  readonly name: string;
  readonly doc: string;
}

export interface OutputSpec {
  readonly out: string;
  readonly about: string;
  readonly values: readonly ValueSpec[];
  readonly tables: readonly TableSpec[];
}

const REMOTE_X = 'src/remote/remote_protocol.x';
const NET_X = 'src/rpc/virnetprotocol.x';
const KEEPALIVE_X = 'src/rpc/virkeepaliveprotocol.x';
const DOMAIN_H = 'include/libvirt/libvirt-domain.h';
const HOST_H = 'include/libvirt/libvirt-host.h';
const COMMON_H = 'include/libvirt/libvirt-common.h.in';
const ERROR_H = 'include/libvirt/virterror.h';
const INTERNAL_H = 'src/libvirt_internal.h';

const startsWith = (p: string) => (name: string) => name.startsWith(p);

const enumTable = (
  file: string,
  source: string,
  exportName: string,
  prefix: string,
  doc: string,
): TableSpec => ({
  file,
  source,
  exportName,
  prefix,
  doc,
});

/** Everything generated: which file gets which tables. */
export const OUTPUTS: readonly OutputSpec[] = [
  {
    out: 'remote-protocol.ts',
    about: 'the remote program: its procedure numbers, authentication types and size limits',
    values: [
      { file: REMOTE_X, name: 'REMOTE_PROGRAM', doc: 'Program number of the remote (driver) protocol.' },
      { file: REMOTE_X, name: 'REMOTE_PROTOCOL_VERSION', doc: 'Version of the remote protocol.' },
    ],
    tables: [
      enumTable(REMOTE_X, 'remote_procedure', 'Proc', 'REMOTE_PROC_', 'Remote procedure numbers.'),
      enumTable(
        REMOTE_X,
        'remote_auth_type',
        'AuthType',
        'REMOTE_AUTH_',
        'Authentication types of AUTH_LIST.',
      ),
      {
        file: REMOTE_X,
        source: 'const',
        exportName: 'RemoteMax',
        prefix: 'REMOTE_',
        select: (n) => n.startsWith('REMOTE_') && n.endsWith('_MAX'),
        doc: 'Upper bounds of the remote protocol’s variable-length arrays and strings.',
      },
    ],
  },
  {
    out: 'rpc-protocol.ts',
    about: 'the RPC framing and the keepalive program',
    values: [
      { file: KEEPALIVE_X, name: 'KEEPALIVE_PROGRAM', doc: 'Program number of the keepalive protocol.' },
      { file: KEEPALIVE_X, name: 'KEEPALIVE_PROTOCOL_VERSION', doc: 'Version of the keepalive protocol.' },
    ],
    tables: [
      {
        file: NET_X,
        source: 'const',
        exportName: 'NetMessageLimit',
        prefix: 'VIR_NET_MESSAGE_',
        select: startsWith('VIR_NET_MESSAGE_'),
        doc: 'Sizes of RPC messages, in bytes.',
      },
      enumTable(NET_X, 'virNetMessageType', 'MessageType', 'VIR_NET_', 'Message types of the RPC header.'),
      enumTable(
        NET_X,
        'virNetMessageStatus',
        'MessageStatus',
        'VIR_NET_',
        'Status values of the RPC header.',
      ),
      enumTable(
        KEEPALIVE_X,
        'keepalive_procedure',
        'KEEPALIVE_PROC',
        'KEEPALIVE_PROC_',
        'Keepalive procedures.',
      ),
    ],
  },
  {
    out: 'errors.ts',
    about: 'libvirt error codes, the subsystems that raise them, and error levels',
    values: [],
    tables: [
      enumTable(ERROR_H, 'virErrorNumber', 'VIR_ERR', 'VIR_ERR_', 'Error codes.'),
      enumTable(ERROR_H, 'virErrorDomain', 'VIR_FROM', 'VIR_FROM_', 'Subsystems raising errors.'),
      enumTable(ERROR_H, 'virErrorLevel', 'ErrorLevel', 'VIR_ERR_', 'Error levels.'),
    ],
  },
  {
    out: 'domain.ts',
    about:
      'domain states and their reasons, events, stats groups and the flags of the calls the client makes',
    values: [],
    tables: [
      enumTable(DOMAIN_H, 'virDomainState', 'DomainState', 'VIR_DOMAIN_', 'Domain states.'),
      enumTable(
        DOMAIN_H,
        'virDomainNostateReason',
        'DomainNostateReason',
        'VIR_DOMAIN_NOSTATE_',
        'Reasons of NOSTATE.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainRunningReason',
        'DomainRunningReason',
        'VIR_DOMAIN_RUNNING_',
        'Reasons of RUNNING.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainBlockedReason',
        'DomainBlockedReason',
        'VIR_DOMAIN_BLOCKED_',
        'Reasons of BLOCKED.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainPausedReason',
        'DomainPausedReason',
        'VIR_DOMAIN_PAUSED_',
        'Reasons of PAUSED.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainShutdownReason',
        'DomainShutdownReason',
        'VIR_DOMAIN_SHUTDOWN_',
        'Reasons of SHUTDOWN.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainShutoffReason',
        'DomainShutoffReason',
        'VIR_DOMAIN_SHUTOFF_',
        'Reasons of SHUTOFF.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainCrashedReason',
        'DomainCrashedReason',
        'VIR_DOMAIN_CRASHED_',
        'Reasons of CRASHED.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainPMSuspendedReason',
        'DomainPmSuspendedReason',
        'VIR_DOMAIN_PMSUSPENDED_',
        'Reasons of PMSUSPENDED.',
      ),
      enumTable(DOMAIN_H, 'virDomainEventID', 'DomainEventId', 'VIR_DOMAIN_EVENT_ID_', 'Domain event ids.'),
      enumTable(
        DOMAIN_H,
        'virDomainEventType',
        'DomainEventType',
        'VIR_DOMAIN_EVENT_',
        'Lifecycle event types.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainEventWatchdogAction',
        'DomainEventWatchdogAction',
        'VIR_DOMAIN_EVENT_WATCHDOG_',
        'Actions of a watchdog event.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainEventIOErrorAction',
        'DomainEventIoErrorAction',
        'VIR_DOMAIN_EVENT_IO_ERROR_',
        'Actions of an I/O error event.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainStatsTypes',
        'DomainStatsTypes',
        'VIR_DOMAIN_STATS_',
        'Stats groups (bits).',
      ),
      enumTable(
        DOMAIN_H,
        'virConnectGetAllDomainStatsFlags',
        'GetAllDomainStatsFlags',
        'VIR_CONNECT_GET_ALL_DOMAINS_STATS_',
        'Flags of the bulk stats call (bits).',
      ),
      enumTable(
        DOMAIN_H,
        'virConnectListAllDomainsFlags',
        'ListAllDomainsFlags',
        'VIR_CONNECT_LIST_DOMAINS_',
        'Flags of the domain listing (bits).',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainXMLFlags',
        'DomainXmlFlags',
        'VIR_DOMAIN_XML_',
        'Flags of the XML description.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainMetadataType',
        'DomainMetadataType',
        'VIR_DOMAIN_METADATA_',
        'Metadata kinds.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainModificationImpact',
        'DomainModificationImpact',
        'VIR_DOMAIN_AFFECT_',
        'Which definition a call reads or changes.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainGuestInfoTypes',
        'GuestInfoTypes',
        'VIR_DOMAIN_GUEST_INFO_',
        'Guest info groups.',
      ),
      enumTable(DOMAIN_H, 'virDomainJobType', 'DomainJobType', 'VIR_DOMAIN_JOB_', 'Domain job types.'),
    ],
  },
  {
    out: 'host.ts',
    about: 'connection flags, driver features and typed parameters',
    values: [
      {
        file: COMMON_H,
        name: 'VIR_TYPED_PARAM_FIELD_LENGTH',
        doc: 'Size of a typed parameter name, NUL included.',
      },
      { file: HOST_H, name: 'VIR_UUID_BUFLEN', doc: 'Bytes of a raw UUID.' },
    ],
    tables: [
      enumTable(HOST_H, 'virConnectFlags', 'ConnectFlags', 'VIR_CONNECT_', 'Flags of CONNECT_OPEN.'),
      enumTable(INTERNAL_H, 'virDrvFeature', 'DrvFeature', 'VIR_DRV_FEATURE_', 'Driver features.'),
      enumTable(
        COMMON_H,
        'virTypedParameterType',
        'TypedParamType',
        'VIR_TYPED_PARAM_',
        'Typed parameter types.',
      ),
    ],
  },
];

/** Every input file, in the order their symbols are defined (later files may use earlier names). */
export const INPUTS = [NET_X, KEEPALIVE_X, REMOTE_X, COMMON_H, HOST_H, ERROR_H, DOMAIN_H, INTERNAL_H];
