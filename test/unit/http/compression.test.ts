// SPDX-License-Identifier: Apache-2.0
// The metrics route's gzip: what Accept-Encoding accepts it, and the body encoded at the configured level.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32, gunzipSync } from 'node:zlib';
import { GZIP_THRESHOLD, acceptsGzip, gzipBody } from '../../../src/http/compression.ts';

test('Accept-Encoding: gzip, x-gzip or * with a quality above 0; absent, identity or q=0 is plain', () => {
  for (const h of [
    'gzip',
    'GZIP',
    'x-gzip',
    'deflate, gzip;q=0.5',
    'br;q=1, *;q=0.1',
    ' gzip ; q=1.0',
    ['br', 'gzip'],
  ])
    assert.equal(acceptsGzip(h), true, JSON.stringify(h));
  for (const h of [
    undefined,
    '',
    'identity',
    'br, deflate',
    'gzip;q=0',
    'gzip;q=0.000',
    '*;q=0',
    'gzip;q=0, *',
    'gzip;q=x',
  ])
    assert.equal(acceptsGzip(h), false, JSON.stringify(h));
});

test('the body is gzip-encoded at the level asked for; level 0 and small bodies stay plain', async () => {
  const body = Buffer.from(
    Array.from(
      { length: 2000 },
      (_, i) => `libvirt_domain_info_vcpu_current{domain="instance-${i}"} 2\n`,
    ).join(''),
  );
  const fast = await gzipBody(body, 1);
  const small = await gzipBody(body, 9);
  assert.ok(fast && small);
  assert.deepEqual(gunzipSync(fast), body);
  assert.deepEqual(gunzipSync(small), body);
  assert.ok(
    small.length < fast.length,
    `level 9 (${small.length} B) is smaller than level 1 (${fast.length} B)`,
  );
  assert.equal(await gzipBody(body, 0), undefined);
  assert.equal(await gzipBody(body.subarray(0, GZIP_THRESHOLD - 1), 6), undefined);
});

test('bodies in a row, and bodies at once, each come back as one whole gzip member of their own', async () => {
  const bodyOf = (n: number): Buffer =>
    Buffer.from(
      Array.from(
        { length: 500 + 300 * n },
        (_, i) => `libvirt_domain_block_read_bytes_total{dev="vd${n}",i="${i}"} ${i * n}\n`,
      ).join(''),
    );
  // One after the other: the kept engine, reset between bodies.
  for (let n = 0; n < 4; n++) {
    const body = bodyOf(n);
    const encoded = await gzipBody(body, 1);
    assert.ok(encoded);
    assert.deepEqual(gunzipSync(encoded), body, `body ${n} in a row`);
    // One gzip member of this body alone: its trailer is this body's CRC-32 and length.
    assert.equal(encoded.readUInt32LE(encoded.length - 8), crc32(body), `body ${n}: CRC-32`);
    assert.equal(encoded.readUInt32LE(encoded.length - 4), body.length, `body ${n}: length`);
  }
  // At once: the kept engine takes the first, one-off engines the others.
  const bodies = [0, 1, 2, 3, 4].map(bodyOf);
  const encoded = await Promise.all(bodies.map((b) => gzipBody(b, 1)));
  encoded.forEach((e, n) => {
    assert.ok(e);
    assert.deepEqual(gunzipSync(e), bodies[n], `body ${n} at once`);
  });
  // And the kept engine still works afterwards, at another level too.
  for (const level of [1, 6]) {
    const body = bodyOf(5);
    const e = await gzipBody(body, level);
    assert.ok(e);
    assert.deepEqual(gunzipSync(e), body, `level ${level} afterwards`);
  }
});

test('a body larger than one output chunk comes back whole', async () => {
  // Incompressible bytes: the encoding is larger than zlib's 128 KiB output chunk.
  const body = randomBytes(400 * 1024);
  const e = await gzipBody(body, 1);
  assert.ok(e && e.length > 128 * 1024);
  assert.deepEqual(gunzipSync(e), body);
  const again = await gzipBody(body, 1);
  assert.ok(again);
  assert.deepEqual(gunzipSync(again), body);
});
