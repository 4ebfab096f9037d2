// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The things the benchmark measures: this exporter (compiled, as it runs in production), Debian's
 * prometheus-libvirt-exporter (kumina 0.2.0, the Go peer) and `virsh -r domstats`. Each process is
 * started on a free loopback port and stopped by its pid.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
// The shipped environment and Node.js options, shared with the tests that run the exporter as it ships.
import { SHIPPED_ENV, SHIPPED_NODE_ARGS } from '../../test/helpers/shipped.ts';
import { rssKiB } from './proc.ts';

export { SHIPPED_ENV, SHIPPED_NODE_ARGS };

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Where the exporter is compiled for the benchmark: a cache under node_modules, which git and the linters
 * ignore, and from where the compiled files still resolve the project's dependencies.
 * `LIBVIRT_EXPORTER_BENCH_CACHE` names another parent directory (one under the checkout, such as
 * `.scratch`, so that the dependencies still resolve): git worktrees that share one node_modules through
 * a symbolic link would otherwise compile into the same directory.
 */
export const DIST = `${process.env['LIBVIRT_EXPORTER_BENCH_CACHE'] ?? `${ROOT}node_modules/.cache`}/libvirt-exporter-bench/`;
/** The Go peer's binary, from the Debian package. */
export const PEER_BINARY = '/usr/bin/prometheus-libvirt-exporter';
/** The libvirt URI every target reads. */
export const URI = 'qemu:///system';

/** What Prometheus sends: the text format, gzip accepted (fetch decompresses). */
const SCRAPE_HEADERS = {
  accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1',
  'accept-encoding': 'gzip',
  'x-prometheus-scrape-timeout-seconds': '10',
};

/** Compiles src/ into the cache's src/ with the project's build configuration (what `npm run build` emits). */
export async function buildExporter(options: { signal?: AbortSignal } = {}): Promise<string> {
  mkdirSync(`${DIST}src`, { recursive: true });
  // NOTE: src/version.ts reads ../package.json relative to itself, hence the copy next to src/.
  copyFileSync(`${ROOT}package.json`, `${DIST}package.json`);
  try {
    await run(
      process.execPath,
      [
        `${ROOT}node_modules/typescript/bin/tsc`,
        '-p',
        `${ROOT}tsconfig.build.json`,
        '--outDir',
        `${DIST}src`,
      ],
      { cwd: ROOT, signal: options.signal, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    // tsc emits JavaScript even when other people's work in progress has type errors; only a missing
    // entry point is fatal, and the caller finds that out when the process does not start.
    const out = (err as { stdout?: string }).stdout ?? '';
    process.stderr.write(`bench: tsc reported errors (the build is used anyway):\n${out.slice(0, 2000)}\n`);
  }
  return `${DIST}src/main.js`;
}

/** Where the benchmark builds the single-file bundle (scripts/bundle.ts) from this checkout. */
export const BUNDLE = `${DIST}bundle/libvirt-exporter.cjs`;

/** Builds the single-file bundle of this checkout into {@link BUNDLE}, as the packages and image ship it. */
export async function buildBundle(options: { signal?: AbortSignal } = {}): Promise<string> {
  await run(process.execPath, ['--import', 'tsx', `${ROOT}scripts/bundle.ts`, `${DIST}bundle`], {
    cwd: ROOT,
    signal: options.signal,
    maxBuffer: 16 * 1024 * 1024,
  });
  return BUNDLE;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => {
        resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
      });
    });
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The RSS of a process that has just opened its port, once its start-up work is over: sampled every
 * 250 ms until two samples in a row are within 256 KiB of each other (at most 5 s), before any scrape.
 * NOTE: sampled at once, the figure caught start-up still running (libvirt connecting, the event
 * subscription, compiles): the 50-guest runs stored since 7834ab0 read it between 87 and 106 MiB.
 */
export async function settledRssKiB(pid: number, signal?: AbortSignal): Promise<number> {
  let last = rssKiB(pid);
  for (let waited = 0; waited < 5000; waited += 250) {
    await sleep(250, signal);
    const now = rssKiB(pid);
    if (Math.abs(now - last) < 256) return now;
    last = now;
  }
  return last;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}

/** A process serving /metrics on a loopback port. */
export interface HttpTarget {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Its stdout and stderr so far (the last 64 KiB). */
  output(): string;
  /** SIGTERM to its pid, SIGKILL after 5 s. */
  stop(): Promise<void>;
}

async function startHttp(
  name: string,
  argv: readonly string[],
  port: number,
  path: string,
  options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<HttpTarget> {
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-65536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${cmd ?? ''}`);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
    });
    process.kill(pid, 'SIGTERM');
    const t = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(t);
  };
  const deadline = Date.now() + 30_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not listen within 30 s:\n${out}`);
    }
    await sleep(100, options.signal);
  }
  return { name, pid, url: `http://127.0.0.1:${port}${path}`, child, output: () => out, stop };
}

/**
 * Starts this exporter (compiled `main`, or the bundle) on a free loopback port, with the shipped Node.js
 * options ({@link SHIPPED_NODE_ARGS}, then `options.nodeArgs`) in the shipped environment
 * ({@link SHIPPED_ENV}) with `options.env` on top (an undefined value removes a variable).
 */
