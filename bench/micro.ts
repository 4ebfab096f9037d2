// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Micro-benchmark: decode a 1000-guest bulk stats reply and serialise the exposition, without libvirtd.
 *
 * The reply is synthesised from a real one: the CONNECT_GET_ALL_DOMAIN_STATS frame recorded from the lab
 * (test/fixtures/libvirt/recorded-frames.json, every stats group) is decoded, the records of the running
 * and paused core guests (whose XML test/fixtures/lab/inspection.json holds) are repeated under new names
 * and UUIDs with their 64-bit counters shifted, and the result is encoded back into one XDR frame. A
 * replaying libvirt API then serves that frame, cut into 64 KiB chunks as a Unix socket delivers it, to
 * the real inspector, collectors, prom-client exposition and Fastify route. Only libvirt's socket is missing:
 * the route is timed end to end over a real loopback socket, as Prometheus reaches it (an HTTP client in this
 * process reads the whole body, plain or gzip-encoded, without decoding it), not through Fastify's inject(),
 * whose light-my-request turns the body back into a string (14 % of that profile at 1000 guests).
 *
 *   node --import tsx bench/micro.ts [--guests 1000] [--iterations 30] [--json]
 *   node --import tsx bench/micro.ts --loop 40 --profile FILE   (CPU profile of 40 warm scrapes)
 */
// The V8 heap settings the exporter's entry point applies, so that the garbage collector works as in production.
import '../src/heap.ts';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Session } from 'node:inspector';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { COLLECTOR_NAMES, type CollectorName } from '../src/config/schema.ts';
import { createSelfMetrics } from '../src/http/self-metrics.ts';
import { LibvirtInspector } from '../src/inspector/libvirt-inspector.ts';
import { DomainStatsDecoder } from '../src/inspector/stats.ts';
import type { Inspection, Inspector } from '../src/inspector/types.ts';
import {
  MessageStatus,
  MessageType,
  Proc,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  RemoteLimits,
  TypedParamType,
} from '../src/libvirt/constants.ts';
import { FrameDecoder, decodeFrame, encodeFrame } from '../src/libvirt/framing.ts';
import type {
  Domain,
  DomainStatsRecord,
  DomainStatsSink,
  LibvirtClient,
  LibvirtClientEvents,
} from '../src/libvirt/index.ts';
import { LibvirtApi } from '../src/libvirt/api.ts';
import { decodeGetAllDomainStatsRet, readDomain, writeDomain } from '../src/libvirt/procedures.ts';
import { readGetAllDomainStatsRet } from '../src/libvirt/stats-reply.ts';
import { XdrReader, XdrWriter, type TypedParam } from '../src/libvirt/xdr.ts';
import { createLogger } from '../src/log/logger.ts';
import { renderResponse } from '../src/scrape/metric-sink.ts';
import { collectorRegistry as registry } from '../src/collectors/index.ts';
import { runScrape } from '../src/scrape/scraper.ts';
import { PHASES, type Phase, type Timing, targetPhaseSum } from './lib/results.ts';
import { summarize } from './lib/stats.ts';

const FRAMES = new URL('../test/fixtures/libvirt/recorded-frames.json', import.meta.url);
const LAB = new URL('../test/fixtures/lab/inspection.json', import.meta.url);
/** What one read() of a Unix socket returns at most in Node (the libuv read buffer). */
const CHUNK = 64 * 1024;

interface RecordedFrames {
  readonly frames: readonly { readonly name: string; readonly frame: string }[];
}
interface LabRecording {
  readonly xml: Readonly<Record<string, string>>;
}

/** The synthesised reply and everything needed to serve it. */
export interface SyntheticReply {
  /** The whole frame (length word, header, payload). */
  readonly frame: Buffer;
  readonly domains: readonly Domain[];
  /** Domain XML by UUID (the template guest's XML). */
  readonly xml: ReadonlyMap<string, string>;
  /** Recorded payloads of the host calls, by procedure. */
  readonly host: ReadonlyMap<number, Buffer>;
  /** Names of the recorded guests the synthetic ones copy. */
  readonly templates: readonly string[];
}

