// SPDX-License-Identifier: Apache-2.0
// I/O error and watchdog events: a listener that throws is isolated and counted by event (it was caught
// and forgotten before: an `emit` inside the decoder's try/catch), and an event that does not decode is
// counted as an undecodable-event anomaly (it was dropped without a trace).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';

import { LibvirtClient } from '../../../src/libvirt/client.ts';
import type { ConnectionAnomaly } from '../../../src/libvirt/index.ts';
import { Proc } from '../../../src/libvirt/constants.ts';
import {
  encodeIoErrorMessage,
  encodeWatchdogMessage,
  type IoErrorEvent,
  type WatchdogEvent,
} from '../../../src/libvirt/guest-and-events.ts';
import { XdrWriter } from '../../../src/libvirt/xdr.ts';
import { FakeLibvirtServer } from './fake-server.ts';

const DOM = { name: 'instance-00000001', uuid: '11111111-2222-3333-4444-555555555501', id: 6 };
const str = (s: string): Buffer => new XdrWriter().string(s).finish();

let server: FakeLibvirtServer;
let client: LibvirtClient;
let anomalies: ConnectionAnomaly[];

beforeEach(async () => {
  server = await FakeLibvirtServer.start();
  // Each registration gets its own callback id, 1 then 2, as libvirtd numbers them.
  let id = 0;
  server.on(Proc.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, () => ({
    payload: new XdrWriter().i32(++id).finish(),
  }));
  server.on(Proc.CONNECT_GET_HOSTNAME, () => ({ payload: str('h') }));
  anomalies = [];
  client = new LibvirtClient({
    socketPath: server.path,
    connectTimeoutMs: 30_000,
    onAnomaly: (a) => anomalies.push(a),
  });
});
afterEach(async () => {
  await client.close();
  await server.close();
});

test('a throwing ioError listener: the next listener gets the event, the error is counted under ioError', async () => {
  await client.subscribeIoError(null);
  client.on('ioError', () => {
    throw new Error('io listener bug');
  });
  const delivered = new Promise<IoErrorEvent>((resolve) => client.once('ioError', resolve));
  const event = {
    callbackId: 1,
    domain: DOM,
    srcPath: '/d.qcow2',
    devAlias: 'vda',
    action: 1,
    reason: 'enospc',
  };
  server.last.sendEvent(Proc.DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON, encodeIoErrorMessage(event, true));
  assert.equal((await delivered).reason, 'enospc');
  const state = client.state;
  assert.equal(state.listenerErrorsByEvent.ioError, 1);
  assert.equal(state.listenerErrorsByEvent.watchdog, 0);
  assert.equal(state.listenerErrors, 1);
  assert.equal(state.anomalies['listener-error'], 1);
  assert.deepEqual(
    anomalies.map((a) => [a.kind, a.event, (a.error as Error).message]),
    [['listener-error', 'ioError', 'io listener bug']],
  );
  assert.equal(await client.connectGetHostname(), 'h', 'the client carries on');
});

test('a throwing watchdog listener is counted under watchdog, once per event delivered', async () => {
  await client.subscribeWatchdog(null);
  client.on('watchdog', () => {
    throw new TypeError('watchdog listener bug');
  });
  let seen = 0;
  const twice = new Promise<void>((resolve) =>
    client.on('watchdog', () => {
      if (++seen === 2) resolve();
    }),
  );
  const payload = encodeWatchdogMessage({ callbackId: 1, domain: DOM, action: 1 });
  server.last.sendEvent(Proc.DOMAIN_EVENT_CALLBACK_WATCHDOG, payload);
  server.last.sendEvent(Proc.DOMAIN_EVENT_CALLBACK_WATCHDOG, payload);
  await twice;
  assert.equal(client.state.listenerErrorsByEvent.watchdog, 2);
  assert.equal(client.state.listenerErrorsByEvent.ioError, 0);
});

test('a watchdog event that does not decode is counted as undecodable-event; the next one is delivered', async () => {
  await client.subscribeWatchdog(null);
  const delivered = new Promise<WatchdogEvent>((resolve) => client.once('watchdog', resolve));
  // The callback id and half a domain: the decoder runs out of bytes.
  server.last.sendEvent(Proc.DOMAIN_EVENT_CALLBACK_WATCHDOG, new XdrWriter().i32(1).i32(99).finish());
  server.last.sendEvent(
    Proc.DOMAIN_EVENT_CALLBACK_WATCHDOG,
    encodeWatchdogMessage({ callbackId: 1, domain: DOM, action: 2 }),
  );
  assert.equal((await delivered).action, 2);
  assert.equal(client.state.anomalies['undecodable-event'], 1);
  assert.equal(client.state.droppedMessages, 1);
  const [first] = anomalies;
  assert.ok(first);
  assert.equal(first.kind, 'undecodable-event');
  assert.match(first.message, new RegExp(`procedure ${Proc.DOMAIN_EVENT_CALLBACK_WATCHDOG}`));
});
