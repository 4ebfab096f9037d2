// SPDX-License-Identifier: Apache-2.0
/**
 * {@link LibvirtConnection}: one RPC connection to libvirtd, opened with the handshake (AUTH_LIST,
 * AUTH_POLKIT, CONNECT_OPEN, keepalive negotiation), with event registration on top of the call
 * machinery of {@link RpcConnection}.
 *
 * @packageDocumentation
 */
import { systemClock } from './clock.ts';
import { CONNECTION_DEFAULTS, type LibvirtConnectionOptions } from './connection-types.ts';
import { AuthType, ConnectFlags, DomainEventId, DrvFeature, Proc } from './constants.ts';
import { LibvirtAbortError, LibvirtConnectionError } from './errors.ts';
import {
  decodeAuthListRet,
  decodeAuthPolkitRet,
  decodeCallbackId,
  encodeConnectOpenArgs,
  encodeDeregisterArgs,
  encodeRegisterEventArgs,
} from './procedures.ts';
import { RpcConnection } from './rpc-connection.ts';
import { clockDeadline } from './signals.ts';
import { openSocket } from './transport.ts';
import type { CallOptions, Domain } from './types.ts';
import { describeTarget, parseLibvirtUri } from './uri.ts';

/**
 * One connection to libvirtd. Open it with {@link LibvirtConnection.open}; prefer {@link LibvirtClient},
 * which adds reconnection, unless you manage connections yourself.
 */
export class LibvirtConnection extends RpcConnection {
  private readonly callbacks = new Set<number>();

  /**
   * Connects to libvirtd and opens the hypervisor connection: AUTH_LIST, AUTH_POLKIT when asked,
   * CONNECT_OPEN (read-only unless `readOnly: false`), then keepalive negotiation. The whole sequence is
   * bounded by `connectTimeoutMs` and `signal`.
   */
  static async open(options: LibvirtConnectionOptions = {}): Promise<LibvirtConnection> {
    const uri = options.uri ?? 'qemu:///system';
    const parsed = parseLibvirtUri(uri, options);
    const timeoutMs = options.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs;
    // NOTE: not AbortSignal.any([…, AbortSignal.timeout()]), which garbage collection can lose on Node 20.
    const bound = clockDeadline(options.clock ?? systemClock, timeoutMs, options.signal);
    const { signal } = bound;
    const timedOut = (err: unknown): boolean =>
      err instanceof LibvirtAbortError && signal.aborted && options.signal?.aborted !== true;
    const address = describeTarget(parsed.target);
    const timeoutError = (): LibvirtConnectionError =>
      new LibvirtConnectionError(
        'CONNECT_TIMEOUT',
        `opening ${uri} via ${address} took longer than ${timeoutMs} ms`,
        { address },
      );
    let conn: LibvirtConnection | undefined;
    try {
      conn = new LibvirtConnection(await openSocket(parsed.target, { signal }), parsed.target, options);
      await conn.handshake(parsed.name, { readOnly: options.readOnly ?? true, signal });
      return conn;
    } catch (err) {
      conn?.destroy();
      throw timedOut(err) ? timeoutError() : err;
    } finally {
      bound.clear();
    }
  }

  /**
   * Runs the open sequence on a fresh socket: authentication, CONNECT_OPEN with `name` (null lets the
   * daemon choose), then turns keepalive on when the daemon supports it.
   */
  async handshake(
    name: string | null,
    options: { readOnly?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    const callOptions = { signal: options.signal };
    await this.authenticate(callOptions);
    await this.connectOpen(name, (options.readOnly ?? true) ? ConnectFlags.RO : 0, callOptions);
    if (
      this.keepaliveIntervalMs > 0 &&
      (await this.supportsFeature(DrvFeature.PROGRAM_KEEPALIVE, callOptions))
    ) {
      this.startKeepalive();
    }
  }

  /** AUTH_LIST, then AUTH_POLKIT when the daemon asks for it; SASL is refused. */
  private async authenticate(options: CallOptions): Promise<void> {
    const types = await this.authList(options);
    if (types.length === 0 || types.includes(AuthType.NONE)) return;
    const address = describeTarget(this.target);
    if (!types.includes(AuthType.POLKIT)) {
      throw new LibvirtConnectionError(
        'AUTH_UNSUPPORTED',
        `SASL authentication is not supported; use the read-only unix socket or TLS (server offers auth types ${types.join(',')})`,
        { address },
      );
    }
    if (!(await this.authPolkit(options))) {
      throw new LibvirtConnectionError('AUTH_UNSUPPORTED', 'polkit authentication did not complete', {
        address,
      });
    }
  }

  /** Returns the authentication types the daemon accepts (AUTH_LIST). */
  async authList(options: CallOptions = {}): Promise<number[]> {
    return decodeAuthListRet(await this.call(Proc.AUTH_LIST, undefined, options));
  }

  /** Asks the daemon to authorise this client through polkit (AUTH_POLKIT). */
  async authPolkit(options: CallOptions = {}): Promise<boolean> {
    return decodeAuthPolkitRet(await this.call(Proc.AUTH_POLKIT, undefined, options));
  }

  /** Opens the hypervisor connection (CONNECT_OPEN); `flags` are `ConnectFlags` bits. */
  async connectOpen(name: string | null, flags: number, options: CallOptions = {}): Promise<void> {
    await this.call(Proc.CONNECT_OPEN, encodeConnectOpenArgs(name, flags), options);
  }

  /** Closes the hypervisor connection on the daemon side (CONNECT_CLOSE); prefer {@link close}. */
  async connectClose(options: CallOptions = {}): Promise<void> {
    await this.call(Proc.CONNECT_CLOSE, undefined, options);
  }

  /**
   * Registers for lifecycle events of one domain, or of all when `dom` is null. Events arrive as
   * 'lifecycle' events carrying the returned callback id.
   */
  async registerLifecycleEvents(dom: Domain | null, options: CallOptions = {}): Promise<number> {
    return this.registerDomainEvents(DomainEventId.LIFECYCLE, dom, options);
  }

  /**
   * Registers for domain events of `eventId` (`DomainEventId`) of one domain, or of all when `dom` is
   * null. Lifecycle and balloon-change events are decoded ('lifecycle', 'balloon'); others arrive as
   * 'message' events. Resolves with the callback id the events carry.
   */
  async registerDomainEvents(
    eventId: number,
    dom: Domain | null,
    options: CallOptions = {},
  ): Promise<number> {
    const args = encodeRegisterEventArgs(eventId, dom);
    const payload = await this.call(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, args, options);
    const id = decodeCallbackId(payload);
    this.callbacks.add(id);
    return id;
  }

  /** Removes a registration (lifecycle or another event id). */
  async deregisterLifecycleEvents(callbackId: number, options: CallOptions = {}): Promise<void> {
    this.callbacks.delete(callbackId);
    const args = encodeDeregisterArgs(callbackId);
    await this.call(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, args, options);
  }
}
