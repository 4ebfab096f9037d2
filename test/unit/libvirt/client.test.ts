// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { LibvirtClient } from '../../../src/libvirt/client.ts';
import type { LibvirtClientOptions, LifecycleEvent } from '../../../src/libvirt/index.ts';
import { LibvirtAbortError, LibvirtConnectionError, LibvirtError } from '../../../src/libvirt/errors.ts';
import { Proc } from '../../../src/libvirt/constants.ts';
import { XdrReader, XdrWriter } from '../../../src/libvirt/xdr.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { FakeLibvirtServer, waitFor, type FakeCall } from './fake-server.ts';
import { recordedFrame } from './recorded.ts';

const ECHO = Proc.CONNECT_GET_HOSTNAME;
const str = (s: string): Buffer => new XdrWriter().string(s).finish();

let server: FakeLibvirtServer;
let clients: LibvirtClient[] = [];

function client(options: LibvirtClientOptions = {}): LibvirtClient {
  const c = new LibvirtClient({
    socketPath: server.path,
    // A hang guard, not a timing: the first connect took 0.9 s under CPU load, close to the 1 s bound
    // this was (issue 15 item 16). Tests of the connect deadline pass their own ManualClock.
    connectTimeoutMs: 30_000,
    reconnectDelayMs: 0,
    ...options,
  });
  clients.push(c);
  return c;
}

beforeEach(async () => {
  server = await FakeLibvirtServer.start();
  server.on(ECHO, (call) => ({ payload: str(`host-${call.conn === server.connections[0] ? 'a' : 'b'}`) }));
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await server.close();
});

/** Makes a call, waits until the daemon has it (and holds it), then abandons it. */
async function abandonHeldCall(c: LibvirtClient): Promise<void> {
  const before = server.callsOf(ECHO).length;
  const ac = new AbortController();
  const call = c.connectGetHostname({ signal: ac.signal });
  await waitFor(() => server.callsOf(ECHO).length === before + 1, 'the held call');
  ac.abort();
  await assert.rejects(call, LibvirtAbortError);
}

/** Simulates a libvirtd restart: drop every connection, stop listening, listen again. */
async function restartDaemon(): Promise<void> {
  await server.stop();
  await server.listen();
}

describe('LibvirtClient connecting', () => {
  test('connects lazily on the first call and reuses the connection', async () => {
    const c = client();
    const events: string[] = [];
    c.on('connect', () => events.push('connect'));
    await new Promise((r) => setImmediate(r));
    assert.equal(server.accepted, 0);
    assert.equal(c.connected, false);
    assert.equal(await c.connectGetHostname(), 'host-a');
    assert.equal(await c.connectGetHostname(), 'host-a');
    assert.equal(server.accepted, 1);
    assert.equal(c.connected, true);
    assert.deepEqual(events, ['connect']);
    assert.equal(c.state.calls, 2);
    assert.equal(c.state.errors, 0);
  });

  test('concurrent first calls share one connection attempt', async () => {
    const held: FakeCall[] = [];
    server.on(Proc.AUTH_LIST, (call) => {
      held.push(call);
      return { hold: true };
    });
    const c = client();
    const calls = Array.from({ length: 5 }, () => c.connectGetHostname());
    await waitFor(() => held.length === 1);
    // Every call was made before the first AUTH_LIST reached the daemon: none of them opened another socket.
    assert.equal(server.accepted, 1);
    const h = held[0];
    assert.ok(h !== undefined);
    h.conn.reply(h.serial, h.proc, { payload: new XdrWriter().u32(1).i32(0).finish() });
    assert.deepEqual(await Promise.all(calls), Array(5).fill('host-a'));
  });

  test('a caller aborting its wait does not cancel the shared attempt', async () => {
    const held: FakeCall[] = [];
    server.on(Proc.AUTH_LIST, (call) => {
      held.push(call);
      return { hold: true };
    });
    const c = client();
    const ac = new AbortController();
    const impatient = c.connectGetHostname({ signal: ac.signal });
    const patient = c.connectGetHostname();
    await waitFor(() => held.length === 1);
    ac.abort();
    await assert.rejects(impatient, LibvirtAbortError);
    const h = held[0];
    assert.ok(h !== undefined);
    h.conn.reply(h.serial, h.proc, { payload: new XdrWriter().u32(1).i32(0).finish() });
    assert.equal(await patient, 'host-a');
    assert.equal(c.state.abandoned, 1);
  });

  test('while the daemon is down, calls fail fast with a clear connection error', async () => {
    const clock = new ManualClock();
    const c = client({ connectTimeoutMs: 5000, clock });
    await server.stop();
    // The clock never moves: the failure comes from the refused socket, not from the connect timeout.
    await assert.rejects(
      c.connectGetHostname(),
      (err: unknown) =>
        err instanceof LibvirtConnectionError && err.reason === 'ENOENT' && err.message.includes(server.path),
    );
    assert.equal(c.state.connectFailures, 1);
    assert.equal(c.state.connectionErrors, 1);
  });

  test('a failed attempt is not retried within reconnectDelayMs', async () => {
    const clock = new ManualClock();
    const c = client({ reconnectDelayMs: 200, clock });
    await server.stop();
    const first = await c.connectGetHostname().catch((e: unknown) => e);
    await server.listen();
    clock.advance(199);
    const second = await c.connectGetHostname().catch((e: unknown) => e);
    assert.equal(second, first, 'the same error, without a new attempt');
    assert.equal(server.accepted, 0);
    clock.advance(1);
    assert.equal(await c.connectGetHostname(), 'host-a');
    assert.equal(c.state.connectFailures, 1);
  });

  test('a daemon that hangs during the handshake fails the call within the connect timeout', async () => {
    server.on(Proc.CONNECT_OPEN, () => ({ hold: true }));
    const clock = new ManualClock();
    const c = client({ connectTimeoutMs: 150, clock });
    const call = c.connectGetHostname();
    await waitFor(() => server.callsOf(Proc.CONNECT_OPEN).length === 1, 'CONNECT_OPEN');
    clock.advance(150);
    await assert.rejects(
      call,
      (err: unknown) => err instanceof LibvirtConnectionError && err.reason === 'CONNECT_TIMEOUT',
    );
  });
});

