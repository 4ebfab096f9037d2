// SPDX-License-Identifier: Apache-2.0
/**
 * The frame level of one connection: bytes from the socket cut into frames, frames written with
 * back-pressure, keepalive answered and watched. Calls, replies and events are the connection's.
 *
 * @packageDocumentation
 */
import type { Duplex } from 'node:stream';

import type { Clock } from './clock.ts';
import {
  KEEPALIVE_PROC,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  MessageStatus,
  MessageType,
} from './constants.ts';
import { LibvirtConnectionError } from './errors.ts';
import { FrameDecoder, decodeFrame, encodeFrame, type Frame } from './framing.ts';
import { Keepalive } from './keepalive.ts';
import { connectionErrorFrom } from './transport.ts';
import { describeTarget, type ConnectTarget } from './uri.ts';
import { WriteQueue } from './write-queue.ts';

/** The channel's settings (defaults applied by the connection). */
export interface ChannelSettings {
  readonly clock: Clock;
  readonly maxMessageBytes: number;
  readonly maxQueuedWriteBytes: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCount: number;
}

/** What the channel tells its connection. */
export interface ChannelHooks {
  /** A frame that is not keepalive's. */
  frame(frame: Frame): void;
  /** The channel cannot go on: a socket error, an invalid frame, a frozen daemon, a peer not reading. */
  failed(err: LibvirtConnectionError): void;
  /** The socket closed. */
  closed(): void;
}

/** Frames in and out of one socket. */
export class FrameChannel {
  private readonly decoder: FrameDecoder;
  private readonly writes: WriteQueue;
  private readonly keepalive: Keepalive;
  private lastReceive: number;
  private shut = false;

  constructor(
    private readonly socket: Duplex,
    private readonly target: ConnectTarget,
    private readonly settings: ChannelSettings,
    private readonly hooks: ChannelHooks,
  ) {
    this.lastReceive = settings.clock.now();
    this.decoder = new FrameDecoder(settings.maxMessageBytes);
    this.writes = new WriteQueue(socket, settings.maxQueuedWriteBytes, (max) => {
      this.fail('SOCKET', (a) => `${a} does not read its socket: over ${max} bytes wait to be written`);
    });
    this.keepalive = new Keepalive({
      clock: settings.clock,
      intervalMs: settings.keepaliveIntervalMs,
      count: settings.keepaliveCount,
      lastReceivedAt: () => this.lastReceive,
      ping: () => {
        this.sendKeepalive(KEEPALIVE_PROC.PING);
      },
      timedOut: (silence) => {
        this.fail(
          'KEEPALIVE_TIMEOUT',
          (a) =>
            `no traffic from libvirtd at ${a} for ${silence} ms despite keepalive pings: the daemon looks frozen`,
        );
      },
    });
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('error', (err: Error) => {
      hooks.failed(connectionErrorFrom(err, target));
    });
    socket.on('close', () => {
      hooks.closed();
    });
    socket.on('end', () => {
      // The server half-closed: nothing more will come, so finish our side too.
      socket.end();
    });
  }

  /** When the last bytes from the daemon arrived, on the clock (ms). */
  get lastReceivedAt(): number {
    return this.lastReceive;
  }

  /** True once keepalive was started. */
  get keepaliveEnabled(): boolean {
    return this.keepalive.enabled;
  }

  /** Bytes of frames waiting for the socket to drain. */
  get queuedBytes(): number {
    return this.writes.queuedBytes;
  }

  /** Writes (or queues) a frame; `serial` names a call's frame. */
  send(frame: Buffer, serial?: number): void {
    this.writes.send(frame, serial);
  }

  /** Takes a call's frame back out of the write queue; true when it was still there (never sent). */
  unqueue(serial: number): boolean {
    return this.writes.unqueue(serial);
  }

  /** Starts keepalive (once the daemon said it supports it). */
  startKeepalive(): void {
    if (this.shut) return;
    if (!this.keepalive.enabled) this.lastReceive = this.settings.clock.now();
    this.keepalive.start();
  }

  /** Ends our side of the socket (a clean close). */
  end(): void {
    this.socket.end();
  }

  /** Stops everything and destroys the socket; nothing more is read or written. */
  destroy(): void {
    this.shut = true;
    this.keepalive.stop();
    this.decoder.reset();
    this.writes.close();
    this.socket.destroy();
  }

  private fail(reason: LibvirtConnectionError['reason'], message: (address: string) => string): void {
    const address = describeTarget(this.target);
    this.hooks.failed(new LibvirtConnectionError(reason, message(address), { address }));
  }

  private onData(chunk: Buffer): void {
    this.lastReceive = this.settings.clock.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const address = describeTarget(this.target);
      const message = `invalid frame from ${address}: ${(err as Error).message}`;
      this.hooks.failed(new LibvirtConnectionError('FRAME_INVALID', message, { cause: err, address }));
      return;
    }
    for (const raw of frames) {
      if (this.shut) return;
      const frame = decodeFrame(raw);
      if (frame.prog !== KEEPALIVE_PROGRAM || frame.vers !== KEEPALIVE_PROTOCOL_VERSION)
        this.hooks.frame(frame);
      else if (frame.proc === KEEPALIVE_PROC.PING) this.sendKeepalive(KEEPALIVE_PROC.PONG);
    }
  }

  private sendKeepalive(proc: number): void {
    // While the socket does not drain, a PING or PONG would only queue behind calls the peer is not
    // reading either: skip it (the keepalive timeout still watches what the peer sends).
    if (this.shut || this.writes.isBlocked) return;
    const header = { prog: KEEPALIVE_PROGRAM, vers: KEEPALIVE_PROTOCOL_VERSION, proc, serial: 0 };
    this.writes.send(encodeFrame({ ...header, type: MessageType.MESSAGE, status: MessageStatus.OK }));
  }
}
