// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { LibvirtUriError } from '../../../src/libvirt/errors.ts';
import {
  chooseLocalSocket,
  describeTarget,
  parseLibvirtUri,
  type ConnectTarget,
  type UriOptions,
} from '../../../src/libvirt/uri.ts';

const PKI = {
  caFile: '/etc/pki/CA/cacert.pem',
  certFile: '/etc/pki/libvirt/clientcert.pem',
  keyFile: '/etc/pki/libvirt/private/clientkey.pem',
};

interface Case {
  readonly uri: string;
  readonly options?: UriOptions;
  readonly name: string;
  readonly target: ConnectTarget;
  readonly transport?: string;
}

const CASES: Case[] = [
  {
    uri: 'qemu:///system',
    name: 'qemu:///system',
    target: {
      kind: 'unix',
      path: '/var/run/libvirt/libvirt-sock-ro',
      alternative: '/var/run/libvirt/virtqemud-sock-ro',
    },
    transport: 'unix',
  },
  {
    uri: 'qemu:///system',
    options: { readOnly: false },
    name: 'qemu:///system',
    target: {
      kind: 'unix',
      path: '/var/run/libvirt/libvirt-sock',
      alternative: '/var/run/libvirt/virtqemud-sock',
    },
  },
  {
    uri: 'qemu:///session',
    options: { env: { XDG_RUNTIME_DIR: '/run/user/1000' } },
    name: 'qemu:///session',
    target: {
      kind: 'unix',
      path: '/run/user/1000/libvirt/libvirt-sock',
      alternative: '/run/user/1000/libvirt/virtqemud-sock',
    },
  },
  {
    uri: 'qemu+unix:///system?socket=/run/libvirt/virtqemud-sock-ro',
    name: 'qemu:///system',
    target: { kind: 'unix', path: '/run/libvirt/virtqemud-sock-ro' },
    transport: 'unix',
  },
  {
    uri: 'qemu+unix:///system?mode=legacy&socket=/tmp/s',
    name: 'qemu:///system',
    target: { kind: 'unix', path: '/tmp/s' },
  },
  {
    uri: 'qemu+tcp://compute-1/system',
    name: 'qemu:///system',
    target: { kind: 'tcp', host: 'compute-1', port: 16509 },
    transport: 'tcp',
  },
  {
    uri: 'qemu+tcp://compute-1:1234/system',
    name: 'qemu:///system',
    target: { kind: 'tcp', host: 'compute-1', port: 1234 },
  },
  {
    uri: 'qemu+tcp://[fd00::1]:16509/system',
    name: 'qemu:///system',
    target: { kind: 'tcp', host: 'fd00::1', port: 16509 },
  },
  {
    uri: 'qemu+tcp:///system',
    name: 'qemu:///system',
    target: { kind: 'tcp', host: 'localhost', port: 16509 },
  },
  {
    uri: 'qemu+tls://compute-1/system',
    name: 'qemu:///system',
    target: { kind: 'tls', host: 'compute-1', port: 16514, ...PKI, verify: true },
    transport: 'tls',
  },
  {
    uri: 'qemu://compute-1/system',
    name: 'qemu:///system',
    target: { kind: 'tls', host: 'compute-1', port: 16514, ...PKI, verify: true },
    transport: 'tls',
  },
  {
    uri: 'qemu+tls://user@compute-1:9999/system?pkipath=/srv/pki&no_verify=1',
    name: 'qemu:///system',
    target: {
      kind: 'tls',
      host: 'compute-1',
      port: 9999,
      caFile: '/srv/pki/cacert.pem',
      certFile: '/srv/pki/clientcert.pem',
      keyFile: '/srv/pki/clientkey.pem',
      verify: false,
    },
  },
  {
    uri: 'qemu+tls://compute-1/system?pkipath=/srv/pki',
    options: { tls: { caFile: '/x/ca.pem', verify: false } },
    name: 'qemu:///system',
    target: {
      kind: 'tls',
      host: 'compute-1',
      port: 16514,
      caFile: '/x/ca.pem',
      certFile: '/srv/pki/clientcert.pem',
      keyFile: '/srv/pki/clientkey.pem',
      verify: false,
    },
  },
  {
    uri: 'test+unix:///default',
    name: 'test:///default',
    target: {
      kind: 'unix',
      path: '/var/run/libvirt/libvirt-sock-ro',
      alternative: '/var/run/libvirt/virttestd-sock-ro',
    },
  },
  {
    uri: 'test:///default',
    name: 'test:///default',
    target: {
      kind: 'unix',
      path: '/var/run/libvirt/libvirt-sock-ro',
      alternative: '/var/run/libvirt/virttestd-sock-ro',
    },
  },
  {
    // server-side parameters are forwarded, client-side ones stripped
    uri: 'qemu+unix:///system?socket=/tmp/s&foo=bar%20baz&no_tty=1',
    name: 'qemu:///system?foo=bar%20baz',
    target: { kind: 'unix', path: '/tmp/s' },
  },
  {
    uri: 'qemu+tcp://h/system?name=qemu:///embed',
    name: 'qemu:///embed',
    target: { kind: 'tcp', host: 'h', port: 16509 },
  },
  {
    uri: 'remote+tcp://h/',
    name: '',
    target: { kind: 'tcp', host: 'h', port: 16509 },
  },
  {
    uri: 'qemu+tcp://compute-1/system',
    options: { socketPath: '/tmp/override' },
    name: 'qemu:///system',
    target: { kind: 'unix', path: '/tmp/override' },
  },
  {
    uri: 'QEMU+UNIX:///system',
    name: 'qemu:///system',
    target: {
      kind: 'unix',
      path: '/var/run/libvirt/libvirt-sock-ro',
      alternative: '/var/run/libvirt/virtqemud-sock-ro',
    },
  },
];

