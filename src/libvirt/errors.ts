// SPDX-License-Identifier: Apache-2.0
/**
 * Error classes of the libvirt client: server-side libvirt errors, transport failures, aborted calls,
 * undecodable bytes and unusable URIs.
 *
 * @packageDocumentation
 */

import { VIR_ERR } from './generated/errors.ts';

export { VIR_ERR, VIR_FROM } from './generated/errors.ts';

/** A libvirt error code name, e.g. `NO_DOMAIN`. */
export type LibvirtErrorCodeName = keyof typeof VIR_ERR;

const CODE_NAMES = new Map<number, LibvirtErrorCodeName>(
  (Object.entries(VIR_ERR) as [LibvirtErrorCodeName, number][]).map(([name, code]) => [code, name]),
);

/**
 * Returns the symbolic name of a libvirt error code (`NO_DOMAIN` for 42), or `undefined` for a code
 * newer than the libvirt release the constants were generated from.
 */
export function libvirtErrorCodeName(code: number): LibvirtErrorCodeName | undefined {
  return CODE_NAMES.get(code);
}

/** The fields of libvirt's `remote_error` structure, as decoded from an error reply. */
export type RemoteErrorFields = Pick<
  LibvirtError,
  'code' | 'domain' | 'level' | 'str1' | 'str2' | 'str3' | 'int1' | 'int2'
> & { readonly message: string | null };

/**
 * An error reported by libvirt itself (a reply with status ERROR): the call reached the daemon and the
 * daemon refused or failed it. The connection stays usable.
 */
export class LibvirtError extends Error {
  override readonly name = 'LibvirtError';
  /** libvirt error code (`VIR_ERR_*`), e.g. 42 for "domain not found". */
  readonly code: number;
  /** Symbolic name of {@link code} when known, e.g. `NO_DOMAIN`. */
  readonly codeName: LibvirtErrorCodeName | undefined;
  /** Subsystem that raised the error (`VIR_FROM_*`). */
  readonly domain: number;
  /** 1 = warning, 2 = error. */
  readonly level: number;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;
  /** Remote procedure number of the failed call, when known. */
  readonly procedure: number | undefined;

  constructor(fields: RemoteErrorFields, procedure?: number) {
    super(fields.message ?? `libvirt error code ${fields.code}`);
    this.code = fields.code;
    this.codeName = libvirtErrorCodeName(fields.code);
    this.domain = fields.domain;
    this.level = fields.level;
    this.str1 = fields.str1;
    this.str2 = fields.str2;
    this.str3 = fields.str3;
    this.int1 = fields.int1;
    this.int2 = fields.int2;
    this.procedure = procedure;
  }
}

/** Why a connection could not be opened or stopped working. */
export type LibvirtConnectionErrorReason =
  /** The unix socket does not exist (libvirtd not running, or the wrong path). */
  | 'ENOENT'
  /** The socket exists but this process may not connect to it. */
  | 'EACCES'
  /** Nothing listens on the socket or TCP port. */
  | 'ECONNREFUSED'
  /** Opening the connection (connect + handshake) took longer than the connect timeout. */
  | 'CONNECT_TIMEOUT'
  /** The peer closed the connection. */
  | 'CLOSED'
  /** The connection was closed by this side (`close()`). */
  | 'CLOSED_LOCALLY'
  /** No traffic at all from the peer for too long, although keepalive PINGs were sent. */
  | 'KEEPALIVE_TIMEOUT'
  /** A frame announced a length over the configured maximum, or under the header size. */
  | 'FRAME_INVALID'
  /** The peer sent something that is not libvirt's RPC protocol. */
  | 'PROTOCOL'
  /** The server requires an authentication method this client does not implement (SASL). */
  | 'AUTH_UNSUPPORTED'
  /** TLS handshake or certificate problem. */
  | 'TLS'
  /** Any other socket error (see `cause`). */
  | 'SOCKET';

/**
 * A transport-level failure: the connection could not be opened, or it died. Every call pending on the
 * connection rejects with it.
 */
export class LibvirtConnectionError extends Error {
  override readonly name = 'LibvirtConnectionError';
  readonly reason: LibvirtConnectionErrorReason;
  /** Unix socket path or `host:port` of the peer, when known. */
  readonly address: string | undefined;

  constructor(
    reason: LibvirtConnectionErrorReason,
    message: string,
    options?: { cause?: unknown; address?: string | undefined },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.address = options?.address;
  }
}

/**
 * A call given up by the caller through its AbortSignal (or a client-side timeout). The request may still
 * be running inside libvirtd; its late reply is discarded. `cause` is the signal's reason.
 */
export class LibvirtAbortError extends Error {
  override readonly name = 'AbortError';
  /** Same value as DOMException's AbortError code, so `err.code === 'ABORT_ERR'` checks work. */
  readonly code = 'ABORT_ERR';
  /** True when the signal's reason was a TimeoutError (e.g. from `AbortSignal.timeout()`). */
  readonly timedOut: boolean;

  constructor(message: string, reason?: unknown) {
    super(message, reason === undefined ? undefined : { cause: reason });
    this.timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  }
}

/** Bytes that do not decode as the expected XDR structure (truncated, garbage or over a size limit). */
export class XdrDecodeError extends Error {
  override readonly name = 'XdrDecodeError';
  /** Byte offset in the decoded buffer where decoding failed. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** A connection URI that cannot be used: malformed, or asking for a transport this client lacks. */
export class LibvirtUriError extends Error {
  override readonly name = 'LibvirtUriError';
  readonly uri: string;

  constructor(uri: string, message: string) {
    super(`${message} (uri: ${uri})`);
    this.uri = uri;
  }
}

/** Builds the error a call rejects with when its signal is (or gets) aborted. */
export function abortErrorFor(signal: AbortSignal, what: string): LibvirtAbortError {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  return new LibvirtAbortError(`${what} ${timedOut ? 'timed out' : 'was aborted'}`, reason);
}
