// SPDX-License-Identifier: Apache-2.0
// The exporter's own counters of the libvirt client's anomalies: served from the client's counts, over a
// real connection to the fake daemon (frames decoded and routed by the client, not counts set by hand).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';

import { createSelfMetrics } from '../../../src/http/self-metrics.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import { LibvirtClient } from '../../../src/libvirt/client.ts';
import { DomainEventId, MessageStatus, MessageType, Proc } from '../../../src/libvirt/constants.ts';
import { encodeWatchdogMessage } from '../../../src/libvirt/guest-and-events.ts';
import { XdrWriter } from '../../../src/libvirt/xdr.ts';
import { parseExposition } from '../../helpers/exposition.ts';
import { FakeLibvirtServer, frameOf } from '../libvirt/fake-server.ts';

const ECHO = Proc.CONNECT_GET_HOSTNAME;
const str = (s: string): Buffer => new XdrWriter().string(s).finish();
const ANOMALIES = 'libvirt_exporter_libvirt_anomalies_total';
const LISTENER_ERRORS = 'libvirt_exporter_libvirt_event_listener_errors_total';
const DOM = { name: 'instance-00000001', uuid: '11111111-2222-3333-4444-555555555501', id: 6 };

let server: FakeLibvirtServer;
let client: LibvirtClient | undefined;

beforeEach(async () => {
  server = await FakeLibvirtServer.start();
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  await server.close();
});

/** The samples of one family of the self registry, by the value of `label`. */
async function samplesOf(
  self: ReturnType<typeof createSelfMetrics>,
  name: string,
  label: string,
): Promise<Record<string, number>> {
  const family = parseExposition(await self.registry.metrics()).get(name);
  assert.ok(family, `${name} is served`);
  assert.equal(family.type, 'counter');
  return Object.fromEntries(family.samples.map((s) => [s.labels[label] ?? '', s.value]));
}

test('every anomaly kind is served at 0 before there is an inspector, and before anything happened', async () => {
  const self = createSelfMetrics();
  const zero = {
    unmatched_reply: 0,
    mismatched_reply: 0,
    unexpected_frame: 0,
    undecodable_event: 0,
    listener_error: 0,
  };
  assert.deepEqual(await samplesOf(self, ANOMALIES, 'kind'), zero);
  client = new LibvirtClient({ socketPath: server.path, connectTimeoutMs: 30_000 });
  const inspector = new LibvirtInspector({ client });
  self.inspector = () => inspector;
  assert.deepEqual(await samplesOf(self, ANOMALIES, 'kind'), zero);
});

test('a stray reply and a server-side CALL frame are counted under their kinds', async () => {
  const self = createSelfMetrics();
  server.on(ECHO, () => ({ payload: str('h') }));
  client = new LibvirtClient({ socketPath: server.path, connectTimeoutMs: 30_000 });
  const inspector = new LibvirtInspector({ client });
  self.inspector = () => inspector;
  assert.equal(await client.connectGetHostname(), 'h');
  // Two frames no call asked for, then the reply of a call: the socket delivers them in this order, so
  // once the call has its answer both were routed.
  server.last.writeRaw(frameOf(ECHO, MessageType.REPLY, 987654, MessageStatus.OK, str('stray')));
  server.last.writeRaw(frameOf(ECHO, MessageType.CALL, 5, MessageStatus.OK, str('a call from the daemon')));
  assert.equal(await client.connectGetHostname(), 'h');
  assert.deepEqual(await samplesOf(self, ANOMALIES, 'kind'), {
    unmatched_reply: 1,
    mismatched_reply: 0,
    unexpected_frame: 1,
    undecodable_event: 0,
    listener_error: 0,
  });
  // The grouped counts of the client agree with the kinds.
  assert.equal(client.state.droppedMessages, 2);
});

test('a reply of the wrong procedure is a mismatched_reply, counted once across the reconnection', async () => {
  const self = createSelfMetrics();
  client = new LibvirtClient({ socketPath: server.path, connectTimeoutMs: 30_000 });
  const inspector = new LibvirtInspector({ client });
  self.inspector = () => inspector;
  const held = new Promise<{ serial: number }>((resolve) => {
    server.on(ECHO, (call) => {
      resolve({ serial: call.serial });
      return { hold: true };
    });
  });
  const pending = client.connectGetHostname();
  const { serial } = await held;
  server.last.writeRaw(frameOf(Proc.CONNECT_GET_URI, MessageType.REPLY, serial, MessageStatus.OK, str('x')));
  await assert.rejects(pending);
  server.on(ECHO, () => ({ payload: str('after') }));
  assert.equal(await client.connectGetHostname(), 'after');
  const kinds = await samplesOf(self, ANOMALIES, 'kind');
  assert.equal(kinds['mismatched_reply'], 1);
  assert.equal(kinds['unmatched_reply'], 0);
});

test('a throwing watchdog listener beside the inspector\'s is served under event="watchdog"', async () => {
  const self = createSelfMetrics();
  const zero = {
    connect: 0,
    reconnect: 0,
    disconnect: 0,
    lifecycle: 0,
    balloon: 0,
    io_error: 0,
    watchdog: 0,
  };
  assert.deepEqual(await samplesOf(self, LISTENER_ERRORS, 'event'), zero);
  let id = 0;
  server.on(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, () => ({
    payload: new XdrWriter().i32(++id).finish(),
  }));
  client = new LibvirtClient({ socketPath: server.path, connectTimeoutMs: 30_000 });
  const inspector = new LibvirtInspector({ client });
  self.inspector = () => inspector;
  // The inspector subscribes lifecycle, balloon, I/O error and watchdog events (ids 1 to 4, in some order).
  await inspector.startEvents();
  const watchdogId = server
    .callsOf(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY)
    .findIndex((c) => c.payload.readInt32BE(0) === DomainEventId.WATCHDOG);
  assert.ok(watchdogId >= 0, 'the watchdog subscription was registered');
  client.on('watchdog', () => {
    throw new Error('listener bug');
  });
  const after = new Promise((resolve) => client?.once('watchdog', resolve));
  server.last.sendEvent(
    Proc.DOMAIN_EVENT_CALLBACK_WATCHDOG,
    encodeWatchdogMessage({ callbackId: watchdogId + 1, domain: DOM, action: 1 }),
  );
  await after;
  assert.deepEqual(await samplesOf(self, LISTENER_ERRORS, 'event'), { ...zero, watchdog: 1 });
  // The inspector's own listener, registered before the one that throws, counted the event.
  assert.deepEqual(
    inspector.domainEvents(new Set([DOM.uuid]), 60_000).map((e) => [e.event, e.count]),
    [['watchdog', 1]],
  );
  assert.equal((await samplesOf(self, ANOMALIES, 'kind'))['listener_error'], 1);
});
