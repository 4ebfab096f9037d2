// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Process entry: parse the command line, load the configuration, serve (or inspect), reload on SIGHUP
 * or when a watched file changes, stop on SIGTERM and SIGINT. The only file that calls process.exit().
 * What a start and a reload do is src/server.ts's.
 */
// First: V8 heap settings for a daemon, before anything else allocates (see src/heap.ts).
import { HEAP_EXIT_CODE, heapLimitMessage, launcherOptionsHint, settleHeap, watchHeapLimit } from './heap.ts';
import type { Server } from 'node:net';
import { parseCli, usage, type Cli } from './cli/flags.ts';
import type { Logger } from 'pino';
import { runInspect } from './cli/inspect.ts';
import { ConfigError } from './config/load.ts';
import { sameFingerprints, watchFiles, type FileWatcher, type Fingerprints } from './config/watch.ts';
import { closeListeners, dropHandedOver, listenSystemd } from './http/listeners.ts';
import { createSelfMetrics } from './http/self-metrics.ts';
import { createLogger } from './log/logger.ts';
import { ServerKept } from './http/server-change.ts';
import { apply, load, start, stop, type Loaded, type Running, type ServerContext } from './server.ts';
import { version } from './version.ts';

/** The serving process: one running server at a time, reloads and the shutdown queued one after another. */
interface Process {
  readonly cli: Cli;
  readonly ctx: ServerContext;
  running: Running | undefined;
  stopping: boolean;
  /** The reload or shutdown in progress; the next waits for it. */
  work: Promise<unknown>;
  /** The watched files as the last start or reload read them (taken before it read them). */
  read: Fingerprints;
}

/** Applies `next` over the running server; false if it failed and the running server was kept. */
async function applyLoaded(p: Process, running: Running, next: Loaded, why: string): Promise<boolean> {
  const { log } = p.ctx;
  try {
    p.running = await apply(running, next, p.ctx);
    log.info({ trigger: why }, 'configuration reloaded');
    return true;
  } catch (err) {
    if (!(err instanceof ServerKept)) {
      log.fatal({ err }, 'cannot serve the reloaded configuration');
      process.exit(1);
    }
    log.error(
      { err: err.message, trigger: why },
      'configuration reload failed; keeping the running configuration',
    );
    return false;
  }
}

/**
 * Loads the configuration again and applies it (SIGHUP, or a change of a watched file); a bad file, or
 * one whose new server cannot listen, is logged and the running configuration kept.
 */
async function reload(p: Process, watcher: FileWatcher, why: string): Promise<void> {
  const { log } = p.ctx;
  const running = p.running;
  if (p.stopping || running === undefined) return;
  // NOTE: taken before the load reads the files, so that a change made while it runs differs from
  // them and is reloaded again. A SIGHUP always reloads (it re-reads the secret files, which are not
  // watched); a file change the last reload already read (its SIGHUP came first) is not loaded twice.
  const read = watcher.fingerprints();
  if (why === 'file change' && sameFingerprints(read, p.read)) {
    log.info({ trigger: why }, 'the changed files were already reloaded; nothing to do');
    return;
  }
  p.read = read;
  let next: Loaded;
  try {
    next = await load(p.cli);
  } catch (err) {
    log.error(
      { err: (err as Error).message, trigger: why },
      'configuration reload failed; keeping the running configuration',
    );
    // The same files would fail the same way: the watcher waits for their next change.
    watcher.settle(read);
    return;
  }
  log.level = next.config.log.level;
  if (next.config.log.format !== running.loaded.config.log.format) {
    log.warn({ format: next.config.log.format }, 'log.format takes effect at the next start');
  }
  const ok = await applyLoaded(p, running, next, why);
  if (ok && JSON.stringify(next.watched) !== JSON.stringify(watcher.paths))
    watcher.update(next.watched, read);
  else watcher.settle(read);
}

