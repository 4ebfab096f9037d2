// SPDX-License-Identifier: Apache-2.0
/**
 * Message framing of libvirt's RPC: a u32 length (counting itself), a 24-byte header, then the payload.
 * {@link FrameDecoder} turns arbitrary socket chunks into whole frames; {@link encodeFrame} builds one.
 *
 * @packageDocumentation
 */
import { DEFAULT_MAX_MESSAGE_BYTES, HEADER_BYTES, LENGTH_BYTES } from './constants.ts';
import { XdrDecodeError } from './errors.ts';

/** The header of a libvirt RPC message (`virNetMessageHeader`). */
export interface FrameHeader {
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  readonly type: number;
  readonly serial: number;
  readonly status: number;
}

/** One decoded message: its header and its XDR payload. */
export interface Frame extends FrameHeader {
  readonly payload: Buffer;
}

/** A frame whose length field is invalid; the byte stream cannot be resynchronised after it. */
export class FrameLengthError extends XdrDecodeError {
  /** The length announced by the frame (including the length word). */
  readonly length: number;
  constructor(message: string, length: number) {
    super(message, 0);
    this.length = length;
  }
}

/** Encodes one frame: length word, header and payload, in a single buffer. */
export function encodeFrame(header: FrameHeader, payload?: Uint8Array): Buffer {
  const payloadLength = payload?.length ?? 0;
  const total = LENGTH_BYTES + HEADER_BYTES + payloadLength;
  const buf = Buffer.allocUnsafe(total);
  buf.writeUInt32BE(total, 0);
  buf.writeUInt32BE(header.prog >>> 0, 4);
  buf.writeUInt32BE(header.vers >>> 0, 8);
  buf.writeInt32BE(header.proc, 12);
  buf.writeInt32BE(header.type, 16);
  buf.writeUInt32BE(header.serial >>> 0, 20);
  buf.writeInt32BE(header.status, 24);
  if (payload !== undefined) buf.set(payload, LENGTH_BYTES + HEADER_BYTES);
  return buf;
}

/** Decodes one complete frame (length word included). Throws XdrDecodeError when it is too short. */
export function decodeFrame(buf: Buffer): Frame {
  if (buf.length < LENGTH_BYTES + HEADER_BYTES) {
    throw new XdrDecodeError(`frame of ${buf.length} bytes is shorter than a header`, 0);
  }
  return {
    prog: buf.readUInt32BE(4),
    vers: buf.readUInt32BE(8),
    proc: buf.readInt32BE(12),
    type: buf.readInt32BE(16),
    serial: buf.readUInt32BE(20),
    status: buf.readInt32BE(24),
    payload: buf.subarray(LENGTH_BYTES + HEADER_BYTES),
  };
}

/**
 * Reassembles frames from a byte stream split at arbitrary points. Chunks are kept in a list and each
 * frame is copied once (or not at all when it lies inside one chunk), so a large frame arriving in many
 * small chunks costs O(n), not O(n²).
 */
export class FrameDecoder {
  private readonly chunks: Buffer[] = [];
  private head = 0; // index of the first unconsumed chunk
  private headOffset = 0; // bytes of chunks[head] already consumed
  private buffered = 0;
  private expected = -1; // total length of the frame being assembled, or -1 when not known yet
  private readonly maxMessageBytes: number;

  /** @param maxMessageBytes largest accepted message, header and payload, without the length word. */
  constructor(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Adds a chunk and returns the frames it completes (raw, length word included). Throws
   * {@link FrameLengthError} as soon as a length word is invalid, before buffering that frame.
   */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < LENGTH_BYTES) break;
        const length = this.peekLength();
        if (length < LENGTH_BYTES + HEADER_BYTES) {
          throw new FrameLengthError(`frame length ${length} is shorter than a header`, length);
        }
        if (length - LENGTH_BYTES > this.maxMessageBytes) {
          throw new FrameLengthError(
            `frame of ${length - LENGTH_BYTES} bytes is over the maximum message size of ${this.maxMessageBytes} bytes`,
            length,
          );
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    this.compact();
    return frames;
  }

  private peekLength(): number {
    const first = this.chunks[this.head];
    if (first !== undefined && first.length - this.headOffset >= LENGTH_BYTES) {
      return first.readUInt32BE(this.headOffset);
    }
    const four = Buffer.allocUnsafe(LENGTH_BYTES);
    this.copyOut(four, LENGTH_BYTES, false);
    return four.readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[this.head];
    if (first !== undefined && first.length - this.headOffset >= n) {
      const out = first.subarray(this.headOffset, this.headOffset + n);
      this.headOffset += n;
      this.buffered -= n;
      if (this.headOffset === first.length) {
        this.head++;
        this.headOffset = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, n, true);
    return out;
  }

  /** Copies the next n buffered bytes into out, consuming them when `consume` is set. */
  private copyOut(out: Buffer, n: number, consume: boolean): void {
    let written = 0;
    let index = this.head;
    let offset = this.headOffset;
    while (written < n) {
      const chunk = this.chunks[index];
      if (chunk === undefined) break;
      const count = Math.min(n - written, chunk.length - offset);
      chunk.copy(out, written, offset, offset + count);
      written += count;
      offset += count;
      if (offset === chunk.length) {
        index++;
        offset = 0;
      }
    }
    if (consume) {
      this.head = index;
      this.headOffset = offset;
      this.buffered -= n;
    }
  }

  private compact(): void {
    // Drop consumed chunks now and then rather than shifting the array on every frame.
    if (this.head > 32 || this.head === this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Discards everything buffered (after a fatal error). */
  reset(): void {
    this.chunks.length = 0;
    this.head = 0;
    this.headOffset = 0;
    this.buffered = 0;
    this.expected = -1;
  }
}
