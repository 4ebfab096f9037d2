// SPDX-License-Identifier: Apache-2.0
/**
 * Private RabbitMQ nodes for the broker tests (test/integration/broker-*.test.ts): one node, or several
 * joined into a cluster, each with its own node name, AMQP and distribution ports, on loopback only,
 * sharing one epmd of their own on a free port and one Erlang cookie, with every file under a temporary
 * directory. Runs the Debian package's scripts in /usr/lib/rabbitmq/bin directly, as root, no systemd
 * (test/lab/rabbitmq.sh does the same for the single lab node).
 *
 * Clean-up never depends on the test passing: {@link RabbitCluster.destroy} shuts the nodes down with
 * rabbitmqctl and kills what is left by pid; a process 'exit' handler kills the recorded pids (beam and
 * epmd) and removes the directory even when the test runner dies.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './exporter.ts';

const SBIN = '/usr/lib/rabbitmq/bin';

/** One node of the cluster. */
export interface RabbitNode {
  /** Short name (`a`, `b`…); the Erlang node name is `<prefix>-<name>@localhost`. */
  readonly name: string;
  readonly nodename: string;
  readonly amqpPort: number;
  readonly distPort: number;
  readonly dir: string;
  /** The Erlang VM's pid while it runs. */
  pid: number | undefined;
}

