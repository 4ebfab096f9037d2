// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { LibvirtConnection } from '../../../src/libvirt/connection.ts';
import type { LibvirtConnectionOptions } from '../../../src/libvirt/index.ts';
import { DomainEventId, KEEPALIVE_PROC } from '../../../src/libvirt/constants.ts';
import { LibvirtAbortError, LibvirtConnectionError, LibvirtError } from '../../../src/libvirt/errors.ts';
import { Proc } from '../../../src/libvirt/constants.ts';
import { decodeGetAllDomainStatsRet } from '../../../src/libvirt/procedures.ts';
import { clockDeadline } from '../../../src/libvirt/signals.ts';
import { XdrReader, XdrWriter } from '../../../src/libvirt/xdr.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';
import { settled } from '../../helpers/settled.ts';
import { FakeLibvirtServer, waitFor, type FakeCall } from './fake-server.ts';
import { recordedFrame } from './recorded.ts';

const DOM = { name: 'instance-00000001', uuid: '11111111-2222-3333-4444-555555555501', id: 6 };

/** A procedure whose replies the test controls: each call is held until released. */
const ECHO = Proc.CONNECT_GET_HOSTNAME;
const str = (s: string): Buffer => new XdrWriter().string(s).finish();

let server: FakeLibvirtServer;
let conns: LibvirtConnection[] = [];

async function open(options: LibvirtConnectionOptions = {}): Promise<LibvirtConnection> {
  // 30 s: a hang guard, not a timing (a 1-2 s bound on the real clock can fail under CPU load, issue 15
  // item 16); tests of the open deadline pass a ManualClock.
  const c = await LibvirtConnection.open({ socketPath: server.path, connectTimeoutMs: 30_000, ...options });
  conns.push(c);
  return c;
}

beforeEach(async () => {
  server = await FakeLibvirtServer.start();
});
afterEach(async () => {
  for (const c of conns) c.destroy();
  conns = [];
  await server.close();
});