describe('LibvirtClient reconnecting', () => {
  test('after libvirtd restarts, the next call reconnects and a reconnect event is emitted', async () => {
    const c = client();
    const events: string[] = [];
    c.on('disconnect', (err) => events.push(`disconnect:${err?.reason ?? 'none'}`));
    c.on('reconnect', (reason) => events.push(`reconnect:${reason}`));
    assert.equal(await c.connectGetHostname(), 'host-a');
    await restartDaemon();
    await waitFor(() => !c.connected, 'disconnect noticed');
    assert.equal(await c.connectGetHostname(), 'host-b');
    assert.deepEqual(events, ['disconnect:CLOSED', 'reconnect:closed']);
    assert.equal(c.state.reconnects, 1);
    assert.equal(server.accepted, 2);
  });

  test('a call in flight when the daemon dies rejects; the next one succeeds', async () => {
    server.on(ECHO, (call) =>
      call.conn === server.connections[0] ? { hold: true } : { payload: str('fresh') },
    );
    const c = client();
    const pending = c.connectGetHostname();
    await waitFor(() => server.callsOf(ECHO).length === 1);
    await restartDaemon();
    await assert.rejects(pending, LibvirtConnectionError);
    assert.equal(await c.connectGetHostname(), 'fresh');
  });

  test('lifecycle subscriptions are registered again on the new connection', async () => {
    let nextId = 10;
    server.on(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, () => ({
      payload: new XdrWriter().i32(nextId++).finish(),
    }));
    const c = client();
    const seen: LifecycleEvent[] = [];
    c.on('lifecycle', (e) => seen.push(e));
    const sub = await c.subscribeLifecycle(null);
    assert.equal(server.callsOf(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY).length, 1);

    await restartDaemon();
    await waitFor(() => !c.connected, 'disconnect noticed');
    await c.connectGetHostname(); // reconnects and re-registers
    const regs = server.callsOf(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY);
    assert.equal(regs.length, 2);
    assert.equal(regs[1]?.conn, server.last);

    // An event for the new registration (id 11, patched into the recorded message) reaches the client.
    // An event for a callback id the client does not know is not delivered: it is sent first, so it has
    // been handled by the time the good one arrives on the same stream.
    const payload = Buffer.from(recordedFrame('event_lifecycle_suspended').payload);
    const stray = Buffer.from(payload);
    stray.writeInt32BE(99, 0);
    server.last.sendEvent(Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE, stray);
    payload.writeInt32BE(11, 0);
    server.last.sendEvent(Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE, payload);
    await waitFor(() => seen.length >= 1, 'lifecycle event');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.eventName, 'suspended');

    await sub.unsubscribe();
    const dereg = server.callsOf(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY);
    assert.equal(dereg.length, 1);
    assert.equal(new XdrReader(dereg[0]?.payload ?? Buffer.alloc(4)).i32(), 11);
  });

  test('a subscription for a domain that no longer exists does not block reconnection', async () => {
    let registrations = 0;
    server.on(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, () =>
      registrations++ === 0
        ? { payload: new XdrWriter().i32(1).finish() }
        : { error: { code: 42, message: 'gone' } },
    );
    const c = client();
    await c.subscribeLifecycle({ name: 'gone', uuid: '11111111-2222-3333-4444-555555555599', id: 3 });
    await restartDaemon();
    await waitFor(() => !c.connected, 'disconnect noticed');
    assert.equal(await c.connectGetHostname(), 'host-b');
  });
});

