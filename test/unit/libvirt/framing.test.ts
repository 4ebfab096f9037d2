// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';

import { MessageStatus, MessageType, REMOTE_PROGRAM } from '../../../src/libvirt/constants.ts';
import { XdrDecodeError } from '../../../src/libvirt/errors.ts';
import { FrameDecoder, FrameLengthError, decodeFrame, encodeFrame } from '../../../src/libvirt/framing.ts';
import { prng } from './prng.ts';

function frame(serial: number, payloadLength: number): Buffer {
  const payload = Buffer.alloc(payloadLength);
  for (let i = 0; i < payloadLength; i++) payload[i] = (serial * 31 + i) & 0xff;
  return encodeFrame(
    { prog: REMOTE_PROGRAM, vers: 1, proc: 344, type: MessageType.REPLY, serial, status: MessageStatus.OK },
    payload,
  );
}

describe('encodeFrame / decodeFrame', () => {
  test('header fields and length word', () => {
    const buf = encodeFrame(
      { prog: REMOTE_PROGRAM, vers: 1, proc: 66, type: MessageType.CALL, serial: 0xfffffffe, status: 0 },
      Buffer.from([1, 2, 3, 4]),
    );
    assert.equal(buf.readUInt32BE(0), 32);
    assert.equal(buf.length, 32);
    const f = decodeFrame(buf);
    assert.equal(f.prog, REMOTE_PROGRAM);
    assert.equal(f.vers, 1);
    assert.equal(f.proc, 66);
    assert.equal(f.type, MessageType.CALL);
    assert.equal(f.serial, 0xfffffffe);
    assert.equal(f.status, 0);
    assert.deepEqual([...f.payload], [1, 2, 3, 4]);
  });

  test('a frame shorter than a header is a decode error', () => {
    assert.throws(() => decodeFrame(Buffer.alloc(27)), XdrDecodeError);
  });
});

describe('FrameDecoder', () => {
  test('reassembles frames across arbitrary chunk splits', () => {
    const rand = prng(42);
    for (let round = 0; round < 200; round++) {
      const frames = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) =>
        frame(i + 1, Math.floor(rand() * 300)),
      );
      const stream = Buffer.concat(frames);
      const decoder = new FrameDecoder();
      const out: Buffer[] = [];
      let at = 0;
      while (at < stream.length) {
        // mostly tiny chunks (1..8 bytes), sometimes large ones
        const size = rand() < 0.8 ? 1 + Math.floor(rand() * 8) : 1 + Math.floor(rand() * 400);
        out.push(...decoder.push(stream.subarray(at, at + size)));
        at += size;
      }
      assert.equal(out.length, frames.length, `round ${round}`);
      out.forEach((f, i) => {
        assert.deepEqual(f, frames[i]);
      });
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  test('returns several frames from one chunk, without copying a frame inside one chunk', () => {
    const a = frame(1, 10);
    const b = frame(2, 0);
    const chunk = Buffer.concat([a, b, frame(3, 5).subarray(0, 6)]);
    const decoder = new FrameDecoder();
    const out = decoder.push(chunk);
    assert.equal(out.length, 2);
    assert.equal(out[0]?.buffer, chunk.buffer, 'a frame within one chunk is a view, not a copy');
    assert.equal(decoder.bufferedBytes, 6);
  });

  // Counted in bytes copied, not timed: a timed check fails on a loaded machine (issue 15 item 16).
  test('a large frame arriving in many small chunks is assembled in linear time', () => {
    const big = frame(7, 4 * 1024 * 1024);
    const decoder = new FrameDecoder();
    const copy = mock.method(Buffer.prototype as { copy: Buffer['copy'] }, 'copy');
    const concat = mock.method(Buffer, 'concat');
    let out: Buffer[] = [];
    try {
      for (let at = 0; at < big.length; at += 1024)
        out = out.concat(decoder.push(big.subarray(at, at + 1024)));
    } finally {
      copy.mock.restore();
      concat.mock.restore();
    }
    let copied = 0;
    for (const c of copy.mock.calls) copied += c.result ?? 0;
    for (const c of concat.mock.calls) copied += c.result?.length ?? 0;
    assert.equal(out.length, 1);
    assert.ok(out[0]?.equals(big));
    // 4096 chunks: a quadratic concatenation would copy ~8 GiB; linear assembly copies each byte once.
    assert.ok(copied >= big.length, `the frame is assembled by copying (${copied} bytes)`);
    assert.ok(copied <= 2 * big.length, `copied ${copied} bytes for a ${big.length}-byte frame`);
  });

  test('a length over the maximum is rejected as soon as the length word arrives', () => {
    const decoder = new FrameDecoder(1000);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1000 + 4 + 1);
    assert.throws(
      () => decoder.push(header),
      (err: unknown) =>
        err instanceof FrameLengthError && err.length === 1005 && /over the maximum/.test(err.message),
    );
    // exactly the maximum is fine
    const ok = new FrameDecoder(1000);
    assert.deepEqual(ok.push(frame(1, 1000 - 24)).length, 1);
  });

  test('a length shorter than a header is rejected', () => {
    const decoder = new FrameDecoder();
    assert.throws(() => decoder.push(Buffer.from([0, 0, 0, 12])), FrameLengthError);
  });

  test('reset discards buffered bytes', () => {
    const decoder = new FrameDecoder();
    decoder.push(frame(1, 100).subarray(0, 50));
    decoder.reset();
    assert.equal(decoder.bufferedBytes, 0);
    assert.equal(decoder.push(frame(2, 1)).length, 1);
  });
});