describe('LibvirtConnection open sequence', () => {
  test('AUTH_LIST, CONNECT_OPEN read-only with the URI name, then keepalive negotiation', async () => {
    const c = await open({ uri: 'test+unix:///default' });
    assert.deepEqual(
      server.calls.map((x) => x.proc),
      [Proc.AUTH_LIST, Proc.CONNECT_OPEN, Proc.CONNECT_SUPPORTS_FEATURE],
    );
    const openCall = server.callsOf(Proc.CONNECT_OPEN)[0];
    assert.ok(openCall !== undefined);
    const r = new XdrReader(openCall.payload);
    assert.equal(
      r.optional((x) => x.string(100)),
      'test:///default',
    );
    assert.equal(r.u32(), 1, 'VIR_CONNECT_RO');
    const feature = server.callsOf(Proc.CONNECT_SUPPORTS_FEATURE)[0];
    assert.equal(new XdrReader(feature?.payload ?? Buffer.alloc(4)).i32(), 10);
    assert.equal(c.keepaliveEnabled, true);
    // serials are distinct and increasing
    const serials = server.calls.map((x) => x.serial);
    assert.deepEqual(
      serials,
      [...serials].sort((a, b) => a - b),
    );
    assert.equal(new Set(serials).size, serials.length);
  });

  test('readOnly: false opens without VIR_CONNECT_RO', async () => {
    await open({ readOnly: false });
    const r = new XdrReader(server.callsOf(Proc.CONNECT_OPEN)[0]?.payload ?? Buffer.alloc(0));
    assert.equal(
      r.optional((x) => x.string(100)),
      'qemu:///system',
    );
    assert.equal(r.u32(), 0);
  });

  test('no keepalive when the daemon does not support it', async () => {
    server.on(Proc.CONNECT_SUPPORTS_FEATURE, () => ({ payload: new XdrWriter().i32(0).finish() }));
    const c = await open();
    assert.equal(c.keepaliveEnabled, false);
  });

  test('polkit: AUTH_LIST [2] leads to AUTH_POLKIT before CONNECT_OPEN', async () => {
    server.on(Proc.AUTH_LIST, () => ({ payload: new XdrWriter().u32(1).i32(2).finish() }));
    server.on(Proc.AUTH_POLKIT, () => ({ payload: new XdrWriter().i32(1).finish() }));
    await open();
    assert.deepEqual(server.calls.map((x) => x.proc).slice(0, 3), [
      Proc.AUTH_LIST,
      Proc.AUTH_POLKIT,
      Proc.CONNECT_OPEN,
    ]);
  });

  test('polkit refusal surfaces as the libvirt error', async () => {
    server.on(Proc.AUTH_LIST, () => ({ payload: new XdrWriter().u32(1).i32(2).finish() }));
    server.on(Proc.AUTH_POLKIT, () => ({
      error: { code: 45, domain: 7, message: 'authentication failed: polkit' },
    }));
    await assert.rejects(
      open(),
      (err: unknown) => err instanceof LibvirtError && err.codeName === 'AUTH_FAILED',
    );
  });

  test('SASL-only servers are refused with a clear typed error', async () => {
    server.on(Proc.AUTH_LIST, () => ({ payload: new XdrWriter().u32(1).i32(1).finish() }));
    await assert.rejects(
      open(),
      (err: unknown) =>
        err instanceof LibvirtConnectionError &&
        err.reason === 'AUTH_UNSUPPORTED' &&
        /SASL authentication is not supported; use the read-only unix socket or TLS/.test(err.message),
    );
    assert.equal(server.callsOf(Proc.CONNECT_OPEN).length, 0);
  });

  test('a missing socket names the path', async () => {
    const missing = path.join(os.tmpdir(), 'no-such-dir-libvirt', 'libvirt-sock-ro');
    await assert.rejects(
      LibvirtConnection.open({ socketPath: missing }),
      (err: unknown) =>
        err instanceof LibvirtConnectionError &&
        err.reason === 'ENOENT' &&
        err.message.includes(missing) &&
        err.address === missing,
    );
  });

  test('a socket nobody listens on is ECONNREFUSED', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lv-refused-'));
    const p = path.join(dir, 'sock');
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(p, resolve));
    // Close the listener but keep the socket file: connecting then gets ECONNREFUSED.
    const handle = (srv as unknown as { _handle: { close: () => void } | null })._handle;
    handle?.close();
    try {
      await assert.rejects(
        LibvirtConnection.open({ socketPath: p }),
        (err: unknown) =>
          err instanceof LibvirtConnectionError && ['ECONNREFUSED', 'ENOENT'].includes(err.reason),
      );
    } finally {
      srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a daemon that accepts but never answers fails at the connect timeout, not before', async () => {
    server.on(Proc.AUTH_LIST, () => ({ hold: true }));
    const clock = new ManualClock();
    const opening = open({ connectTimeoutMs: 150, clock });
    await waitFor(() => server.callsOf(Proc.AUTH_LIST).length === 1, 'AUTH_LIST');
    clock.advance(149);
    assert.equal(await settled(opening), false, 'still waiting 1 ms before the timeout');
    clock.advance(1);
    await assert.rejects(
      opening,
      (err: unknown) => err instanceof LibvirtConnectionError && err.reason === 'CONNECT_TIMEOUT',
    );
    await waitFor(() => server.last.socket.destroyed || server.last.socket.readableEnded, 'socket closed');
  });

  test('opening is abortable by the caller', async () => {
    server.on(Proc.AUTH_LIST, () => ({ hold: true }));
    const ac = new AbortController();
    const opening = open({ signal: ac.signal });
    await waitFor(() => server.callsOf(Proc.AUTH_LIST).length === 1, 'AUTH_LIST');
    ac.abort();
    await assert.rejects(opening, LibvirtAbortError);
  });
});