describe('LibvirtClient rotation on abandoned calls', () => {
  test('with maxAbandonedCalls abandoned calls in flight, new calls go to a fresh connection', async () => {
    server.on(ECHO, (call) =>
      call.conn === server.connections[0] ? { hold: true } : { payload: str('fresh') },
    );
    const c = client({ maxAbandonedCalls: 2 });
    const reasons: string[] = [];
    c.on('reconnect', (r) => reasons.push(r));
    for (let i = 0; i < 2; i++) await abandonHeldCall(c);
    assert.equal(c.state.abandonedInFlight, 2);
    assert.equal(await c.connectGetHostname(), 'fresh');
    assert.equal(server.accepted, 2);
    assert.deepEqual(reasons, ['rotated']);
    assert.equal(c.state.rotations, 1);
    assert.equal(c.state.abandoned, 2);
    assert.equal(c.state.abandonedInFlight, 0);

    // The old connection is closed once its stuck calls finally return.
    const old = server.connections[0];
    assert.ok(old !== undefined);
    assert.equal(old.calls.filter((x) => x.proc === Proc.CONNECT_CLOSE).length, 0);
    for (const call of old.calls.filter((x) => x.proc === ECHO))
      old.reply(call.serial, call.proc, { payload: str('late') });
    await waitFor(
      () => old.calls.some((x) => x.proc === Proc.CONNECT_CLOSE),
      'CONNECT_CLOSE on the old connection',
    );
  });

  test('a retired connection whose calls never return is closed after the grace period', async () => {
    server.on(ECHO, (call) =>
      call.conn === server.connections[0] ? { hold: true } : { payload: str('fresh') },
    );
    const clock = new ManualClock();
    const c = client({ maxAbandonedCalls: 1, retireGraceMs: 100, closeTimeoutMs: 50, clock });
    await abandonHeldCall(c);
    assert.equal(await c.connectGetHostname(), 'fresh');
    const old = server.connections[0];
    assert.ok(old !== undefined);
    clock.advance(99);
    await new Promise((r) => setImmediate(r));
    assert.equal(old.calls.filter((x) => x.proc === Proc.CONNECT_CLOSE).length, 0, 'kept within the grace');
    clock.advance(1);
    await waitFor(
      () => old.calls.some((x) => x.proc === Proc.CONNECT_CLOSE),
      'CONNECT_CLOSE after the grace',
    );
    clock.advance(50);
    await waitFor(() => old.socket.destroyed || old.socket.readableEnded, 'old connection closed');
  });

  test('fewer abandoned calls than the threshold keep the connection', async () => {
    server.on(ECHO, (call) =>
      call.conn.calls.filter((x) => x.proc === ECHO).length === 1 ? { hold: true } : { payload: str('same') },
    );
    const c = client({ maxAbandonedCalls: 2 });
    await abandonHeldCall(c);
    assert.equal(await c.connectGetHostname(), 'same');
    assert.equal(server.accepted, 1);
  });
});

describe('LibvirtClient state and closing', () => {
  test('counters for metrics', async () => {
    server.on(Proc.DOMAIN_LOOKUP_BY_NAME, () => ({
      error: { code: 42, domain: 10, message: 'Domain not found' },
    }));
    const c = client();
    await c.connectGetHostname();
    await assert.rejects(c.domainLookupByName('x'), LibvirtError);
    const s = c.state;
    assert.equal(s.connected, true);
    assert.equal(s.calls, 2);
    assert.equal(s.errors, 1);
    assert.equal(s.connectionErrors, 0);
    assert.equal(s.reconnects, 0);
    assert.equal(s.inFlight, 0);
  });

  test('close() closes the connection; later calls reject; close is idempotent', async () => {
    const c = client();
    await c.connectGetHostname();
    await c.close();
    await c.close();
    assert.equal(server.callsOf(Proc.CONNECT_CLOSE).length, 1);
    assert.equal(c.connected, false);
    await assert.rejects(
      c.connectGetHostname(),
      (err: unknown) => err instanceof LibvirtConnectionError && err.reason === 'CLOSED_LOCALLY',
    );
  });

  test('getAllDomainStats through the client decodes the real reply', async () => {
    server.on(Proc.CONNECT_GET_ALL_DOMAIN_STATS, () => ({
      payload: recordedFrame('get_all_domain_stats').payload,
    }));
    const c = client();
    const records = await c.getAllDomainStats({ stats: 0, flags: 0 });
    assert.ok(records.length >= 6);
    assert.ok(records.every((r) => r.params.some((p) => p.field === 'state.state')));
  });
});
