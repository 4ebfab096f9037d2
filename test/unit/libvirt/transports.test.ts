// SPDX-License-Identifier: Apache-2.0
// TCP and TLS transports, against the fake libvirtd behind a local TCP or mutual-TLS terminating proxy
// (the certificates in test/fixtures/libvirt/pki are throw-away test files).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { LibvirtClient } from '../../../src/libvirt/client.ts';
import { LibvirtConnectionError } from '../../../src/libvirt/errors.ts';
import { Proc } from '../../../src/libvirt/constants.ts';
import { XdrReader, XdrWriter } from '../../../src/libvirt/xdr.ts';
import { FakeLibvirtServer } from './fake-server.ts';

const PKI = path.join(import.meta.dirname, '..', '..', 'fixtures', 'libvirt', 'pki');
const pem = (f: string): Buffer => readFileSync(path.join(PKI, f));

let server: FakeLibvirtServer;
let proxies: net.Server[] = [];

/** Forwards each accepted connection to the fake server's unix socket. */
function forward(socket: net.Socket): void {
  const upstream = net.createConnection({ path: server.path });
  socket.pipe(upstream).pipe(socket);
  socket.on('error', () => upstream.destroy());
  upstream.on('error', () => socket.destroy());
}

async function listen(s: net.Server): Promise<number> {
  proxies.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const address = s.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

beforeEach(async () => {
  server = await FakeLibvirtServer.start();
  server.on(Proc.CONNECT_GET_HOSTNAME, () => ({ payload: new XdrWriter().string('compute-1').finish() }));
});
afterEach(async () => {
  for (const p of proxies) p.close();
  proxies = [];
  await server.close();
});

describe('TCP transport', () => {
  test('qemu+tcp://127.0.0.1:PORT/system sends the name without host and port', async () => {
    const port = await listen(net.createServer(forward));
    const client = new LibvirtClient({ uri: `qemu+tcp://127.0.0.1:${port}/system` });
    try {
      assert.equal(await client.connectGetHostname(), 'compute-1');
      const r = new XdrReader(server.callsOf(Proc.CONNECT_OPEN)[0]?.payload ?? Buffer.alloc(0));
      assert.equal(
        r.optional((x) => x.string(100)),
        'qemu:///system',
      );
    } finally {
      await client.close();
    }
  });

  test('a closed TCP port is ECONNREFUSED naming host and port', async () => {
    const port = await listen(net.createServer());
    const closed = proxies.pop();
    await new Promise((r) => closed?.close(r));
    const client = new LibvirtClient({ uri: `qemu+tcp://127.0.0.1:${port}/system` });
    try {
      await assert.rejects(
        client.connectGetHostname(),
        (err: unknown) =>
          err instanceof LibvirtConnectionError &&
          err.reason === 'ECONNREFUSED' &&
          err.message.includes(`127.0.0.1:${port}`),
      );
    } finally {
      await client.close();
    }
  });
});

describe('TLS transport', () => {
  /**
   * A mutual-TLS front of the fake server that behaves as libvirtd does after the handshake: one byte, 1,
   * when it accepts the client certificate (`confirm`), or a closed connection when it refuses it.
   */
  async function tlsProxy(confirm: 'accept' | 'refuse' = 'accept'): Promise<number> {
    const s = tls.createServer(
      {
        key: pem('serverkey.pem'),
        cert: pem('servercert.pem'),
        ca: pem('cacert.pem'),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        if (confirm === 'refuse') {
          socket.end();
          return;
        }
        socket.write(Buffer.from([1]));
        forward(socket);
      },
    );
    s.on('tlsClientError', () => undefined);
    return await listen(s);
  }

  test('qemu+tls with pkipath: mutual TLS with libvirt file names', async () => {
    const port = await tlsProxy();
    const client = new LibvirtClient({ uri: `qemu+tls://localhost:${port}/system?pkipath=${PKI}` });
    try {
      assert.equal(await client.connectGetHostname(), 'compute-1');
      const r = new XdrReader(server.callsOf(Proc.CONNECT_OPEN)[0]?.payload ?? Buffer.alloc(0));
      assert.equal(
        r.optional((x) => x.string(100)),
        'qemu:///system',
      );
    } finally {
      await client.close();
    }
  });

  test('a client certificate libvirtd refuses after the handshake is a TLS-session close that says so', async () => {
    const port = await tlsProxy('refuse');
    const client = new LibvirtClient({ uri: `qemu+tls://localhost:${port}/system?pkipath=${PKI}` });
    try {
      await assert.rejects(
        client.connectGetHostname(),
        (err: unknown) =>
          err instanceof LibvirtConnectionError &&
          err.reason === 'CLOSED' &&
          /refused this client certificate/.test(err.message),
      );
    } finally {
      await client.close();
    }
  });

  test('a server certificate from another CA is a TLS error', async () => {
    const port = await tlsProxy();
    const client = new LibvirtClient({
      uri: `qemu+tls://localhost:${port}/system`,
      tls: { pkiPath: PKI, caFile: path.join(PKI, 'othercacert.pem') },
    });
    try {
      await assert.rejects(
        client.connectGetHostname(),
        (err: unknown) => err instanceof LibvirtConnectionError && err.reason === 'TLS',
      );
    } finally {
      await client.close();
    }
  });

  test('no_verify=1 skips server certificate verification', async () => {
    const port = await tlsProxy();
    const client = new LibvirtClient({
      uri: `qemu+tls://localhost:${port}/system?no_verify=1`,
      tls: { pkiPath: PKI, caFile: path.join(PKI, 'othercacert.pem') },
    });
    try {
      assert.equal(await client.connectGetHostname(), 'compute-1');
    } finally {
      await client.close();
    }
  });

  test('missing PKI files are reported by path', async () => {
    const client = new LibvirtClient({ uri: 'qemu+tls://localhost:1/system?pkipath=/nonexistent/pki' });
    try {
      await assert.rejects(
        client.connectGetHostname(),
        (err: unknown) =>
          err instanceof LibvirtConnectionError &&
          err.reason === 'TLS' &&
          err.message.includes('/nonexistent/pki/cacert.pem'),
      );
    } finally {
      await client.close();
    }
  });
});
