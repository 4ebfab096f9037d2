// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The real Prometheus and promtool for tests: find (or install) the Debian binaries, run promtool,
 * and start a private `prometheus` on 127.0.0.1:<free port> with a temporary configuration and data
 * directory, query it over the HTTP API, and stop it by pid.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from './exporter.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Paths of the Prometheus binaries. */
export interface PrometheusBinaries {
  readonly prometheus: string;
  readonly promtool: string;
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/**
 * The `prometheus` and `promtool` binaries. Unit tests run before `test/lab/lab.sh up` installs the
 * lab's packages, so on a fresh machine this installs Debian's `prometheus` package itself (as root,
 * without starting its service), the same way lab.sh does; without root it fails with what to run.
 */
export function prometheusBinaries(): PrometheusBinaries {
  let prometheus = which('prometheus');
  let promtool = which('promtool');
  if (prometheus && promtool) return { prometheus, promtool };
  if (process.getuid?.() !== 0) {
    throw new Error(
      'prometheus/promtool not found: run `apt-get install --no-install-recommends prometheus` (or `bash test/lab/lab.sh up`)',
    );
  }
  // Debian's postinst would start the service through invoke-rc.d, which obeys policy-rc.d.
  const policy = '/usr/sbin/policy-rc.d';
  const addedPolicy = !existsSync(policy);
  if (addedPolicy)
    execFileSync('sh', ['-c', `printf '#!/bin/sh\\nexit 101\\n' > ${policy} && chmod 755 ${policy}`]);
  try {
    const apt = ['-o', 'DPkg::Lock::Timeout=600'];
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', [...apt, 'update', '-q'], { env, stdio: 'ignore', timeout: 900_000 });
    execFileSync('apt-get', [...apt, 'install', '-y', '-q', '--no-install-recommends', 'prometheus'], {
      env,
      stdio: 'ignore',
      timeout: 900_000,
    });
  } finally {
    if (addedPolicy) execFileSync('rm', ['-f', policy]);
  }
  prometheus = which('prometheus');
  promtool = which('promtool');
  if (!prometheus || !promtool)
    throw new Error('installing the prometheus package did not provide prometheus and promtool');
  return { prometheus, promtool };
}

/** Result of one promtool run. */
export interface PromtoolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `promtool ARGS` (synchronously: it takes tens of milliseconds) in `cwd`. */
export function promtool(
  args: readonly string[],
  options: { cwd?: string; input?: string } = {},
): PromtoolResult {
  const r = spawnSync(prometheusBinaries().promtool, args, {
    encoding: 'utf8',
    timeout: 120_000,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One series of a query result: its labels and its points (instant queries have one). */
export interface Series {
  readonly metric: Record<string, string>;
  readonly values: readonly (readonly [number, string])[];
}

/** A Prometheus HTTP API error (status "error"), with the query that caused it. */
export class PrometheusQueryError extends Error {
  constructor(
    message: string,
    readonly query: string,
  ) {
    super(`${message}: ${query}`);
    this.name = 'PrometheusQueryError';
  }
}

/** A scrape job of the temporary configuration. */
export interface ScrapeJob {
  readonly jobName: string;
  readonly targets: readonly string[];
  readonly metricsPath?: string;
  /** Target labels added to every series of the job (static_configs labels), e.g. `{cluster: 'lab'}`. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  readonly jobs: readonly ScrapeJob[];
  /** Absolute paths of rule files to load. */
  readonly ruleFiles?: readonly string[];
  /** Default `1s`. */
  readonly scrapeInterval?: string;
  /** Default: the scrape interval. */
  readonly evaluationInterval?: string;
  readonly signal?: AbortSignal;
}

/** A running Prometheus. */
export interface RunningPrometheus {
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  /** Everything the process wrote so far (it logs to stderr). */
  output(): string;
  /** Instant query; `time` in seconds since the epoch (default: now). */
  query(expr: string, options?: { time?: number; signal?: AbortSignal }): Promise<Series[]>;
  /** Range query, times in seconds since the epoch, `step` in seconds. */
  queryRange(
    expr: string,
    start: number,
    end: number,
    step: number,
    options?: { signal?: AbortSignal },
  ): Promise<Series[]>;
  /** Label sets of the series matching `match` (the API behind Grafana's label_values with a selector). */
  series(
    match: string,
    options?: { start?: number; end?: number; signal?: AbortSignal },
  ): Promise<Record<string, string>[]>;
  /** GET of another API path, e.g. `/api/v1/rules`; returns the `data` member. */
  api(path: string, options?: { signal?: AbortSignal }): Promise<unknown>;
  /** SIGTERM (then SIGKILL after 10 s) to the pid; removes the temporary directory. */
  stop(): Promise<void>;
}

interface ApiAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: unknown;
}

function toSeries(data: unknown): Series[] {
  const d = data as { resultType: string; result: unknown };
  if (d.resultType === 'matrix') return d.result as Series[];
  if (d.resultType === 'vector') {
    return (d.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
      metric: r.metric,
      values: [r.value],
    }));
  }
  if (d.resultType === 'scalar') {
    return [{ metric: {}, values: [d.result as [number, string]] }];
  }
  throw new Error(`unexpected result type ${d.resultType}`);
}

/**
 * Starts `prometheus` with a temporary configuration and data directory on a free loopback port and
 * waits until it answers `/-/ready` (not until the first scrape: use {@link waitForSeries}).
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const { prometheus } = prometheusBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'libvirt-exporter-prometheus-'));
  const interval = options.scrapeInterval ?? '1s';
  const config = {
    global: {
      scrape_interval: interval,
      scrape_timeout: interval,
      evaluation_interval: options.evaluationInterval ?? interval,
    },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: options.jobs.map((j) => ({
      job_name: j.jobName,
      ...(j.metricsPath !== undefined ? { metrics_path: j.metricsPath } : {}),
      static_configs: [{ targets: j.targets, ...(j.labels !== undefined ? { labels: j.labels } : {}) }],
    })),
  };
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, stringify(config));
  const port = await freePort();
  const child: ChildProcess = spawn(
    prometheus,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.console.templates=/nonexistent',
      '--web.console.libraries=/nonexistent',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    options.signal?.throwIfAborted();
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}:\n${out}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const call = async (path: string, params: URLSearchParams, signal?: AbortSignal): Promise<unknown> => {
    const r = await fetch(`${url}${path}`, {
      method: 'POST',
      body: params,
      ...(signal ? { signal } : {}),
    });
    const body = (await r.json()) as ApiAnswer;
    if (body.status !== 'success')
      throw new PrometheusQueryError(body.error ?? `HTTP ${r.status}`, params.get('query') ?? path);
    return body.data;
  };

  return {
    url,
    pid: child.pid ?? -1,
    dataDir: join(dir, 'data'),
    output: () => out,
    async query(expr, o = {}) {
      const p = new URLSearchParams({ query: expr });
      if (o.time !== undefined) p.set('time', String(o.time));
      return toSeries(await call('/api/v1/query', p, o.signal));
    },
    async queryRange(expr, start, end, step, o = {}) {
      const p = new URLSearchParams({
        query: expr,
        start: String(start),
        end: String(end),
        step: String(step),
      });
      return toSeries(await call('/api/v1/query_range', p, o.signal));
    },
    async series(match, o = {}) {
      const p = new URLSearchParams();
      p.append('match[]', match);
      if (o.start !== undefined) p.set('start', String(o.start));
      if (o.end !== undefined) p.set('end', String(o.end));
      return (await call('/api/v1/series', p, o.signal)) as Record<string, string>[];
    },
    async api(path, o = {}) {
      const r = await fetch(`${url}${path}`, o.signal ? { signal: o.signal } : {});
      const body = (await r.json()) as ApiAnswer;
      if (body.status !== 'success') throw new PrometheusQueryError(body.error ?? `HTTP ${r.status}`, path);
      return body.data;
    },
    stop,
  };
}

/** Polls `expr` until it returns at least `minSeries` series, or throws after `timeoutMs`. */
export async function waitForSeries(
  prom: RunningPrometheus,
  expr: string,
  {
    timeoutMs = 30_000,
    minSeries = 1,
    signal,
  }: { timeoutMs?: number; minSeries?: number; signal?: AbortSignal } = {},
): Promise<Series[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const r = await prom.query(expr, signal ? { signal } : {});
    if (r.length >= minSeries) return r;
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${minSeries} series of ${expr}\n${prom.output()}`,
      );
    await new Promise((res) => setTimeout(res, 250));
  }
}
