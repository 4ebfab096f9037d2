// SPDX-License-Identifier: Apache-2.0
/**
 * A fake libvirtd for unit tests: a unix socket server that speaks libvirt's RPC framing, answers the
 * open handshake and keepalive, and lets each test script the replies of any procedure (immediately,
 * late, out of order, as errors, never, or as raw bytes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import {
  KEEPALIVE_PROC,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
} from '../../../src/libvirt/constants.ts';
import type { RemoteErrorFields } from '../../../src/libvirt/errors.ts';
import { FrameDecoder, decodeFrame, encodeFrame, type Frame } from '../../../src/libvirt/framing.ts';
import { Proc } from '../../../src/libvirt/constants.ts';
import { encodeRemoteError } from '../../../src/libvirt/procedures.ts';
import { XdrWriter } from '../../../src/libvirt/xdr.ts';

/** What a handler answers to a call. */
export type FakeReply =
  | { readonly payload?: Uint8Array }
  | { readonly error: Partial<RemoteErrorFields> & { readonly code: number } }
  /** Do not answer now; the test answers later with `conn.reply(...)`. */
  | { readonly hold: true };

/** A call received by the fake server. */
export interface FakeCall extends Frame {
  readonly conn: FakeConnection;
}

export type FakeHandler = (call: FakeCall) => FakeReply | Promise<FakeReply>;

/** One client connection to the fake server. */
export class FakeConnection {
  readonly socket: net.Socket;
  readonly calls: FakeCall[] = [];
  pingsReceived = 0;
  pongsReceived = 0;
  pongsSent = 0;
  private readonly server: FakeLibvirtServer;

  constructor(socket: net.Socket, server: FakeLibvirtServer) {
    this.socket = socket;
    this.server = server;
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const raw of frames) this.onFrame(decodeFrame(raw));
    });
    socket.on('error', () => {
      // tests provoke resets; nothing to report
    });
  }

  private onFrame(frame: Frame): void {
    if (frame.prog === KEEPALIVE_PROGRAM) {
      if (frame.proc === KEEPALIVE_PROC.PING) {
        this.pingsReceived++;
        if (this.server.answerPings) {
          this.sendKeepalive(KEEPALIVE_PROC.PONG);
          this.pongsSent++;
        }
      } else if (frame.proc === KEEPALIVE_PROC.PONG) {
        this.pongsReceived++;
      }
      return;
    }
    const call: FakeCall = { ...frame, payload: Buffer.from(frame.payload), conn: this };
    this.calls.push(call);
    this.server.calls.push(call);
    const handler = this.server.handlers.get(frame.proc);
    if (handler === undefined) {
      this.reply(call.serial, call.proc, {
        error: {
          code: 3,
          domain: 13,
          message: `this fake server has no handler for procedure ${frame.proc}`,
        },
      });
      return;
    }
    void Promise.resolve(handler(call)).then((r) => {
      this.reply(call.serial, call.proc, r);
    });
  }

  /** Sends the reply of a call (used for held calls too). */
  reply(serial: number, proc: number, r: FakeReply): void {
    if ('hold' in r) return;
    if (this.socket.destroyed) return;
    if ('error' in r) {
      const fields: RemoteErrorFields = {
        message: null,
        domain: 0,
        level: 2,
        str1: null,
        str2: null,
        str3: null,
        int1: -1,
        int2: -1,
        ...r.error,
      };
      this.socket.write(
        frameOf(proc, MessageType.REPLY, serial, MessageStatus.ERROR, encodeRemoteError(fields)),
      );
      return;
    }
    this.socket.write(frameOf(proc, MessageType.REPLY, serial, MessageStatus.OK, r.payload));
  }

  /** Sends an asynchronous event message of the remote program. */
  sendEvent(proc: number, payload: Uint8Array): void {
    this.socket.write(frameOf(proc, MessageType.MESSAGE, 0, MessageStatus.OK, payload));
  }

  /** Sends a keepalive PING or PONG. */
  sendKeepalive(proc: number): void {
    this.socket.write(
      encodeFrame({
        prog: KEEPALIVE_PROGRAM,
        vers: KEEPALIVE_PROTOCOL_VERSION,
        proc,
        type: MessageType.MESSAGE,
        serial: 0,
        status: MessageStatus.OK,
      }),
    );
  }

  /** Writes raw bytes. */
  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }
}

/** Encodes a frame of the remote program. */
export function frameOf(
  proc: number,
  type: number,
  serial: number,
  status: number,
  payload?: Uint8Array,
): Buffer {
  return encodeFrame(
    { prog: REMOTE_PROGRAM, vers: REMOTE_PROTOCOL_VERSION, proc, type, serial, status },
    payload,
  );
}

/** The fake daemon. */
export class FakeLibvirtServer {
  readonly path: string;
  readonly handlers = new Map<number, FakeHandler>();
  readonly calls: FakeCall[] = [];
  readonly connections: FakeConnection[] = [];
  /** Answer keepalive PINGs with PONGs (set false to play a frozen daemon). */
  answerPings = true;
  /** Connections accepted in total. */
  accepted = 0;
  private readonly dir: string;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  private constructor(dir: string) {
    this.dir = dir;
    this.path = path.join(dir, 'libvirt-sock');
    this.handlers.set(Proc.AUTH_LIST, () => ({ payload: new XdrWriter().u32(1).i32(0).finish() }));
    this.handlers.set(Proc.CONNECT_OPEN, () => ({}));
    this.handlers.set(Proc.CONNECT_CLOSE, () => ({}));
    this.handlers.set(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, () => ({}));
    this.handlers.set(Proc.CONNECT_SUPPORTS_FEATURE, () => ({ payload: new XdrWriter().i32(1).finish() }));
  }

  /** Starts a fake server on a fresh temporary unix socket. */
  static async start(): Promise<FakeLibvirtServer> {
    const s = new FakeLibvirtServer(mkdtempSync(path.join(os.tmpdir(), 'fake-libvirt-')));
    await s.listen();
    return s;
  }

  /** Starts listening again (after stop()), on the same path. */
  async listen(): Promise<void> {
    const server = net.createServer((socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.connections.push(new FakeConnection(socket, this));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Sets the handler of a procedure. */
  on(proc: number, handler: FakeHandler): this {
    this.handlers.set(proc, handler);
    return this;
  }

  /** The most recent connection. */
  get last(): FakeConnection {
    const c = this.connections.at(-1);
    if (c === undefined) throw new Error('no connection yet');
    return c;
  }

  /** Calls of a procedure received so far. */
  callsOf(proc: number): FakeCall[] {
    return this.calls.filter((c) => c.proc === proc);
  }

  /** Stops listening and drops every connection (a daemon crash); the socket file disappears. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  }

  /** Stops and removes the temporary directory. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Waits until `predicate` holds: for I/O over the fake server's socket, polled every few ms. It never
 * measures time (tests that are about time use a ManualClock); the 30 s bound only turns a lost
 * message into a failure instead of a hung test.
 */
export async function waitFor(predicate: () => boolean, what = 'condition'): Promise<void> {
  const until = Date.now() + 30_000;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
