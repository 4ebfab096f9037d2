// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The sockets the server listens on: the configured addresses (the first through the app itself, every
 * further one through a plain TCP listener that hands its connections over), or the sockets systemd
 * passes (socket activation). TLS, HTTP/2, basic auth, the in-flight limit and close() are the app's,
 * the same on every socket.
 */
import { createServer, Server, type Socket } from 'node:net';
import type { FastifyInstance, FastifyListenOptions } from 'fastify';

/** The sockets systemd passes to an activated service (sd_listen_fds): fd 3 onwards. */
function systemdFds(): number[] {
  const pid = process.env['LISTEN_PID'];
  const count = Number(process.env['LISTEN_FDS'] ?? '0');
  if (pid !== undefined && pid !== String(process.pid)) {
    throw new Error(`--web.systemd-socket: LISTEN_PID ${pid} is not this process (${process.pid})`);
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new Error('--web.systemd-socket: systemd passed no socket (LISTEN_FDS is unset or 0)');
  }
  return Array.from({ length: count }, (_, i) => 3 + i);
}

/** The connections each forwarder handed over and that are still open. */
const handedOver = new WeakMap<Server, Set<Socket>>();

/** A plain TCP listener that hands its connections to the current app's server. */
function forwarder(app: () => FastifyInstance): Server {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    app().server.emit('connection', socket);
  });
  handedOver.set(server, sockets);
  return server;
}

/** Ends the connections that listeners handed over and that are still open (kept alive, idle). */
export function dropHandedOver(servers: readonly Server[]): void {
  for (const s of servers) for (const socket of handedOver.get(s) ?? []) socket.destroy();
}

function listening(server: Server, options: object): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops the listeners from accepting; resolves once each has closed (after its handed-over connections). */
export function closeListeners(servers: readonly Server[]): Promise<void> {
  return Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s.listening) {
            resolve();
            return;
          }
          s.close(() => {
            resolve();
          });
        }),
    ),
  ).then(() => undefined);
}

/**
 * Listens on the sockets systemd passed, for the whole life of the process (a reload cannot reopen them):
 * each hands its connections to the app of the moment.
 */
export async function listenSystemd(app: () => FastifyInstance): Promise<Server[]> {
  const servers: Server[] = [];
  try {
    for (const fd of systemdFds()) {
      const s = forwarder(app);
      servers.push(s);
      await listening(s, { fd });
    }
  } catch (err) {
    await closeListeners(servers);
    throw err;
  }
  return servers;
}

/** A listen address. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Fails with EADDRINUSE if another socket is bound to `a` (a port 0 is always free). */
async function checkFree(a: ListenAddress): Promise<void> {
  if (a.port === 0) return;
  const probe = createServer();
  await listening(probe, { host: a.host, port: a.port, exclusive: true });
  await new Promise((resolve) => probe.close(resolve));
}

/**
 * Starts listening on `addresses`: the first through the app itself, every further one through a
 * listener that hands its connections to the app's server. Returns those further listeners. With
 * systemd sockets (`addresses` undefined) the app does not listen at all (see {@link listenSystemd}).
 *
 * `held` are addresses a running server of this process listens on and goes on listening on until the
 * new one does (a reload): the new sockets share them with it.
 */
export async function listen(
  app: FastifyInstance,
  addresses: readonly ListenAddress[] | undefined,
  held: readonly ListenAddress[] = [],
): Promise<Server[]> {
  if (addresses === undefined) {
    await app.ready();
    return [];
  }
  const extra: Server[] = [];
  try {
    const [first, ...rest] = addresses;
    if (first === undefined) throw new Error('no listen address');
    // NOTE: every socket is bound with SO_REUSEPORT (Linux; Node.js ignores it elsewhere), so that a
    // reload that needs a new server binds it beside the running one and no connection is refused while
    // they change places. Linux lets only sockets of the same user share a port; the exclusive probe
    // keeps the "address in use" error for anything else on the address (a second exporter included).
    const shared = (a: ListenAddress): boolean => held.some((h) => h.host === a.host && h.port === a.port);
    for (const a of addresses) if (!shared(a)) await checkFree(a);
    const options: FastifyListenOptions & { reusePort: boolean } = { ...first, reusePort: true };
    await app.listen(options);
    for (const a of rest) {
      const s = forwarder(() => app);
      extra.push(s);
      await listening(s, { ...a, reusePort: true });
    }
    return extra;
  } catch (err) {
    await closeListeners(extra);
    throw err;
  }
}

/**
 * Lets a server that a new one has replaced finish: it stops accepting now (its idle connections are
 * left open: a client may be sending on one), and resolves once its connections have ended or after
 * `graceMs` (default 2 s), whichever comes first. NOTE: net.Server's own close(), not http's, which would also end
 * the idle kept-alive connections at once, racing the requests their clients are sending; the app
 * answers with `Connection: close` meanwhile, so busy clients move to the new server themselves.
 */
export async function drain(server: Server, graceMs = 2000): Promise<void> {
  if (server.listening) Server.prototype.close.call(server);
  const deadline = performance.now() + graceMs;
  const open = (): Promise<number> =>
    new Promise((resolve) => {
      server.getConnections((err, n) => {
        resolve(err ? 0 : n);
      });
    });
  while ((await open()) > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
