// SPDX-License-Identifier: Apache-2.0
/**
 * Helpers of the reliability tests (test/integration/{faults,load,bad-input,secrets,audit}.test.ts):
 * a recorder of figures and checks that test/tools/reliability-report.ts renders into docs/reliability.md,
 * scrape drivers (open loop at a fixed rate, or one at a time), a counting proxy in front of the libvirt
 * socket, and a safety net that puts the lab back (libvirtd running, guests resumed) when a test dies.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { get } from 'node:http';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './exporter.ts';
import { parseExposition, type Family } from './exposition.ts';
import type { PortableExporter } from './portable-exporter.ts';

/** Where the tests write their results (ignored by git: the directory carries its own .gitignore). */
export const RESULTS_DIR = fileURLToPath(new URL('../../.reliability/', import.meta.url));

/** One figure of a result: a number (with its unit) or a short text. */
export interface Figure {
  readonly name: string;
  readonly value: number | string;
  readonly unit?: string;
}

/** One check of a result: what was required, whether it held, and what was seen. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** The machine and software a result was recorded on. */
export interface Environment {
  readonly node: string;
  readonly cpus: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly libvirt: string;
  readonly qemu: string;
  readonly revision: string;
  /** 1-minute load average when the scenario started and ended (other work on the machine). */
  readonly loadAverage?: string;
}

/** What a test writes to `.reliability/<id>.json`. */
export interface ResultFile {
  readonly id: string;
  readonly title: string;
  readonly group: string;
  readonly file: string;
  readonly description: string;
  readonly recordedAt: string;
  readonly durationSeconds: number;
  readonly passed: boolean;
  readonly figures: readonly Figure[];
  readonly checks: readonly Check[];
  readonly tables: readonly {
    readonly title: string;
    readonly head: readonly string[];
    readonly rows: readonly (readonly string[])[];
  }[];
  readonly environment: Environment;
}

function firstLine(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
      .split('\n')[0]!
      .trim();
  } catch {
    return 'unknown';
  }
}

function environment(loadAtStart: number): Environment {
  const cpu = cpus();
  const dirty =
    firstLine('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src']) === ''
      ? ''
      : ' (src modified)';
  return {
    node: process.version,
    cpus: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `Linux ${release()}`,
    libvirt: firstLine('libvirtd', ['--version']),
    qemu: firstLine('qemu-system-x86_64', ['--version']),
    revision: firstLine('git', ['rev-parse', '--short', 'HEAD']) + dirty,
    loadAverage: `${loadAtStart.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`,
  };
}

/**
 * Records the figures and checks of one reliability scenario. Checks are recorded, not thrown, so that
 * every figure is kept when one fails; {@link Recorder.finish} saves the file and then fails the test
 * with every check that did not hold.
 */
export class Recorder {
  readonly #figures: Figure[] = [];
  readonly #checks: Check[] = [];
  readonly #tables: ResultFile['tables'][number][] = [];
  readonly #started = performance.now();
  readonly #loadAtStart = loadavg()[0] ?? 0;

  constructor(
    readonly id: string,
    readonly title: string,
    readonly group: string,
    readonly file: string,
    readonly description: string,
  ) {}

  /** Records a figure. */
  figure(name: string, value: number | string, unit?: string): void {
    const v = typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
    this.#figures.push(unit === undefined ? { name, value: v } : { name, value: v, unit });
  }

  /** Records a check and returns whether it held. */
  check(name: string, ok: boolean, detail = ''): boolean {
    this.#checks.push({ name, ok, detail });
    return ok;
  }

  /** Records a small table (e.g. the bad inputs tried and what the exporter said). */
  table(title: string, head: readonly string[], rows: readonly (readonly string[])[]): void {
    this.#tables.push({ title, head, rows });
  }

  /** Whether every check so far held. */
  get passed(): boolean {
    return this.#checks.every((c) => c.ok);
  }