const T0 = performance.now();
function trace(what: string): void {
  if (process.env['RABBIT_TRACE'] === '1')
    process.stderr.write(`rabbit ${((performance.now() - T0) / 1000).toFixed(1)} s: ${what}\n`);
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Private RabbitMQ nodes, optionally clustered. */
export class RabbitCluster {
  readonly nodes: RabbitNode[];
  readonly #base: string;
  readonly #epmdPort: number;
  readonly #ctlPort: number;
  #epmdPid: number | undefined;
  readonly #onExit = (): void => {
    this.killNow();
  };

  private constructor(base: string, epmdPort: number, ctlPort: number, nodes: RabbitNode[]) {
    this.#base = base;
    this.#epmdPort = epmdPort;
    this.#ctlPort = ctlPort;
    this.nodes = nodes;
  }

  /**
   * Starts `names.length` nodes (in parallel) and, with more than one, joins the others to the first.
   * Needs Debian's rabbitmq-server package (test/lab/lab.sh up installs it).
   */
  static async start(prefix: string, names: readonly string[]): Promise<RabbitCluster> {
    if (!existsSync(`${SBIN}/rabbitmq-server`))
      throw new Error('rabbitmq-server is not installed: `bash test/lab/lab.sh up` installs it');
    const base = mkdtempSync(join(tmpdir(), `${prefix}-rabbit-`));
    const home = join(base, 'home');
    mkdirSync(home, { mode: 0o700 });
    // One cookie for every node and for rabbitmqctl: nodes of a cluster must share it.
    writeFileSync(
      join(home, '.erlang.cookie'),
      `${prefix.toUpperCase().replace(/[^A-Z]/g, 'X')}COOKIE${process.pid}`,
      {
        mode: 0o400,
      },
    );
    const epmdPort = await freePort();
    const ctlPort = await freePort();
    const nodes: RabbitNode[] = [];
    for (const name of names) {
      const dir = join(base, name);
      mkdirSync(join(dir, 'log'), { recursive: true });
      nodes.push({
        name,
        nodename: `${prefix}-${name}@localhost`,
        amqpPort: await freePort(),
        distPort: await freePort(),
        dir,
        pid: undefined,
      });
    }
    const cluster = new RabbitCluster(base, epmdPort, ctlPort, nodes);
    process.once('exit', cluster.#onExit);
    try {
      cluster.#startEpmd();
      await Promise.all(nodes.map((n) => cluster.startNode(n)));
      trace('nodes started');
      const [first, ...others] = nodes;
      for (const n of others) {
        // join_cluster resets the joining node itself (it is new: nothing is lost).
        await cluster.ctl(n, 'stop_app');
        trace('stop_app');
        await cluster.ctl(n, 'join_cluster', first!.nodename);
        trace('join');
        await cluster.ctl(n, 'start_app');
        trace('start_app');
      }
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /** The node called `name`. */
  node(name: string): RabbitNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** `amqp://guest:guest@127.0.0.1:<port>` of a node. */
  url(n: RabbitNode): string {
    return `amqp://guest:guest@127.0.0.1:${n.amqpPort}`;
  }

  #env(n: RabbitNode | undefined): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: join(this.#base, 'home'),
      LANG: 'C.UTF-8',
      ERL_EPMD_PORT: String(this.#epmdPort),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      // rabbitmqctl's own distribution listener: loopback, ports of its own.
      RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      RABBITMQ_CTL_DIST_PORT_MIN: String(this.#ctlPort),
      RABBITMQ_CTL_DIST_PORT_MAX: String(this.#ctlPort + 10),
    };
    if (n === undefined) return env;
    return {
      ...env,
      RABBITMQ_NODENAME: n.nodename,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(n.amqpPort),
      RABBITMQ_DIST_PORT: String(n.distPort),
      RABBITMQ_CONFIG_FILE: join(n.dir, 'rabbitmq'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(n.dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(n.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(n.dir, 'log'),
      RABBITMQ_PID_FILE: join(n.dir, 'rabbit.pid'),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  #startEpmd(): void {
    const child = spawn('epmd', ['-address', '127.0.0.1', '-port', String(this.#epmdPort)], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    this.#epmdPid = child.pid;
  }

  /** Runs rabbitmqctl against a node; resolves with its stdout, rejects with its stderr. */
  ctl(n: RabbitNode, ...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        `${SBIN}/rabbitmqctl`,
        ['-q', '-n', n.nodename, ...args],
        { env: this.#env(undefined), encoding: 'utf8', timeout: 90_000 },
        (err, stdout, stderr) => {
          if (err)
            reject(new Error(`rabbitmqctl -n ${n.nodename} ${args.join(' ')}: ${err.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
  }

  /** Starts a node (first start or again after {@link stopNode}) and waits until it serves. */
  async startNode(n: RabbitNode): Promise<void> {
    writeFileSync(join(n.dir, 'enabled_plugins'), '[].\n');
    writeFileSync(
      join(n.dir, 'rabbitmq.conf'),
      [
        `listeners.tcp.default = 127.0.0.1:${n.amqpPort}`,
        'loopback_users.guest = true',
        'log.console = false',
        'log.file.level = warning',
        // Small test machines: no disk alarm on a busy /tmp (the tests raise the memory alarm themselves).
        'disk_free_limit.absolute = 50MB',
        '',
      ].join('\n'),
    );
    const pidFile = join(n.dir, 'rabbit.pid');
    rmSync(pidFile, { force: true });
    const child = spawn(`${SBIN}/rabbitmq-server`, [], {
      env: this.#env(n),
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    child.unref();
    for (let i = 0; i < 200 && !existsSync(pidFile); i++) {
      if (child.exitCode !== null) throw new Error(`rabbitmq-server ${n.nodename} exited; see ${n.dir}/log`);
      await new Promise((r) => setTimeout(r, 100));
    }
    trace(`${n.name} pid file`);
    await this.ctl(n, 'wait', '--timeout', '60', pidFile);
    trace(`${n.name} serving`);
    n.pid = Number(readFileSync(pidFile, 'utf8').trim());
  }

  /** Stops a node cleanly (`rabbitmqctl shutdown`, which returns once the VM is gone); kills it after 30 s. */
  async stopNode(n: RabbitNode): Promise<void> {
    const pid = n.pid;
    if (!alive(pid)) return;
    await this.ctl(n, 'shutdown').catch(() => {
      if (alive(pid)) process.kill(pid!, 'SIGTERM');
    });
    for (let i = 0; i < 300 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid!, 'SIGKILL');
    n.pid = undefined;
  }

  /** Stops every node, then epmd, and removes the directory. Safe to call twice. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopNode(n).catch(() => undefined)));
    this.killNow();
  }

  /** Synchronous last resort: SIGKILL every recorded pid and remove the directory. */
  killNow(): void {
    for (const n of this.nodes) {
      if (alive(n.pid)) process.kill(n.pid!, 'SIGKILL');
      n.pid = undefined;
    }
    if (alive(this.#epmdPid)) process.kill(this.#epmdPid!, 'SIGKILL');
    this.#epmdPid = undefined;
    rmSync(this.#base, { recursive: true, force: true });
    process.removeListener('exit', this.#onExit);
  }
}

/** What a {@link SampleConsumer} received: every sample's message_id, with the time it arrived. */
export interface ReceivedSample {
  readonly id: string;
  /** performance.now() when its notification arrived. */
  readonly at: number;
}

/** A consumer like the notification agent's, counting samples by message_id (repeats kept). */
export interface SampleConsumer {
  readonly received: ReceivedSample[];
  /** Distinct message_ids received. */
  distinct(): number;
  /** Samples received more than once (received − distinct). */
  repeats(): number;
  close(): Promise<void>;
}

/**
 * Connects to `url`, declares the durable topic exchange and a durable classic queue bound to
 * `notifications.sample` (on the node of `url`: a classic queue lives on the node that declares it),
 * and records the samples of every notification that arrives.
 */
export async function consumeSamples(url: string, exchange: string, queue: string): Promise<SampleConsumer> {
  const { Connection } = await import('rabbitmq-client');
  const conn = new Connection({ url, retryLow: 200, retryHigh: 1000 });
  conn.on('error', () => undefined);
  const received: ReceivedSample[] = [];
  const consumer = conn.createConsumer(
    {
      queue,
      queueOptions: { durable: true, autoDelete: false, arguments: { 'x-queue-type': 'classic' } },
      exchanges: [{ exchange, type: 'topic', durable: true }],
      queueBindings: [{ exchange, routingKey: 'notifications.sample', queue }],
    },
    (msg) => {
      const at = performance.now();
      const body = Buffer.isBuffer(msg.body) ? msg.body.toString('utf8') : String(msg.body);
      const inner = JSON.parse((JSON.parse(body) as Record<string, string>)['oslo.message']!) as {
        payload: { samples: { message_id: string }[] };
      };
      for (const s of inner.payload.samples) received.push({ id: s.message_id, at });
    },
  );
  consumer.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    consumer.once('ready', () => {
      resolve();
    });
  });
  return {
    received,
    distinct: () => new Set(received.map((r) => r.id)).size,
    repeats: () => received.length - new Set(received.map((r) => r.id)).size,
    close: async () => {
      await consumer.close();
      await conn.close();
    },
  };
}

/** What a publishing exporter of a broker test is configured with. */
export interface PublisherTestConfig {
  /** The transport URL (one node, or several for failover). */
  readonly transportUrl: string;
  readonly telemetrySecret: string;
  readonly exchange: string;
  readonly maxQueueLength: number;
  /** The polling source: its name, polled every second, and its meters (`['*']` for all). */
  readonly source: string;
  readonly meters: readonly string[];
}

/** The exporter configuration of a broker test: debug logs, a durable exchange, 5 s sends, one source. */
export function publisherTestConfig(c: PublisherTestConfig): string {
  return [
    'log:',
    '  level: debug',
    'publisher:',
    '  enabled: true',
    `  transport_url: "${c.transportUrl}"`,
    `  telemetry_secret: "${c.telemetrySecret}"`,
    `  exchange: ${c.exchange}`,
    '  exchange_declare: durable',
    `  max_queue_length: ${c.maxQueueLength}`,
    '  send_timeout_seconds: 5',
    '  stop_timeout_seconds: 30',
    '  polling:',
    '    sources:',
    `      - { name: ${c.source}, interval: 1, meters: ${JSON.stringify(c.meters)} }`,
    '',
  ].join('\n');
}
