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
import { type Gzip, type ZlibReset, constants, createGzip, gzip } from 'node:zlib';

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
 * One deflate engine kept from one body to the next: each body is written, finished as a whole gzip
 * member (`flush(Z_FINISH)`) and the engine reset for the next (`reset()`, zlib's `deflateReset`).
 *
 * NOTE: why not `zlib.gzip()` per body: each call makes a new engine whose native handle V8 can only
 * free in a full (mark-compact) collection, and the handle keeps its stream, the stream its 128 KiB output
 * buffer and the body it was given. So about 450 KiB of buffers per scrape (a 325 KiB body at 50 guests)
 * outlived the scrape until the next mark-compact, which they brought forward (measured on the lab with the
 * runtime's `nodejs_external_memory_bytes` at each scrape: +500 KiB per gzip-encoded scrape, +16 KiB
 * per plain one). A kept engine is allocated once: its deflate state (about 256 KiB by zlib's formula for the
 * default window and memLevel, not measured) and its 128 KiB output buffer stay.
 */
class ReusedGzip {
  // NOTE: @types/node gives `reset()` to the deflate and inflate classes only; Node.js defines it for every
  // zlib stream (its ZlibBase), and for gzip it resets the deflate state, header and trailer included
  // (test/unit/http/compression.test.ts checks each body's trailer).
  readonly #engine: Gzip & ZlibReset;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #pending: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  /** An engine that failed is never used again. */
  #failed = false;

  constructor(level: number) {
    this.#engine = createGzip({ level, chunkSize: CHUNK_SIZE }) as Gzip & ZlibReset;
    this.#engine.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#bytes += chunk.length;
    });
    this.#engine.on('error', (err: Error) => {
      this.#failed = true;
      this.#pending?.reject(err);
      this.#pending = undefined;
    });
  }

  /** Whether {@link encode} may be called now (one body at a time). */
  get idle(): boolean {
    return this.#pending === undefined && !this.#failed;
  }

  /** Whether the engine failed (it is then replaced). */
  get failed(): boolean {
    return this.#failed;
  }

  /** `body` as one gzip member. Only when {@link idle}. */
  encode(body: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending = { resolve, reject };
      const engine = this.#engine;
      engine.write(body);
      engine.flush(constants.Z_FINISH, () => {
        const pending = this.#pending;
        if (pending === undefined || this.#failed) return;
        const chunks = this.#chunks;
        // A lone chunk is a view of the engine's output buffer, which zlib never writes over (it takes a
        // new one once that one is full).
        const out =
          chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, this.#bytes);
        this.#chunks = [];
        this.#bytes = 0;
        engine.reset();
        this.#pending = undefined;
        pending.resolve(out);
      });
    });
  }
}

/** The kept engines, by level (a reload may change `web.compression_level`). */
const ENGINES = new Map<number, ReusedGzip>();

/**
 * `body` gzip-encoded at `level` (1–9), in libuv's thread pool (a 1000-guest body would otherwise hold
 * the event loop for tens of milliseconds); `undefined` when it goes out as it is: level 0, or a body
 * under {@link GZIP_THRESHOLD}. The level's kept engine encodes it when idle (the usual case: one
 * Prometheus, and scrapes that arrive together share one body), else a one-off engine does.
 */
export async function gzipBody(body: Buffer, level: number): Promise<Buffer | undefined> {
  if (level === 0 || body.length < GZIP_THRESHOLD) return undefined;
  let engine = ENGINES.get(level);
  if (engine === undefined || engine.failed) {
    engine = new ReusedGzip(level);
    ENGINES.set(level, engine);
  }
  return engine.idle ? engine.encode(body) : gzipAsync(body, { level, chunkSize: CHUNK_SIZE });
}