/** Stops serving and exits: 0 when everything closed in time, 1 otherwise. */
function shutdown(
  p: Process,
  watcher: FileWatcher,
  systemdListeners: readonly Server[],
  signal: string,
): void {
  const { log } = p.ctx;
  if (p.stopping) return;
  p.stopping = true;
  watcher.close();
  log.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, 15_000);
  force.unref();
  p.work
    .then(async () => {
      // The systemd listeners stop accepting; the connections they handed over end once the app has
      // finished its requests.
      const closing = closeListeners(systemdListeners);
      if (p.running !== undefined) await stop(p.running);
      dropHandedOver(systemdListeners);
      await closing;
    })
    .then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
}

/**
 * Issue 16: the young generation back to its initial size once every module is loaded, a line when the
 * process was started without the launchers' Node.js options; a heap at its limit is a clear fatal line
 * and an exit the service manager restarts (src/heap.ts).
 */
function guardHeap(log: Logger): void {
  settleHeap();
  const hint = launcherOptionsHint();
  if (hint !== undefined) log.info(hint);
  watchHeapLimit({
    onLimit: (r) => {
      log.fatal({ heap_used_bytes: r.usedBytes, heap_limit_bytes: r.limitBytes }, heapLimitMessage(r));
      process.exit(HEAP_EXIT_CODE);
    },
  });
}

async function serve(cli: Cli, loaded: Loaded): Promise<void> {
  const log = createLogger(loaded.config.log.level, undefined, loaded.config.log.format);
  for (const w of cli.warnings) log.warn(w);
  const p: Process = {
    cli,
    ctx: {
      log,
      self: createSelfMetrics(),
      systemd: cli.systemdSocket,
      // The systemd listeners hand their connections to p.running.app: the new one as soon as it serves.
      onServing: (r) => {
        p.running = r;
      },
    },
    running: undefined,
    stopping: false,
    work: Promise.resolve(),
    read: new Map(),
  };
  const systemdListeners = cli.systemdSocket
    ? await listenSystemd(() => {
        if (p.running === undefined) throw new Error('not serving yet');
        return p.running.app;
      })
    : [];
  p.running = await start(loaded, p.ctx);
  guardHeap(log);
  const queueReload = (why: string): void => {
    p.work = p.work.then(() => reload(p, watcher, why));
  };
  const watcher = watchFiles(loaded.watched, {
    onChange: (changed) => {
      log.info({ files: changed.join(',') }, 'configuration files changed on disk; reloading');
      queueReload('file change');
    },
    onError: (err, dir) => {
      log.warn(
        { dir, err: err.message },
        'cannot watch this directory; send SIGHUP after changing its files',
      );
    },
  });
  p.read = watcher.fingerprints();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      shutdown(p, watcher, systemdListeners, signal);
    });
  }
  process.on('SIGHUP', () => {
    queueReload('SIGHUP');
  });
}

/** Runs the command line; returns the exit code, or -1 while serving (the process runs on). */
async function main(argv: readonly string[]): Promise<number> {
  let cli: Cli;
  try {
    cli = parseCli(argv);
  } catch (err) {
    process.stderr.write(`libvirt-exporter: ${(err as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (cli.version) {
    const v = version;
    process.stdout.write(`${v.name} ${v.version} (revision ${v.revision}, Node.js ${v.nodejsVersion})\n`);
    return 0;
  }
  let loaded: Loaded;
  try {
    loaded = await load(cli);
  } catch (err) {
    const what = err instanceof ConfigError ? '' : 'invalid configuration: ';
    process.stderr.write(`libvirt-exporter: ${what}${(err as Error).message}\n`);
    return 1;
  }
  if (cli.check || cli.command === 'inspect') {
    for (const w of cli.warnings) process.stderr.write(`libvirt-exporter: warning: ${w}\n`);
  }
  if (cli.check) {
    process.stdout.write(`configuration ${cli.configFile ?? '(defaults and flags)'} is valid\n`);
    return 0;
  }
  if (cli.command === 'inspect') {
    return runInspect(loaded.config, { output: cli.output, intervalSeconds: cli.interval });
  }
  await serve(cli, loaded);
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`libvirt-exporter: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