export async function startOurs(
  name: string,
  main: string,
  shards: number,
  dir: string,
  options: {
    signal?: AbortSignal;
    nodeArgs?: readonly string[];
    node?: string;
    env?: Readonly<Record<string, string | undefined>>;
  } = {},
): Promise<HttpTarget> {
  const port = await freePort();
  const config = `${dir}/${name}.yaml`;
  writeFileSync(
    config,
    `# written by bench/run.ts\nlibvirt:\n  uri: ${URI}\n  stats_shards: ${shards}\nlog:\n  level: warn\n`,
  );
  return startHttp(
    name,
    [
      options.node ?? process.execPath,
      ...SHIPPED_NODE_ARGS,
      ...(options.nodeArgs ?? []),
      main,
      `--config.file=${config}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    port,
    '/metrics',
    { ...options, env: { ...process.env, ...SHIPPED_ENV, ...options.env } },
  );
}

/** Starts the Go peer on a free loopback port (never its packaged service). */
export async function startPeer(options: { signal?: AbortSignal } = {}): Promise<HttpTarget> {
  const port = await freePort();
  return startHttp(
    'peer',
    [PEER_BINARY, `--web.listen-address=127.0.0.1:${port}`, `--libvirt.uri=${URI}`],
    port,
    '/metrics',
    options,
  );
}

/** One sample: how long it took, whether it worked, and what it returned. */
export interface Sample {
  readonly ok: boolean;
  readonly ms: number;
  readonly body: string;
  readonly error?: string;
}

/** One scrape as Prometheus does it: the whole body read, gzip decoded. */
export async function scrape(
  url: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Sample> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs ?? 30_000),
    ...(options.signal ? [options.signal] : []),
  ]);
  const t0 = performance.now();
  try {
    const res = await fetch(url, { headers: SCRAPE_HEADERS, signal });
    const body = await res.text();
    const ms = performance.now() - t0;
    if (!res.ok) return { ok: false, ms, body, error: `HTTP ${res.status}` };
    return { ok: true, ms, body };
  } catch (err) {
    options.signal?.throwIfAborted();
    return { ok: false, ms: performance.now() - t0, body: '', error: errorText(err) };
  }
}

/**
 * An error's message with its causes: fetch() says only "fetch failed" and keeps what happened (a refused
 * or reset connection, a closed socket) in `cause`.
 */
export function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message);
  }
  return parts.length > 0 ? parts.join(': ') : String(err);
}

/** `virsh -r domstats` with every group: libvirtd's own time for the call (virsh --timing) and the wall time. */
export interface VirshSample extends Sample {
  /** The command's time as virsh reports it (after connecting; what libvirtd and QEMU take). */
  readonly commandMs: number;
  readonly pid: number;
}

/** Runs `virsh -r -t domstats [args…]` once (args: stats group flags, --nowait, domain names). */
export async function virshDomstats(
  args: readonly string[] = [],
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<VirshSample> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn('virsh', ['-r', '-t', '-c', URI, 'domstats', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const chunks: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      resolve({
        ok: false,
        ms: performance.now() - t0,
        commandMs: Number.NaN,
        body: '',
        error: e.message,
        pid: 0,
      });
    });
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      const body = Buffer.concat(chunks).toString();
      const m = /\(Time: ([\d.]+) ms\)/.exec(body);
      const commandMs = m ? Number(m[1]) : Number.NaN;
      const ok = code === 0 && m !== null;
      resolve({
        ok,
        ms,
        commandMs,
        body,
        pid: child.pid ?? 0,
        ...(ok ? {} : { error: err.trim() || `exit ${code ?? 'signal'}` }),
      });
    });
  });
}

/** Samples (value lines) in an exposition. */
export function seriesCount(body: string, prefix = ''): number {
  let n = 0;
  for (const line of body.split('\n'))
    if (line !== '' && !line.startsWith('#') && line.startsWith(prefix)) n++;
  return n;
}

/** The value of an unlabelled sample in an exposition, or NaN. */
export function sampleValue(body: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{\\})? (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : Number.NaN;
}

/** Versions of the things measured. */
export async function versions(options: { signal?: AbortSignal } = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ask = async (
    key: string,
    cmd: string,
    args: string[],
    pick: (s: string) => string,
  ): Promise<void> => {
    try {
      const { stdout, stderr } = await run(cmd, args, { signal: options.signal, encoding: 'utf8' });
      out[key] = pick(`${stdout}${stderr}`).trim();
    } catch {
      out[key] = 'unknown';
    }
  };
  await Promise.all([
    ask('libvirt', 'virsh', ['-r', '-c', URI, 'version', '--daemon'], (s) => {
      const m = /Running against daemon: (.*)/.exec(s);
      return m?.[1] ?? s;
    }),
    ask('qemu', 'qemu-system-x86_64', ['--version'], (s) => s.split('\n')[0] ?? s),
    ask('peer', 'dpkg-query', ['-W', '-f=${Version}', 'prometheus-libvirt-exporter'], (s) => s),
    ask('kernel', 'uname', ['-r'], (s) => s),
    ask('debian', 'cat', ['/etc/debian_version'], (s) => s),
    ask('revision', 'git', ['-C', ROOT, 'describe', '--always', '--dirty'], (s) => s),
  ]);
  return out;
}