describe('LibvirtConnection calls', () => {
  test('pipelined calls are matched by serial even when replies come out of order', async () => {
    const held: FakeCall[] = [];
    server.on(ECHO, (call) => {
      held.push(call);
      return { hold: true };
    });
    const c = await open();
    const results = [c.connectGetHostname(), c.connectGetHostname(), c.connectGetHostname()];
    await waitFor(() => held.length === 3);
    // answer in reverse order, each with a payload naming its serial
    for (const call of [...held].reverse())
      call.conn.reply(call.serial, call.proc, { payload: str(`s${call.serial}`) });
    const values = await Promise.all(results);
    assert.deepEqual(
      values,
      held.map((h) => `s${h.serial}`),
    );
  });

  test('an aborted call rejects at once; its late reply is discarded, never delivered to another call', async () => {
    const held: FakeCall[] = [];
    server.on(ECHO, (call) => {
      held.push(call);
      return { hold: true };
    });
    const c = await open();
    const ac = new AbortController();
    const first = c.connectGetHostname({ signal: ac.signal });
    await waitFor(() => held.length === 1);
    ac.abort();
    // The daemon holds the reply for ever, so a rejection can only come from the abort itself.
    await assert.rejects(
      first,
      (err: unknown) => err instanceof Error && err.name === 'AbortError' && err instanceof LibvirtAbortError,
    );
    assert.equal(c.abandonedInFlight, 1);
    assert.equal(c.inFlight, 1, 'the abandoned call keeps its slot');

    const second = c.connectGetHostname();
    await waitFor(() => held.length === 2);
    const [a, b] = held;
    assert.ok(a !== undefined && b !== undefined);
    a.conn.reply(a.serial, a.proc, { payload: str('late reply of the abandoned call') });
    await waitFor(() => c.abandonedInFlight === 0);
    b.conn.reply(b.serial, b.proc, { payload: str('second') });
    assert.equal(await second, 'second');
    assert.equal(c.inFlight, 0);
  });

  test('a timeout signal marks the abort as a timeout', async () => {
    const held: FakeCall[] = [];
    server.on(ECHO, (call) => {
      held.push(call);
      return { hold: true };
    });
    const c = await open();
    // A deadline signal (TimeoutError reason, as AbortSignal.timeout gives) on a clock the test moves.
    const clock = new ManualClock();
    const call = c.connectGetHostname({ signal: clockDeadline(clock, 20).signal });
    await waitFor(() => held.length === 1, 'the call held by the daemon');
    clock.advance(20);
    await assert.rejects(
      call,
      (err: unknown) => err instanceof LibvirtAbortError && err.timedOut && /timed out/.test(err.message),
    );
  });

  test('an already aborted signal rejects without sending', async () => {
    const c = await open();
    const before = server.calls.length;
    await assert.rejects(c.connectGetHostname({ signal: AbortSignal.abort() }), LibvirtAbortError);
    assert.equal(server.calls.length, before);
  });

  test('at most maxInFlight calls are sent; abandoned calls keep counting; the local queue is abortable', async () => {
    const held: FakeCall[] = [];
    server.on(ECHO, (call) => {
      held.push(call);
      return { hold: true };
    });
    const c = await open({ maxInFlight: 2 });
    const ac1 = new AbortController();
    const ac2 = new AbortController();
    const p1 = c.connectGetHostname({ signal: ac1.signal });
    const p2 = c.connectGetHostname({ signal: ac2.signal });
    await waitFor(() => held.length === 2);
    ac1.abort();
    ac2.abort();
    await assert.rejects(p1, LibvirtAbortError);
    await assert.rejects(p2, LibvirtAbortError);
    assert.equal(c.abandonedInFlight, 2);

    // Both slots are pinned by abandoned calls: new calls wait locally.
    const acQueued = new AbortController();
    const queuedAborted = c.connectGetHostname({ signal: acQueued.signal });
    const p3 = c.connectGetHostname();
    assert.equal(c.queued, 2);
    await new Promise((r) => setImmediate(r));
    assert.equal(held.length, 2, 'nothing sent beyond the cap');
    acQueued.abort();
    await assert.rejects(
      queuedAborted,
      (err: unknown) => err instanceof LibvirtAbortError && /free slot/.test(err.message),
    );
    assert.equal(c.queued, 1);

    // One late reply frees one slot: the queued call goes out.
    const [h1] = held;
    assert.ok(h1 !== undefined);
    h1.conn.reply(h1.serial, h1.proc, { payload: str('late') });
    await waitFor(() => held.length === 3);
    const h3 = held[2];
    assert.ok(h3 !== undefined);
    h3.conn.reply(h3.serial, h3.proc, { payload: str('third') });
    assert.equal(await p3, 'third');
    assert.equal(c.abandonedInFlight, 1);
  });

  test('libvirt error replies become LibvirtError with every field', async () => {
    server.on(Proc.DOMAIN_LOOKUP_BY_NAME, () => ({
      error: {
        code: 42,
        domain: 10,
        message: "Domain not found: no domain with matching name 'x'",
        level: 2,
        str1: 'Domain not found: %s',
        str2: "no domain with matching name 'x'",
        int1: -1,
        int2: -1,
      },
    }));
    const c = await open();
    await assert.rejects(c.domainLookupByName('x'), (err: unknown) => {
      assert.ok(err instanceof LibvirtError);
      assert.equal(err.code, 42);
      assert.equal(err.codeName, 'NO_DOMAIN');
      assert.equal(err.domain, 10);
      assert.equal(err.level, 2);
      assert.equal(err.str1, 'Domain not found: %s');
      assert.equal(err.str2, "no domain with matching name 'x'");
      assert.equal(err.str3, null);
      assert.equal(err.int1, -1);
      assert.equal(err.procedure, Proc.DOMAIN_LOOKUP_BY_NAME);
      assert.match(err.message, /Domain not found/);
      return true;
    });
    // the connection is still usable
    server.on(ECHO, () => ({ payload: str('still here') }));
    assert.equal(await c.connectGetHostname(), 'still here');
  });

  test('domainGetMetadata returns null for VIR_ERR_NO_DOMAIN_METADATA and sends type, uri and flags', async () => {
    let seen: FakeCall | undefined;
    server.on(Proc.DOMAIN_GET_METADATA, (call) => {
      seen = call;
      return { error: { code: 80, domain: 20, message: 'metadata not found' } };
    });
    const c = await open();
    assert.equal(await c.domainGetMetadata(DOM, 2, 'http://openstack.org/xmlns/libvirt/nova/1.1', 1), null);
    assert.ok(seen !== undefined);
    const r = new XdrReader(seen.payload);
    assert.equal(r.string(100), DOM.name);
    r.opaqueFixed(16);
    assert.equal(r.i32(), DOM.id);
    assert.equal(r.i32(), 2);
    assert.equal(
      r.optional((x) => x.string(100)),
      'http://openstack.org/xmlns/libvirt/nova/1.1',
    );
    assert.equal(r.u32(), 1);
    r.expectEnd();
  });

  test('getAllDomainStats encodes domains, stats and bit-31 flags, and decodes a real reply', async () => {
    let seen: FakeCall | undefined;
    const real = recordedFrame('get_all_domain_stats').payload;
    server.on(Proc.CONNECT_GET_ALL_DOMAIN_STATS, (call) => {
      seen = call;
      return { payload: real };
    });
    const c = await open();
    const records = await c.getAllDomainStats({ domains: [DOM], stats: 1 | 2, flags: (1 << 29) | (1 << 31) });
    assert.deepEqual(records, decodeGetAllDomainStatsRet(real));
    assert.ok(seen !== undefined);
    const r = new XdrReader(seen.payload);
    assert.equal(r.u32(), 1);
    assert.equal(r.string(100), DOM.name);
    assert.equal(r.opaqueFixed(16).toString('hex'), '11111111222233334444555555555501');
    assert.equal(r.i32(), 6);
    assert.equal(r.u32(), 3);
    assert.equal(r.u32(), 0xa0000000);
    r.expectEnd();
  });

  test('an abandoned bulk stats call hands its late reply, decoded, to onLateReply only', async () => {
    const real = recordedFrame('get_all_domain_stats').payload;
    const held: FakeCall[] = [];
    server.on(Proc.CONNECT_GET_ALL_DOMAIN_STATS, (call) => {
      held.push(call);
      return { hold: true };
    });
    const c = await open();
    const late: unknown[] = [];
    const ac = new AbortController();
    const first = c.getAllDomainStats(
      { domains: [DOM], stats: 1, flags: 0 },
      { signal: ac.signal, onLateReply: (records) => late.push(records) },
    );
    await waitFor(() => held.length === 1);
    ac.abort();
    await assert.rejects(first, LibvirtAbortError);
    // A hook that throws does not hurt the connection.
    const ac2 = new AbortController();
    const second = c.getAllDomainStats(
      { domains: [DOM], stats: 1, flags: 0 },
      {
        signal: ac2.signal,
        onLateReply: () => {
          throw new Error('hook failure');
        },
      },
    );
    await waitFor(() => held.length === 2);
    ac2.abort();
    await assert.rejects(second, LibvirtAbortError);
    const [a, b] = held;
    assert.ok(a !== undefined && b !== undefined);
    a.conn.reply(a.serial, a.proc, { payload: real });
    b.conn.reply(b.serial, b.proc, { payload: real });
    await waitFor(() => c.abandonedInFlight === 0);
    assert.deepEqual(late, [decodeGetAllDomainStatsRet(real)]);
    assert.equal(c.closed, false);
    assert.equal(c.inFlight, 0);
  });

  test('a reply that does not decode rejects only that call', async () => {
    server.on(Proc.CONNECT_GET_LIB_VERSION, () => ({ payload: Buffer.from([0, 0, 1]) }));
    server.on(ECHO, () => ({ payload: str('ok') }));
    const c = await open();
    await assert.rejects(
      c.connectGetLibVersion(),
      (err: unknown) => (err as Error).name === 'XdrDecodeError',
    );
    assert.equal(await c.connectGetHostname(), 'ok');
  });

  test('lifecycle events are emitted with decoded fields', async () => {
    server.on(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, () => ({
      payload: new XdrWriter().i32(7).finish(),
    }));
    const c = await open();
    const id = await c.registerLifecycleEvents(null);
    assert.equal(id, 7);
    const reg = new XdrReader(
      server.callsOf(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY)[0]?.payload ?? Buffer.alloc(0),
    );
    assert.equal(reg.i32(), 0, 'VIR_DOMAIN_EVENT_ID_LIFECYCLE');
    assert.equal(
      reg.optional((x) => x.string(100)),
      null,
    );
    const got = new Promise((resolve) => c.once('lifecycle', resolve));
    server.last.sendEvent(
      Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE,
      recordedFrame('event_lifecycle_suspended').payload,
    );
    const event = (await got) as { domain: { name: string }; eventName: string; event: number };
    assert.equal(event.domain.name, 'lab-plain-1');
    assert.equal(event.event, 3);
    assert.equal(event.eventName, 'suspended');
  });

  test('balloon-change events: registered with event id 13, emitted decoded', async () => {
    server.on(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, () => ({
      payload: new XdrWriter().i32(5).finish(),
    }));
    const c = await open();
    assert.equal(await c.registerDomainEvents(DomainEventId.BALLOON_CHANGE, null), 5);
    const reg = new XdrReader(
      server.callsOf(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY)[0]?.payload ?? Buffer.alloc(0),
    );
    assert.equal(reg.i32(), 13, 'VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE');
    const got = new Promise((resolve) => c.once('balloon', resolve));
    // Captured from libvirt 9.0.0 on the lab (proc 331) after `virsh setmem instance-00000001 110M --live`.
    server.last.sendEvent(
      Proc.DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE,
      Buffer.from(
        '0000000500000011696e7374616e63652d3030303030303031000000111111112222333344445555555555010000000b000000000001b800',
        'hex',
      ),
    );
    assert.deepEqual(await got, {
      callbackId: 5,
      domain: { name: 'instance-00000001', uuid: '11111111-2222-3333-4444-555555555501', id: 11 },
      actualKiB: 112640,
    });
  });

  test('unknown events are passed on as message events; garbage events are ignored', async () => {
    const c = await open();
    const got = new Promise<[number, Buffer]>((resolve) =>
      c.once('message', (proc, payload) => {
        resolve([proc, payload]);
      }),
    );
    server.last.sendEvent(Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE, Buffer.from([1, 2, 3]));
    server.last.sendEvent(319, Buffer.from([0, 0, 0, 1]));
    const [proc] = await got;
    assert.equal(proc, 319);
    assert.equal(c.closed, false);
  });
});

