// SPDX-License-Identifier: Apache-2.0
// The metrics route's gzip: what Accept-Encoding accepts it, and the body encoded at the configured level.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
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
