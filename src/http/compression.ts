// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The gzip encoding of the metrics body: whether the request accepts it, and the body encoded in one call
 * at the configured level (`web.compression_level`).
 *
 * NOTE: the metrics route encodes its own body instead of leaving it to @fastify/compress (which still
 * encodes the other routes): the plugin pipes a body this large (above its 8 KiB synchronous bound on a
 * 2-core machine) through a stream at zlib's default level 6, and the response goes out chunked. At 50
 * guests (a 325 KiB body) that was 2.7 ms of CPU against 0.8 ms for one `zlib.gzip()` call at level 1 with
 * 128 KiB output chunks, for 29 KiB instead of 24 KiB on the wire (measured on the lab's exposition).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** Bodies smaller than this go out as they are (the plugin's threshold: gzip saves nothing there). */
export const GZIP_THRESHOLD = 1024;

/**
 * zlib's output chunk: large enough that a 1000-guest body (about 550 KiB encoded at level 1) comes back in
 * a few chunks, each a round trip from libuv's thread pool (16 KiB, zlib's default, cost 50 % more CPU).
 */
const CHUNK_SIZE = 128 * 1024;

/** The quality value of one `Accept-Encoding` element (`gzip;q=0.5` → 0.5; absent → 1). */
function quality(params: readonly string[]): number {
  for (const p of params) {
    const [k, v] = p.split('=', 2).map((x) => x.trim());
    if (k?.toLowerCase() === 'q') {
      const q = Number(v);
      return Number.isFinite(q) ? q : 0;
    }
  }
  return 1;
}

/**
 * Whether an `Accept-Encoding` header accepts gzip (RFC 9110 §12.5.3): `gzip` or its alias `x-gzip`
 * with a quality above 0, or `*` above 0 when gzip is not named. An absent header accepts nothing
 * (the body goes out as it is, as @fastify/compress does).
 * NOTE: written here rather than taken from @fastify/accept-negotiator (what @fastify/compress uses, and
 * installed with it): checked against the cases of test/unit/http/compression.test.ts, it matches coding
 * names case-sensitively (`GZIP` is refused) and lets `*` override an explicit `gzip;q=0`, both against
 * RFC 9110.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  let named: number | undefined;
  let any: number | undefined;
  for (const element of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [coding = '', ...params] = element.split(';');
    const name = coding.trim().toLowerCase();
    if (name === 'gzip' || name === 'x-gzip') named = Math.max(named ?? 0, quality(params));
    else if (name === '*') any = quality(params);
  }
  return (named ?? any ?? 0) > 0;
}

/**
 * `body` gzip-encoded at `level` (1–9), in libuv's thread pool (a 1000-guest body would otherwise hold
 * the event loop for tens of milliseconds); `undefined` when it goes out as it is: level 0, or a body
 * under {@link GZIP_THRESHOLD}.
 */
export async function gzipBody(body: Buffer, level: number): Promise<Buffer | undefined> {
  if (level === 0 || body.length < GZIP_THRESHOLD) return undefined;
  return gzipAsync(body, { level, chunkSize: CHUNK_SIZE });
}