describe('parseLibvirtUri', () => {
  for (const c of CASES) {
    test(`${c.uri}${c.options ? ` ${JSON.stringify(c.options)}` : ''}`, () => {
      // No socket exists here (the host's own sockets must not decide the answer).
      const parsed = parseLibvirtUri(c.uri, { fileExists: () => false, ...c.options });
      assert.equal(parsed.name, c.name);
      assert.deepEqual(parsed.target, c.target);
      if (c.transport !== undefined) assert.equal(parsed.transport, c.transport);
    });
  }

  test('fields of a parsed URI', () => {
    const p = parseLibvirtUri('qemu+tcp://h:1/system?x=1');
    assert.equal(p.driver, 'qemu');
    assert.equal(p.host, 'h');
    assert.equal(p.path, '/system');
    assert.deepEqual([...p.serverParams], [['x', '1']]);
  });

  const ERRORS: [string, RegExp, UriOptions?][] = [
    ['qemu+ssh://root@compute-1/system', /ssh transport is not supported/],
    ['qemu+libssh://compute-1/system', /libssh transport is not supported/],
    ['qemu+libssh2://compute-1/system', /libssh2 transport is not supported/],
    ['qemu+ext:///system?command=/bin/x', /ext transport is not supported/],
    ['qemu+carrier-pigeon:///system', /unknown transport/],
    ['', /not a libvirt URI/],
    ['/var/run/libvirt/libvirt-sock', /not a libvirt URI/],
    ['qemu:system', /not a libvirt URI/],
    ['qemu+unix://host/system', /takes no host/],
    ['qemu+tcp://h:99999/system', /out of range/],
    ['qemu+unix:///system?socket=relative/path', /absolute path/],
    ['qemu+tls://h/system?no_verify=yes', /must be an integer/],
    ['qemu:///system?x=%zz', /percent-encoding/],
    ['qemu:///session', /XDG_RUNTIME_DIR/, { env: {} }],
  ];
  for (const [uri, message, options] of ERRORS) {
    test(`rejects ${JSON.stringify(uri)}`, () => {
      assert.throws(
        () => parseLibvirtUri(uri, options),
        (err: unknown) => err instanceof LibvirtUriError && message.test(err.message) && err.uri === uri,
      );
    });
  }

  test('describeTarget', () => {
    assert.equal(describeTarget({ kind: 'unix', path: '/x' }), '/x');
    assert.equal(describeTarget({ kind: 'tcp', host: 'h', port: 1 }), 'tcp://h:1');
    assert.equal(describeTarget({ kind: 'tcp', host: '::1', port: 1 }), 'tcp://[::1]:1');
  });
});