function recordedFrame(rec: RecordedFrames, name: string): Buffer {
  const f = rec.frames.find((x) => x.name === name);
  if (f === undefined) throw new Error(`recorded-frames.json has no frame "${name}"`);
  return decodeFrame(Buffer.from(f.frame, 'base64')).payload;
}

/** Shifts 64-bit counters so that no two guests serialise the same numbers. */
function shifted(p: TypedParam, i: number): TypedParam {
  if (p.type === TypedParamType.ULLONG && typeof p.value === 'bigint' && p.value > 0n) {
    return { ...p, value: p.value + BigInt(i) * 4099n };
  }
  return p;
}

/** Builds a `guests`-guest bulk stats reply from the recorded lab reply. */
export function synthesizeReply(guests: number): SyntheticReply {
  const frames = JSON.parse(readFileSync(FRAMES, 'utf8')) as RecordedFrames;
  const lab = JSON.parse(readFileSync(LAB, 'utf8')) as LabRecording;
  const recorded = decodeGetAllDomainStatsRet(recordedFrame(frames, 'get_all_domain_stats'));
  // Templates: active guests whose XML was recorded, so that devices in the stats match the XML.
  const templates = recorded.filter((r) => r.domain.id > 0 && lab.xml[r.domain.uuid] !== undefined);
  if (templates.length === 0) throw new Error('no active recorded guest with XML');
  const records: DomainStatsRecord[] = [];
  const xml = new Map<string, string>();
  for (let i = 0; i < guests; i++) {
    const t = templates[i % templates.length]!;
    const domain: Domain = {
      name: `bench-${String(i).padStart(4, '0')}`,
      uuid: `b0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      id: 1000 + i,
    };
    records.push({ domain, params: t.params.map((p) => shifted(p, i)) });
    xml.set(domain.uuid, lab.xml[t.domain.uuid]!);
  }
  const w = new XdrWriter(2 * 1024 * 1024);
  w.array(records, RemoteLimits.DOMAIN_LIST_MAX, (x, r) => {
    writeDomain(x, r.domain);
    x.array(r.params, RemoteLimits.CONNECT_GET_ALL_DOMAIN_STATS_MAX, (y, p) => y.typedParam(p));
  });
  const frame = encodeFrame(
    {
      prog: REMOTE_PROGRAM,
      vers: REMOTE_PROTOCOL_VERSION,
      proc: Proc.CONNECT_GET_ALL_DOMAIN_STATS,
      type: MessageType.REPLY,
      serial: 1,
      status: MessageStatus.OK,
    },
    w.finish(),
  );
  const host = new Map<number, Buffer>([
    [Proc.NODE_GET_INFO, recordedFrame(frames, 'node_get_info')],
    [Proc.CONNECT_GET_HOSTNAME, recordedFrame(frames, 'connect_get_hostname')],
    [Proc.CONNECT_GET_LIB_VERSION, recordedFrame(frames, 'connect_get_lib_version')],
    [Proc.CONNECT_GET_VERSION, new XdrWriter().u64(7002022n).finish()],
    [Proc.CONNECT_GET_TYPE, new XdrWriter().string('QEMU').finish()],
    // CONNECT_LIST_ALL_STORAGE_POOLS: no pools (an empty array, then the count).
    [281, new XdrWriter().u32(0).u32(0).finish()],
  ]);
  return {
    frame,
    domains: records.map((r) => r.domain),
    xml,
    host,
    templates: templates.map((t) => t.domain.name),
  };
}

/** Reassembles `frame` from socket-sized chunks, as the connection does, and returns its payload. */
export function reassemble(chunks: readonly Buffer[]): Buffer {
  const decoder = new FrameDecoder();
  let out: Buffer | undefined;
  for (const c of chunks) for (const raw of decoder.push(c)) out = raw;
  if (out === undefined) throw new Error('the chunks did not make a frame');
  return decodeFrame(out).payload;
}

/** A sink that keeps nothing: the XDR decode of the reply alone. */
const NO_SINK: DomainStatsSink<number> = { begin: () => undefined, param: () => undefined, end: () => 0 };

/** One record's sink calls, kept to replay them into the stats decoder alone. */
interface SinkCalls {
  readonly domain: Domain;
  readonly fields: string[];
  readonly values: (number | string | boolean)[];
  readonly exact: () => ReturnType<Parameters<DomainStatsSink<unknown>['end']>[0]>;
}

/** The sink calls of every record of a reply. */
function sinkCalls(payload: Buffer): SinkCalls[] {
  let domain: Domain | undefined;
  let fields: string[] = [];
  let values: (number | string | boolean)[] = [];
  return readGetAllDomainStatsRet<SinkCalls>(payload, {
    begin: (d) => {
      domain = d;
      fields = [];
      values = [];
    },
    param: (f, v) => {
      fields.push(f);
      values.push(v);
    },
    end: (exact) => ({ domain: domain!, fields, values, exact }),
  });
}

/** Replays the sink calls into the stats decoder (what it does while the inspector decodes the reply). */
function replayStats(calls: readonly SinkCalls[], decoder: DomainStatsDecoder): void {
  for (const c of calls) {
    decoder.begin(c.domain);
    for (let i = 0; i < c.fields.length; i++) decoder.param(c.fields[i]!, c.values[i]!);
    decoder.end(c.exact);
  }
}

/** Cuts a frame into the chunks a socket would deliver. */
export function chunk(frame: Buffer, size = CHUNK): Buffer[] {
  const out: Buffer[] = [];
  // NOTE: copies, as socket reads are distinct buffers; a view would let the decoder skip its copy.
  for (let o = 0; o < frame.length; o += size) out.push(Buffer.from(frame.subarray(o, o + size)));
  return out;
}

/**
 * The read-only libvirt API over the synthetic reply: each stats call reassembles and returns the frame's
 * payload, and the API's own decoders (LibvirtApi) turn it into records, as they do for the socket.
 */
class ReplayApi extends LibvirtApi<LibvirtClientEvents> {
  readonly #chunks: readonly Buffer[];
  readonly #reply: SyntheticReply;
  readonly #list: Buffer;
  readonly calls = new Map<number, number>();

  constructor(reply: SyntheticReply) {
    super();
    this.#reply = reply;
    this.#chunks = chunk(reply.frame);
    const w = new XdrWriter();
    w.array(reply.domains, RemoteLimits.DOMAIN_LIST_MAX, writeDomain).u32(reply.domains.length);
    this.#list = Buffer.from(w.finish());
  }

  call(proc: number, args?: Uint8Array): Promise<Buffer> {
    this.calls.set(proc, (this.calls.get(proc) ?? 0) + 1);
    switch (proc) {
      case Proc.CONNECT_LIST_ALL_DOMAINS:
        return Promise.resolve(this.#list);
      case Proc.CONNECT_GET_ALL_DOMAIN_STATS:
        return Promise.resolve(reassemble(this.#chunks));
      case Proc.DOMAIN_GET_XML_DESC: {
        const d = readDomain(new XdrReader(Buffer.from(args ?? new Uint8Array())));
        const xml = this.#reply.xml.get(d.uuid);
        if (xml === undefined) return Promise.reject(new Error(`no XML for ${d.name}`));
        return Promise.resolve(Buffer.from(new XdrWriter().string(xml).finish()));
      }
      default: {
        const payload = this.#reply.host.get(proc);
        if (payload === undefined) return Promise.reject(new Error(`procedure ${proc} not replayed`));
        return Promise.resolve(payload);
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The figures of one micro-benchmark run, in milliseconds unless named otherwise. */
export interface MicroResult {
  readonly guests: number;
  readonly templates: readonly string[];
  readonly frameBytes: number;
  readonly params: number;
  readonly iterations: number;
  /**
   * reassemble: frame from 64 KiB chunks; xdr: the reply's typed parameters (into a sink that keeps
   * nothing); stats: those parameters into DomainStats records (the inspector does both in one pass);
   * collectors: runScrape on a fixed inspection; exposition: the response body; e2e: GET /metrics over a
   * loopback socket with a warm XML cache (all of the above, Fastify, the HTTP client reading the body);
   * gzip: the same with Accept-Encoding: gzip (the body read encoded).
   */
  readonly phases: Readonly<Record<Phase, Timing>>;
  /** The first scrape: XML of every guest read and parsed. */
  readonly coldMs: number;
  readonly series: number;
  readonly bodyBytes: number;
  /** The gzip-encoded body as the route sends it, bytes. */
  readonly gzipBytes: number;
  /** How the route was reached: `socket` (a loopback HTTP request); older results timed Fastify's inject(). */
  readonly transport?: 'socket';
  readonly roundTripsWarm: number;
  /** CPU p50 of runScrape with that collector alone on the fixed inspection, ms (the scrape's own metrics included). */
  readonly collectorCpuMs?: Readonly<Record<string, number>>;
  /**
   * The benchmark runs the micro-benchmark in several processes and keeps the one whose phase sum
   * ({@link targetPhaseSum}) is the median: each process's phase sum, ms, in the order they ran.
   */
  readonly processSums?: readonly number[];
  /** The whole requests were timed in loops of their own, after the phases (older results interleaved them). */
  readonly separateLoops?: boolean;
}

/** Options of {@link runMicro}. */
export interface MicroOptions {
  readonly guests?: number;
  readonly iterations?: number;
  readonly warmup?: number;
  readonly collectors?: readonly CollectorName[];
  readonly signal?: AbortSignal;
}

interface Took {
  readonly wall: number;
  readonly cpu: number;
}

/** Wall and CPU time of `fn`. CPU time is what a loaded machine does not inflate. */
async function measure(fn: () => unknown): Promise<Took> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/** The real inspector, except that its inspection is fixed: to time the collectors alone. */
function fixedInspector(inspection: Inspection, real: LibvirtInspector): Inspector {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'inspectAll') return () => Promise.resolve(inspection);
      if (prop === 'listInstances') return () => Promise.resolve(inspection.instances);
      const v: unknown = Reflect.get(target, prop, target);
      // Methods run on the real object (its private fields do not exist on the proxy).
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The real application over the replayed reply. */
interface MicroApp {
  readonly reply: SyntheticReply;
  readonly inspector: LibvirtInspector;
  readonly app: Awaited<ReturnType<typeof buildApp>>;
  readonly url: string;
  readonly config: ReturnType<typeof loadConfig>;
  readonly self: ReturnType<typeof createSelfMetrics>;
  readonly log: ReturnType<typeof createLogger>;
  readonly collectors: readonly CollectorName[];
  /** GET `url` over the loopback socket: status, headers and the raw body (gzip left encoded). */
  get(gzip: boolean): Promise<HttpAnswer>;
  /**
   * The same GET made by a client in another process ({@link RemoteClient}): what this process spends is the
   * server's side of the scrape only, as when Prometheus scrapes it.
   */
  remoteGet(gzip: boolean): Promise<RemoteAnswer>;
  close(): Promise<void>;
}

/** What the client process read: status, encoding and the body's length (the body stays there). */
interface RemoteAnswer {
  readonly status: number;
  readonly encoding: string | undefined;
  readonly bytes: number;
}

/**
 * The HTTP client of the timed end-to-end phases, as plain JavaScript for `node -e`: one kept-alive
 * connection, each answer read whole and counted, its length sent back over the IPC channel.
 */
const CLIENT_SOURCE = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
process.on('message', (m) => {
  const headers = { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' };
  if (m.gzip) headers['accept-encoding'] = 'gzip';
  const req = http.request({ agent, host: '127.0.0.1', port: m.port, path: m.path, headers }, (res) => {
    let bytes = 0;
    res.on('data', (c) => { bytes += c.length; });
    res.on('end', () => process.send({ status: res.statusCode, encoding: res.headers['content-encoding'], bytes }));
  });
  req.on('error', (e) => process.send({ error: String(e) }));
  req.end();
});
process.on('disconnect', () => process.exit(0));
`;

/**
 * A client process for the timed requests. NOTE: an in-process client's socket reads, HTTP parsing and
 * the 6 MB of body chunks it holds counted as this process's CPU and garbage, which the collector then
 * charged to whichever phase ran next (the exposition phase read about 50 ms instead of 15).
 */
class RemoteClient {
  readonly #child: ChildProcess;
  #pending: ((m: RemoteAnswer | { error: string }) => void) | undefined;

  constructor(
    private readonly port: number,
    private readonly path: string,
  ) {
    this.#child = spawn(process.execPath, ['-e', CLIENT_SOURCE], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (m: RemoteAnswer | { error: string }) => {
      const done = this.#pending;
      this.#pending = undefined;
      done?.(m);
    });
  }

  get(gzip: boolean): Promise<RemoteAnswer> {
    return new Promise((resolve, reject) => {
      if (this.#pending !== undefined) throw new Error('one request at a time');
      this.#pending = (m) => {
        if ('error' in m) reject(new Error(m.error));
        else resolve(m);
      };
      this.#child.send({ port: this.port, path: this.path, gzip });
    });
  }

  close(): void {
    this.#child.disconnect();
  }
}

/** One answer of the route as read off the socket. */
interface HttpAnswer {
  readonly status: number;
  readonly encoding: string | undefined;
  readonly body: Buffer;
}

/**
 * A GET over a kept-alive loopback connection, the body read whole and left as sent (the client decodes
 * nothing: its CPU, in this process, is the socket reads and the HTTP parser of the answer).
 */
function httpGet(agent: Agent, port: number, path: string, gzip: boolean): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path,
        headers: {
          accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1',
          ...(gzip ? { 'accept-encoding': 'gzip' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const encoding = res.headers['content-encoding'];
          resolve({ status: res.statusCode ?? 0, encoding, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function createMicroApp(guests: number, names?: readonly CollectorName[]): Promise<MicroApp> {
  const reply = synthesizeReply(guests);
  const api = new ReplayApi(reply);
  // NOTE: one shard, so that the whole reply is one frame as in the brief; the cast is the usual seam for
  // a client stand-in (the inspector only calls the LibvirtApi methods, on() and close()).
  const inspector = new LibvirtInspector({ client: api as unknown as LibvirtClient, maxShards: 1 });
  const config = loadConfig(undefined, {});
  const log = createLogger('error');
  const self = createSelfMetrics();
  const app = await buildApp({ config, inspector, logger: log, self });
  const collectors = names ?? COLLECTOR_NAMES.filter((n) => config.collectors[n].enabled);
  const url = `${config.web.telemetry_path}?${collectors.map((c) => `collect[]=${c}`).join('&')}`;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  // One connection kept open, as Prometheus keeps its scrape connection.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const remote = new RemoteClient(port, url);
  return {
    reply,
    inspector,
    app,
    url,
    config,
    self,
    log,
    collectors,
    get: (gzip) => httpGet(agent, port, url, gzip),
    remoteGet: (gzip) => remote.get(gzip),
    close: async () => {
      remote.close();
      agent.destroy();
      await app.close();
      await inspector.close();
    },
  };
}

/** Runs the micro-benchmark. */
export async function runMicro(options: MicroOptions = {}): Promise<MicroResult> {
  const guests = options.guests ?? 1000;
  const iterations = options.iterations ?? 30;
  const warmup = options.warmup ?? 5;
  const signal = options.signal;
  const micro = await createMicroApp(guests, options.collectors);
  const { reply, inspector, config, self, log, collectors } = micro;
  const chunks = chunk(reply.frame);
  try {
    const t0 = performance.now();
    const first = await micro.get(false);
    const coldMs = performance.now() - t0;
    if (first.status !== 200)
      throw new Error(`GET /metrics: ${first.status} ${first.body.toString().slice(0, 200)}`);

    const params = decodeGetAllDomainStatsRet(reassemble(chunks)).reduce((n, r) => n + r.params.length, 0);
    const inspection = await inspector.inspectAll({});
    const fixed = fixedInspector(inspection, inspector);
    const decoder = new DomainStatsDecoder();
    const calls = sinkCalls(reassemble(chunks));
    const samples = Object.fromEntries(PHASES.map((p) => [p, [] as Took[]])) as Record<Phase, Took[]>;
    // NOTE: the phases of one scrape in one loop, and the whole requests in loops of their own after it.
    // When each round also made two whole requests, the garbage of three scrapes was collected inside the
    // timed phases of one (the launchers' --single-threaded runs the collector on the main thread, in
    // whatever phase needs it), so each phase paid for the requests beside it.
    for (let i = 0; i < warmup + iterations; i++) {
      signal?.throwIfAborted();
      let payload: Buffer = Buffer.alloc(0);
      let sink: Awaited<ReturnType<typeof runScrape>> | undefined;
      const took = {
        reassemble: await measure(() => (payload = reassemble(chunks))),
        xdr: await measure(() => readGetAllDomainStatsRet(payload, NO_SINK)),
        stats: await measure(() => {
          replayStats(calls, decoder);
        }),
        collectors: await measure(async () => {
          sink = await runScrape({
            inspector: fixed,
            config,
            log,
            registry,
            collectors,
            signal: AbortSignal.timeout(30_000),
          });
        }),
        // What src/http/metrics-route.ts sends: the exporter's own metrics and the scrape's.
        exposition: await measure(() => renderResponse(self.registry, sink!, 'prometheus')),
      };
      if (i >= warmup) for (const [p, t] of Object.entries(took)) samples[p as Phase].push(t);
    }
    for (const gzip of [false, true]) {
      for (let i = 0; i < warmup + iterations; i++) {
        signal?.throwIfAborted();
        const t = await measure(async () => {
          const r = await micro.remoteGet(gzip);
          if (r.status !== 200) throw new Error(`GET /metrics: ${r.status}`);
          if (gzip && r.encoding !== 'gzip')
            throw new Error(`GET /metrics with gzip: ${r.encoding ?? 'not encoded'}`);
        });
        if (i >= warmup) samples[gzip ? 'gzip' : 'e2e'].push(t);
      }
    }
    // The bodies themselves, read here once more after the timed rounds (a warm scrape too).
    const body = (await micro.get(false)).body;
    const rt = /^libvirt_scrape_libvirt_round_trips (\d+)$/m.exec(body.toString('latin1'));
    const roundTripsWarm = rt ? Number(rt[1]) : Number.NaN;
    const gzipped = (await micro.get(true)).body;
    // Each collector alone (the exporter's own libvirt_scrape_collector_duration_seconds cannot tell them
    // apart: collectors run inside one Promise.all, and each one's clock also runs through the others).
    const collectorCpuMs: Record<string, number> = {};
    for (const c of collectors) {
      const xs: number[] = [];
      for (let i = 0; i < 3 + Math.max(5, Math.floor(iterations / 3)); i++) {
        const t = await measure(() =>
          runScrape({
            inspector: fixed,
            config,
            log,
            registry,
            collectors: [c],
            signal: AbortSignal.timeout(30_000),
          }),
        );
        if (i >= 3) xs.push(t.cpu);
      }
      collectorCpuMs[c] = summarize(xs).p50;
    }
    // The encoded body is what the plain one says (outside the timing: Prometheus decodes it, not us).
    const lines = (t: string): number => t.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    const text = body.toString('utf8');
    if (lines(gunzipSync(gzipped).toString('utf8')) !== lines(text))
      throw new Error('the gzip body does not hold the series of the plain one');
    const timing = (xs: readonly Took[]): Timing => ({
      wall: summarize(xs.map((x) => x.wall)),
      cpu: summarize(xs.map((x) => x.cpu)),
    });
    return {
      guests,
      templates: reply.templates,
      frameBytes: reply.frame.length,
      params,
      iterations,
      phases: Object.fromEntries(PHASES.map((p) => [p, timing(samples[p])])) as Record<Phase, Timing>,
      coldMs,
      series: lines(text),
      bodyBytes: body.length,
      gzipBytes: gzipped.length,
      roundTripsWarm,
      collectorCpuMs,
      transport: 'socket',
      separateLoops: true,
    };
  } finally {
    await micro.close();
  }
}

/** Posts one command to an inspector session. */
function post(session: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session.post(method, (err, result) => {
      if (err) reject(err);
      else resolve(result);
    });
  });
}

/**
 * Scrapes the replayed guests `n` times after a warm-up and nothing else, over the loopback socket with gzip
 * accepted, as Prometheus does, from a client in another process (this process's CPU is the server's). With `profile`, V8's CPU profiler
 * (what `--cpu-prof` runs) records only these scrapes, and the profile is written to that file.
 */
export async function loopMicro(
  guests: number,
  n: number,
  profile?: string,
): Promise<{ loopMsPerScrape: number; loopCpuMsPerScrape: number }> {
  const m = await createMicroApp(guests);
  const session = new Session();
  try {
    // As Prometheus asks: gzip accepted.
    const get = async (): Promise<void> => {
      const res = await m.remoteGet(true);
      if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
    };
    // The first scrape reads and parses every guest's XML; the next ones let V8 optimise.
    for (let i = 0; i < 5; i++) await get();
    if (profile !== undefined) {
      session.connect();
      await post(session, 'Profiler.enable');
      await post(session, 'Profiler.start');
    }
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await get();
    const ms = (performance.now() - t0) / n;
    const c = process.cpuUsage(c0);
    if (profile !== undefined) {
      const { profile: p } = (await post(session, 'Profiler.stop')) as { profile: unknown };
      writeFileSync(profile, JSON.stringify(p));
    }
    return { loopMsPerScrape: ms, loopCpuMsPerScrape: (c.user + c.system) / 1000 / n };
  } finally {
    if (profile !== undefined) session.disconnect();
    await m.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      guests: { type: 'string', default: '1000' },
      iterations: { type: 'string', default: '30' },
      json: { type: 'boolean', default: false },
      loop: { type: 'string' },
      profile: { type: 'string' },
    },
  });
  if (values.loop !== undefined) {
    console.log(JSON.stringify(await loopMicro(Number(values.guests), Number(values.loop), values.profile)));
    return;
  }
  const r = await runMicro({ guests: Number(values.guests), iterations: Number(values.iterations) });
  if (values.json) {
    console.log(JSON.stringify(r, null, 1));
    return;
  }
  const row = (name: string, t: Timing): string =>
    `${name.padEnd(28)} CPU p50 ${t.cpu.p50.toFixed(1).padStart(7)} ms  p90 ${t.cpu.p90.toFixed(1).padStart(7)} ms   wall p50 ${t.wall.p50.toFixed(1).padStart(7)} ms`;
  console.log(
    `${r.guests} guests, frame ${(r.frameBytes / 1024).toFixed(0)} KiB, ${r.params} typed params, ${r.series} series, body ${(r.bodyBytes / 1024).toFixed(0)} KiB (gzip ${(r.gzipBytes / 1024).toFixed(0)} KiB)`,
  );
  for (const p of PHASES) console.log(row(p, r.phases[p]));
  const colls = Object.entries(r.collectorCpuMs ?? {}).map(([c, ms]) => `${c} ${ms.toFixed(1)}`);
  console.log(`each collector alone, CPU p50 (ms): ${colls.join(', ')}`);
  console.log(`cold first scrape ${r.coldMs.toFixed(0)} ms; warm round trips ${r.roundTripsWarm}`);
  console.log(
    `decode + collectors + exposition (issue 16's target): ${targetPhaseSum(r.phases).toFixed(1)} ms`,
  );
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await main();
