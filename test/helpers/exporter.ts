// SPDX-License-Identifier: Apache-2.0
/**
 * Starts the real exporter as a child process on a free loopback port, for integration tests: src/main.ts
 * through tsx, or the single-file bundle that the image and the packages ship (a {@link PortableExporter}
 * passed by the test, for tests that measure the process: tsx adds about 22 MiB of resident memory and
 * compiles every module at start), or, when LIBVIRT_EXPORTER_BIN names one, a single executable (npm run
 * package), run with no `node` on its PATH (test/integration/single-executable.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PortableExporter } from './portable-exporter.ts';
import { SHIPPED_ENV, SHIPPED_NODE_ARGS } from './shipped.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/**
 * The command line and environment that run the exporter with `args`: the single executable of
 * LIBVIRT_EXPORTER_BIN, else `bundle` when given (as the launchers start it: {@link SHIPPED_NODE_ARGS} and
 * {@link SHIPPED_ENV}), else src/main.ts through tsx.
 */
export function exporterCommand(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  bundle?: PortableExporter,
): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const bin = process.env['LIBVIRT_EXPORTER_BIN'];
  if ((bin === undefined || bin === '') && bundle !== undefined) {
    return {
      command: bundle.node,
      args: [...SHIPPED_NODE_ARGS, bundle.script, ...args],
      env: { ...process.env, ...SHIPPED_ENV, ...env },
    };
  }
  if (bin === undefined || bin === '') {
    return {
      command: process.execPath,
      args: ['--import', 'tsx', MAIN, ...args],
      env: { ...process.env, ...env },
    };
  }
  // Every PATH directory that holds a `node` is left out: the executable must not need one.
  const path = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((d) => d !== '' && !existsSync(join(d, 'node')))
    .join(delimiter);
  return { command: bin, args: [...args], env: { ...process.env, ...env, PATH: path } };
}

/** A free TCP port on 127.0.0.1 (there is a small race until the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => {
        if (typeof addr === 'object' && addr) resolve(addr.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` now. */
export function portAccepts(port: number): Promise<boolean> {
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

/** A running exporter. */
export interface RunningExporter extends ExporterProcess {
  readonly url: string;
  readonly port: number;
}

/**
 * Starts the exporter with `args` and waits until it listens: src/main.ts through tsx, or `bundle` (see
 * {@link exporterCommand}).
 */
export async function startExporter(
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
  bundle?: PortableExporter,
): Promise<RunningExporter> {
  const port = await freePort();
  const cmd = exporterCommand([`--web.listen-address=127.0.0.1:${port}`, ...args], env, bundle);
  const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  return { url, port, ...(await whenListening(child, url, 20_000)) };
}

/** A spawned exporter: its process, what it printed, and a clean stop. */
export interface ExporterProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr and stdout so far. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * When a spawned exporter is ready: the base URL of an exporter serving plain HTTP (ready once
 * `url`/-/healthy answers), or a check of what it printed so far ({@link loggedListening} for one that
 * serves only TLS, which does not answer the plain-HTTP health check).
 */
export type Readiness = string | ((output: string) => boolean | Promise<boolean>);

/** Whether the exporter logged that it listens (its `listening` line, in JSON or logfmt). */
export function loggedListening(output: string): boolean {
  return output.includes('"msg":"listening"') || /\bmsg=listening\b/.test(output);
}

async function isReady(ready: Readiness, output: string): Promise<boolean> {
  if (typeof ready !== 'string') return ready(output);
  try {
    return (await fetch(`${ready}/-/healthy`)).ok;
  } catch {
    return false; // not listening yet
  }
}

/**
 * Collects a spawned exporter's output and waits until it is `ready` (at most `timeoutMs`); throws with
 * the output if the process exits first or never gets ready.
 */
export async function whenListening(
  child: ChildProcess,
  ready: Readiness,
  timeoutMs: number,
): Promise<ExporterProcess> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exporter exited with ${child.exitCode}:\n${out}`);
    if (await isReady(ready, out)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`exporter did not listen within ${timeoutMs / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve(child.exitCode);
          return;
        }
        child.once('exit', (code) => {
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
}
