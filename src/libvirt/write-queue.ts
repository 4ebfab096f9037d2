// SPDX-License-Identifier: Apache-2.0
/**
 * Back-pressure on a connection's socket (issue 15, item 8): after `write()` returns false nothing more
 * is written until 'drain'; frames wait in a queue bounded in bytes, beyond which the peer is not
 * reading and the connection fails.
 *
 * @packageDocumentation
 */
import type { Duplex } from 'node:stream';

interface Queued {
  readonly frame: Buffer;
  readonly serial: number | undefined;
}

/** The frames of one socket that wait for 'drain'. */
export class WriteQueue {
  private blocked = false;
  private closed = false;
  private readonly queue: Queued[] = [];
  private bytes = 0;

  /** `onOverflow` runs (and the frame is dropped) when queueing it would pass `maxBytes`. */
  constructor(
    private readonly socket: Duplex,
    private readonly maxBytes: number,
    private readonly onOverflow: (maxBytes: number) => void,
  ) {}

  /** True while the socket's buffer is full. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Bytes of frames waiting. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Writes a frame, or queues it while the socket's buffer is full; `serial` names a call's frame. */
  send(frame: Buffer, serial?: number): void {
    if (this.closed) return;
    if (!this.blocked) {
      if (!this.socket.write(frame)) this.waitForDrain();
      return;
    }
    if (this.bytes + frame.length > this.maxBytes) {
      this.onOverflow(this.maxBytes);
      return;
    }
    this.queue.push({ frame, serial });
    this.bytes += frame.length;
  }

  /** Removes a call's frame from the queue; true when it was there (so it was never sent). */
  unqueue(serial: number): boolean {
    const at = this.queue.findIndex((q) => q.serial === serial);
    if (at < 0) return false;
    const [entry] = this.queue.splice(at, 1);
    this.bytes -= entry?.frame.length ?? 0;
    return true;
  }

  /** Drops every waiting frame and writes nothing more (the connection failed). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.bytes = 0;
    this.socket.off('drain', this.onDrain);
  }

  private waitForDrain(): void {
    this.blocked = true;
    this.socket.once('drain', this.onDrain);
  }

  private readonly onDrain = (): void => {
    this.blocked = false;
    let more = true;
    while (more && !this.closed) {
      const next = this.queue.shift();
      if (next === undefined) break;
      this.bytes -= next.frame.length;
      more = this.socket.write(next.frame);
    }
    if (!more) this.waitForDrain();
  };
}