describe("local URIs find the modular or the monolithic daemon, as libvirt's client does", () => {
  const only =
    (...paths: string[]) =>
    (p: string): boolean =>
      paths.includes(p);
  const target = (uri: string, options: UriOptions): ConnectTarget => parseLibvirtUri(uri, options).target;

  test('modular daemons only: qemu:///system reaches virtqemud-sock-ro, read-write virtqemud-sock', () => {
    const fileExists = only('/var/run/libvirt/virtqemud-sock-ro', '/var/run/libvirt/virtqemud-sock');
    assert.deepEqual(target('qemu:///system', { fileExists }), {
      kind: 'unix',
      path: '/var/run/libvirt/virtqemud-sock-ro',
      alternative: '/var/run/libvirt/libvirt-sock-ro',
    });
    assert.equal(
      target('qemu:///system', { fileExists, readOnly: false }).kind === 'unix' &&
        (target('qemu:///system', { fileExists, readOnly: false }) as { path: string }).path,
      '/var/run/libvirt/virtqemud-sock',
    );
  });

  test('monolithic libvirtd only: libvirt-sock-ro', () => {
    const fileExists = only('/var/run/libvirt/libvirt-sock-ro', '/var/run/libvirt/libvirt-sock');
    assert.equal(
      (target('qemu:///system', { fileExists }) as { path: string }).path,
      '/var/run/libvirt/libvirt-sock-ro',
    );
  });

  test("both (virtproxyd beside virtqemud): the modular socket, as libvirt's auto mode picks", () => {
    const fileExists = only('/var/run/libvirt/libvirt-sock-ro', '/var/run/libvirt/virtqemud-sock-ro');
    assert.equal(
      (target('qemu:///system', { fileExists }) as { path: string }).path,
      '/var/run/libvirt/virtqemud-sock-ro',
    );
  });

  test("neither yet: the monolithic socket (libvirt's build default), the modular one named as the alternative", () => {
    assert.deepEqual(
      chooseLocalSocket('/var/run/libvirt', 'qemu', { readOnly: true, fileExists: () => false }),
      {
        path: '/var/run/libvirt/libvirt-sock-ro',
        alternative: '/var/run/libvirt/virtqemud-sock-ro',
      },
    );
  });

  test('every driver maps to its own daemon: lxc:///system → virtlxcd-sock-ro', () => {
    const fileExists = only('/var/run/libvirt/virtlxcd-sock-ro');
    assert.equal(
      (target('lxc:///system', { fileExists }) as { path: string }).path,
      '/var/run/libvirt/virtlxcd-sock-ro',
    );
  });

  test('session daemons: $XDG_RUNTIME_DIR/libvirt/virtqemud-sock (no read-only socket)', () => {
    const fileExists = only('/run/user/1000/libvirt/virtqemud-sock');
    assert.equal(
      (
        target('qemu:///session', { fileExists, env: { XDG_RUNTIME_DIR: '/run/user/1000' } }) as {
          path: string;
        }
      ).path,
      '/run/user/1000/libvirt/virtqemud-sock',
    );
  });

  test('remote:/// always means libvirt-sock (virtproxyd or libvirtd)', () => {
    assert.deepEqual(target('remote:///', { fileExists: () => true }), {
      kind: 'unix',
      path: '/var/run/libvirt/libvirt-sock-ro',
    });
  });

  test('an explicit socket wins over the search', () => {
    const seen: string[] = [];
    const fileExists = (p: string): boolean => {
      seen.push(p);
      return true;
    };
    assert.equal((target('qemu:///system?socket=/srv/s', { fileExists }) as { path: string }).path, '/srv/s');
    assert.deepEqual(seen, []);
  });

  test('the choice is made at each parse, so a daemon that appears later is found at the next connection', () => {
    let modular = false;
    const fileExists = (p: string): boolean => modular && p.endsWith('virtqemud-sock-ro');
    assert.equal(
      (target('qemu:///system', { fileExists }) as { path: string }).path,
      '/var/run/libvirt/libvirt-sock-ro',
    );
    modular = true;
    assert.equal(
      (target('qemu:///system', { fileExists }) as { path: string }).path,
      '/var/run/libvirt/virtqemud-sock-ro',
    );
  });
});