  /** Writes `.reliability/<id>.json`. */
  save(): void {
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(`${RESULTS_DIR}.gitignore`, '# written by the reliability tests\n*\n');
    const result: ResultFile = {
      id: this.id,
      title: this.title,
      group: this.group,
      file: this.file,
      description: this.description,
      recordedAt: new Date().toISOString(),
      durationSeconds: Math.round((performance.now() - this.#started) / 100) / 10,
      passed: this.passed && this.#checks.length > 0,
      figures: this.#figures,
      checks: this.#checks,
      tables: this.#tables,
      environment: environment(this.#loadAtStart),
    };
    writeFileSync(`${RESULTS_DIR}${this.id}.json`, `${JSON.stringify(result, null, 2)}\n`);
  }

  /** Saves the result, then throws listing every failed check (or when nothing was checked). */
  finish(): void {
    this.save();
    if (this.#checks.length === 0) throw new Error(`${this.id}: nothing was checked`);
    const failed = this.#checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      throw new Error(
        `${this.id}: ${failed.length} check(s) failed:\n${failed.map((c) => `  - ${c.name}: ${c.detail}`).join('\n')}`,
      );
    }
  }
}

/** Reads every result file (for the report script). */
export function readResult(path: string): ResultFile {
  return JSON.parse(readFileSync(path, 'utf8')) as ResultFile;
}

/** One scrape as a client saw it. */
export interface ScrapeResult {
  /** ms since the driver started (performance.now() based). */
  readonly start: number;
  readonly end: number;
  readonly status: number;
  /** Transport error (connection refused, reset, client timeout), if any. */
  readonly error?: string;
  readonly body: string;
  readonly families?: Map<string, Family>;
}

/** The value of the first sample of `name` whose labels include `labels`. */
export function sampleValue(
  f: Map<string, Family> | undefined,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return f?.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

/** The domains that have a `libvirt_domain_info_state` series. */
export function domainsOf(f: Map<string, Family> | undefined): string[] {
  return (f?.get('libvirt_domain_info_state')?.samples ?? []).map((s) => s.labels['domain'] ?? '');
}

/** Options of one scrape. */
export interface ScrapeOptions {
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** The client gives up after this long (a hung exporter shows as an error). Default 30 s. */
  readonly clientTimeoutMs?: number;
  /** Time origin of `start`/`end` (default 0: performance.now()). */
  readonly origin?: number;
  readonly signal?: AbortSignal;
}

/**
 * One HTTP GET on a connection of its own (node:http without an agent, `Connection: close`): no pooled
 * keep-alive socket outlives the request, so the exporter's open descriptors can be compared before and
 * after a run. Resolves with the status and body; rejects on transport errors and on `signal`.
 */
export function httpGet(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, headers: { connection: 'close', ...headers }, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Scrapes once; never throws (transport errors are returned). */
export async function scrapeOnce(baseUrl: string, o: ScrapeOptions = {}): Promise<ScrapeResult> {
  const origin = o.origin ?? 0;
  const path = o.path ?? '/metrics';
  const start = performance.now() - origin;
  const signal = AbortSignal.any([
    AbortSignal.timeout(o.clientTimeoutMs ?? 30_000),
    ...(o.signal ? [o.signal] : []),
  ]);
  try {
    const { status, body } = await httpGet(baseUrl + path, o.headers ?? {}, signal);
    const end = performance.now() - origin;
    if (status === 200 && path.startsWith('/metrics'))
      return { start, end, status, body, families: parseExposition(body) };
    return { start, end, status, body };
  } catch (err) {
    return { start, end: performance.now() - origin, status: 0, error: (err as Error).message, body: '' };
  }
}

/** Options of {@link driveScrapes}. */
export interface DriveOptions extends Omit<ScrapeOptions, 'origin'> {
  /** Scrapes started per second. */
  readonly ratePerSecond: number;
  /** How long to keep scraping. */
  readonly durationMs: number;
  /**
   * 'open': a scrape starts every 1/rate s whatever the others do (several may be in flight);
   * 'serial': one at a time, the next one at most 1/rate s after the previous one started.
   */
  readonly mode: 'open' | 'serial';
  /** Time origin shared with the caller's own timestamps. */
  readonly origin: number;
  /** Called with each result as it arrives (keep bodies small: the results array keeps everything). */
  readonly onResult?: (r: ScrapeResult) => void;
  /** Drop bodies and parsed families once onResult has seen them (long runs). */
  readonly keepBodies?: boolean;
}

/** Scrapes at a fixed rate for a while; returns every result in start order. */
export async function driveScrapes(baseUrl: string, o: DriveOptions): Promise<ScrapeResult[]> {
  const results: ScrapeResult[] = [];
  const pending: Promise<void>[] = [];
  const period = 1000 / o.ratePerSecond;
  const t0 = performance.now();
  const one = async (): Promise<void> => {
    const r = await scrapeOnce(baseUrl, { ...o, origin: o.origin });
    o.onResult?.(r);
    results.push(
      o.keepBodies === false
        ? {
            start: r.start,
            end: r.end,
            status: r.status,
            body: '',
            ...(r.error !== undefined ? { error: r.error } : {}),
          }
        : r,
    );
  };
  for (let i = 0; ; i++) {
    const due = t0 + i * period;
    if (due - t0 >= o.durationMs || o.signal?.aborted === true) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (o.mode === 'open') pending.push(one());
    else await one();
  }
  await Promise.all(pending);
  return results.sort((a, b) => a.start - b.start);
}

/** Percentile (nearest rank) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Resident memory (VmRSS) and open file descriptors of a process, from /proc. */
export function processFootprint(pid: number): { rssBytes: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  const fds = execFileSync('ls', [`/proc/${pid}/fd`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean).length;
  return { rssBytes: kib * 1024, fds };
}

/** libvirt RPC message types (remote_protocol: virNetMessageType). */
const CALL = 0;

/**
 * A transparent proxy in front of a libvirt unix socket that counts the RPC calls going through it, by
 * procedure number. The count comes from the wire, not from the exporter: a sound way to check how many
 * round trips a load of scrapes cost libvirtd. Keepalive PINGs are messages, not calls, and are not
 * counted.
 */
export class LibvirtCallCounter {
  readonly socketPath: string;
  readonly #upstream: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Calls by procedure number. */
  readonly calls = new Map<number, number>();
  connections = 0;

  private constructor(socketPath: string, upstream: string, server: Server) {
    this.socketPath = socketPath;
    this.#upstream = upstream;
    this.#server = server;
  }

  /** Listens on `socketPath` and forwards to `upstream` (the lab's read-only socket by default). */
  static async start(
    socketPath: string,
    upstream = '/var/run/libvirt/libvirt-sock-ro',
  ): Promise<LibvirtCallCounter> {
    const server = createServer();
    const counter = new LibvirtCallCounter(socketPath, upstream, server);
    server.on('connection', (client) => {
      counter.#relay(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    return counter;
  }

  /** Every call so far. */
  get total(): number {
    let n = 0;
    for (const v of this.calls.values()) n += v;
    return n;
  }

  #relay(client: Socket): void {
    this.connections += 1;
    const upstream = createConnection(this.#upstream);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // Frame boundaries: a 4-byte big-endian length (itself included), then prog, vers, proc, type, ...
    let header = Buffer.alloc(0);
    let skip = 0;
    client.on('data', (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - at);
          skip -= n;
          at += n;
          continue;
        }
        const need = 20 - header.length;
        const take = chunk.subarray(at, at + need);
        header = Buffer.concat([header, take]);
        at += take.length;
        if (header.length < 20) break;
        const len = header.readUInt32BE(0);
        const proc = header.readInt32BE(12);
        const type = header.readInt32BE(16);
        if (type === CALL) this.calls.set(proc, (this.calls.get(proc) ?? 0) + 1);
        skip = Math.max(0, len - 20);
        header = Buffer.alloc(0);
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Stops listening and closes every relayed connection. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) =>
      this.#server.close(() => {
        resolve();
      }),
    );
  }
}

/** libvirt procedure numbers the reports name (remote_protocol.x). */
export const PROC = {
  CONNECT_OPEN: 1,
  CONNECT_GET_TYPE: 3,
  CONNECT_GET_VERSION: 4,
  NODE_GET_INFO: 6,
  DOMAIN_GET_XML_DESC: 14,
  CONNECT_GET_HOSTNAME: 59,
  CONNECT_SUPPORTS_FEATURE: 60,
  AUTH_LIST: 66,
  STORAGE_POOL_GET_INFO: 87,
  CONNECT_GET_LIB_VERSION: 157,
  DOMAIN_GET_JOB_INFO: 163,
  CONNECT_LIST_ALL_DOMAINS: 273,
  CONNECT_LIST_ALL_STORAGE_POOLS: 281,
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 316,
  CONNECT_GET_ALL_DOMAIN_STATS: 344,
} as const;

/** `NAME (number)` for a procedure number. */
export function procName(n: number): string {
  const name = Object.entries(PROC).find(([, v]) => v === n)?.[0];
  return name === undefined ? String(n) : `${name} (${n})`;
}

const LAB = fileURLToPath(new URL('../lab/lab.sh', import.meta.url));

/**
 * Runs a lab.sh subcommand without blocking the event loop (test/helpers/lab.ts's lab() is synchronous,
 * which would stall the scrapers running beside it); resolves with its stdout.
 */
export function labAsync(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [LAB, ...args], { encoding: 'utf8', timeout: 600_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`lab.sh ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Puts the lab back when this process ends, whatever happened: libvirtd resumed (SIGCONT) and running,
 * the named guests resumed. Synchronous, so that it also runs from an 'exit' handler. Returns the
 * function, to call it from the tests' own `after` hooks too.
 */
export function labSafetyNet(guests: readonly string[] = []): () => void {
  const restore = (): void => {
    const run = (...args: string[]): void => {
      try {
        execFileSync('bash', [LAB, ...args], { stdio: 'ignore', timeout: 120_000 });
      } catch {
        // best effort: the next command may still put things right
      }
    };
    run('libvirtd-resume');
    for (const g of guests) run('guest-resume', g);
    run('libvirtd-start');
  };
  process.once('exit', restore);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      restore();
      process.exit(130);
    });
  }
  return restore;
}

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** An exporter started by {@link spawnExporter}. */
export interface SpawnedExporter {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything it printed so far. */
  output(): string;
  alive(): boolean;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** Sends a signal. */
  signal(sig: NodeJS.Signals): void;
}

/**
 * Starts src/main.ts on a free loopback port and waits for its "listening" log line (not for
 * /-/healthy, which basic auth may guard), optionally as another user: then the bundled exporter of
 * `runAs.exporter` (portable-exporter.ts; that user may not be able to reach the checkout), with a
 * temporary directory of its own as HOME and TMPDIR.
 */
export async function spawnExporter(
  args: readonly string[],
  o: { runAs?: { readonly uid: number; readonly exporter: PortableExporter } } = {},
): Promise<SpawnedExporter> {
  const port = await freePort();
  const { runAs } = o;
  let tmp: string | undefined;
  if (runAs !== undefined) {
    tmp = mkdtempSync(join(tmpdir(), 'exporter-uid-'));
    chmodSync(tmp, 0o777);
  }
  const exporterArgs = [`--web.listen-address=127.0.0.1:${port}`, '--log.format=json', ...args];
  const child =
    runAs === undefined
      ? spawn(process.execPath, ['--import', 'tsx', MAIN, ...exporterArgs], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(runAs.exporter.node, [runAs.exporter.script, ...exporterArgs], {
          stdio: ['ignore', 'pipe', 'pipe'],
          cwd: runAs.exporter.dir,
          uid: runAs.uid,
          gid: runAs.uid,
          env: { ...process.env, TMPDIR: tmp, HOME: tmp },
        });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const cleanup = (): void => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (!out.includes('"msg":"listening"')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      cleanup();
      throw new Error(`exporter did not listen (exit ${String(child.exitCode)}):\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    signal: (sig) => {
      child.kill(sig);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => {
          child.once('exit', () => {
            r();
          });
        });
        child.kill('SIGTERM');
        await exited;
      }
      cleanup();
      return child.exitCode;
    },
  };
}

/** The JSON log lines of an exporter's output with this `msg` (pino's `time` is epoch ms). */
export function logRecords(output: string, msg: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of output.split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a whole JSON line
    }
  }
  return out;
}

/** Sum of a numeric field over log records (optionally only those where `where` holds). */
export function sumField(
  records: readonly Record<string, unknown>[],
  field: string,
  where: (r: Record<string, unknown>) => boolean = () => true,
): number {
  return records.filter(where).reduce((n, r) => n + (typeof r[field] === 'number' ? r[field] : 0), 0);
}