describe('LibvirtConnection closing and failures', () => {
  test('close() sends CONNECT_CLOSE, rejects pending calls at once, is idempotent and emits close once', async () => {
    server.on(ECHO, () => ({ hold: true }));
    const clock = new ManualClock();
    const c = await open({ clock });
    const closes: unknown[] = [];
    c.on('close', (err) => closes.push(err));
    const pending = c.connectGetHostname();
    await waitFor(() => server.callsOf(ECHO).length === 1);
    const p1 = c.close();
    const p2 = c.close();
    await assert.rejects(
      pending,
      (err: unknown) => err instanceof LibvirtConnectionError && err.reason === 'CLOSED_LOCALLY',
    );
    // The clock never moves: close() finishes on the daemon's answer, not on its close timeout.
    await Promise.all([p1, p2]);
    assert.equal(server.callsOf(Proc.CONNECT_CLOSE).length, 1);
    assert.deepEqual(closes, [undefined]);
    await assert.rejects(c.connectGetHostname(), LibvirtConnectionError);
    await c.close();
  });

  test('close() stays bounded when the daemon never answers CONNECT_CLOSE', async () => {
    server.on(Proc.CONNECT_CLOSE, () => ({ hold: true }));
    const clock = new ManualClock();
    const c = await open({ closeTimeoutMs: 100, clock });
    const closing = c.close();
    await waitFor(() => server.callsOf(Proc.CONNECT_CLOSE).length === 1, 'CONNECT_CLOSE');
    clock.advance(99);
    assert.equal(await settled(closing), false, 'waits for the answer until the close timeout');
    clock.advance(1);
    await closing;
    assert.equal(c.closed, true);
  });

  test('when the daemon goes away every pending call rejects at once with a connection error', async () => {
    server.on(ECHO, () => ({ hold: true }));
    const c = await open();
    const closed = new Promise<unknown>((resolve) => c.once('close', resolve));
    const calls = [c.connectGetHostname(), c.connectGetHostname(), c.connectGetHostname()];
    await waitFor(() => server.callsOf(ECHO).length === 3);
    await server.stop();
    for (const p of calls) {
      await assert.rejects(
        p,
        (err: unknown) => err instanceof LibvirtConnectionError && err.reason === 'CLOSED',
      );
    }
    const err = await closed;
    assert.ok(err instanceof LibvirtConnectionError && /closed the connection/.test(err.message));
    assert.equal(c.closed, true);
  });

  test('a frame over the maximum message size closes the connection with a typed error', async () => {
    const c = await open({ maxMessageBytes: 1024 });
    server.on(ECHO, () => ({ payload: Buffer.alloc(2048) }));
    await assert.rejects(
      c.connectGetHostname(),
      (err: unknown) =>
        err instanceof LibvirtConnectionError &&
        err.reason === 'FRAME_INVALID' &&
        /maximum message size/.test(err.message),
    );
    assert.equal(c.closed, true);
  });

  test('garbage from the peer closes the connection', async () => {
    const c = await open();
    const closed = new Promise<unknown>((resolve) => c.once('close', resolve));
    server.last.writeRaw(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    const err = await closed;
    assert.ok(err instanceof LibvirtConnectionError && err.reason === 'FRAME_INVALID');
  });
});

describe('LibvirtConnection keepalive', () => {
  test('server PINGs are answered with PONGs', async () => {
    const c = await open();
    server.last.sendKeepalive(KEEPALIVE_PROC.PING);
    server.last.sendKeepalive(KEEPALIVE_PROC.PING);
    await waitFor(() => server.last.pongsReceived === 2, 'two pongs');
    assert.equal(c.closed, false);
  });

  test('the client PINGs an idle daemon and stays up while it answers', async () => {
    const clock = new ManualClock();
    const c = await open({ keepaliveIntervalMs: 40, keepaliveCount: 3, clock });
    // Ten intervals, far more than keepaliveCount: each PING's PONG keeps the connection alive.
    for (let i = 1; i <= 10; i++) {
      clock.advance(40);
      await waitFor(() => server.last.pongsSent === i, `PONG ${i}`);
      await waitFor(() => c.lastReceivedAt === clock.now(), `PONG ${i} received`);
    }
    assert.equal(server.last.pingsReceived, 10);
    assert.equal(c.closed, false);
  });

  // Issue 15 item 16: this test timed real milliseconds and failed about one CI run in three on a loaded
  // machine; it now runs on a clock that only the test moves.
  test('a daemon that goes silent (frozen) is declared dead after keepaliveCount intervals', async () => {
    server.on(ECHO, () => ({ hold: true }));
    const clock = new ManualClock();
    const c = await open({ keepaliveIntervalMs: 40, keepaliveCount: 3, clock });
    server.answerPings = false;
    const pending = c.connectGetHostname();
    await waitFor(() => server.callsOf(ECHO).length === 1, 'the call');
    clock.advance(40); // 40 ms of silence: PING
    await waitFor(() => server.last.pingsReceived === 1, 'first PING');
    clock.advance(40); // 80 ms: PING
    await waitFor(() => server.last.pingsReceived === 2, 'second PING');
    assert.equal(await settled(pending), false, 'alive before keepaliveCount intervals of silence');
    assert.equal(c.closed, false);
    clock.advance(40); // 120 ms = 3 intervals: dead
    await assert.rejects(
      pending,
      (err: unknown) =>
        err instanceof LibvirtConnectionError &&
        err.reason === 'KEEPALIVE_TIMEOUT' &&
        err.message.includes('for 120 ms'),
    );
    assert.equal(c.closed, true);
  });

  test('no client PINGs when keepalive is disabled', async () => {
    const clock = new ManualClock();
    const c = await open({ keepaliveIntervalMs: 0, clock });
    clock.advance(60_000);
    assert.equal(clock.pending, 0, 'no timer at all');
    assert.equal(c.keepaliveEnabled, false);
    assert.equal(server.last.pingsReceived, 0);
    assert.equal(server.callsOf(Proc.CONNECT_SUPPORTS_FEATURE).length, 0);
  });
});

describe('LibvirtConnection over an already-connected stream', () => {
  test('handshake() on a socket the caller opened', async () => {
    const socket = net.createConnection({ path: server.path });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const c = new LibvirtConnection(socket, { kind: 'unix', path: server.path });
    conns.push(c);
    await c.handshake('qemu:///system');
    server.on(ECHO, () => ({ payload: str('tunnelled') }));
    assert.equal(await c.connectGetHostname(), 'tunnelled');
  });
});
