// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  LibvirtAbortError,
  LibvirtConnectionError,
  LibvirtError,
  VIR_ERR,
  abortErrorFor,
  libvirtErrorCodeName,
} from '../../../src/libvirt/errors.ts';
import { decodeRemoteError, encodeRemoteError } from '../../../src/libvirt/procedures.ts';
import { connectionErrorFrom } from '../../../src/libvirt/transport.ts';

const UNIX = { kind: 'unix', path: '/var/run/libvirt/libvirt-sock-ro' } as const;
const TCP = { kind: 'tcp', host: 'compute-1', port: 16509 } as const;

function sysErr(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

describe('libvirt error codes', () => {
  test('names of common codes', () => {
    assert.equal(VIR_ERR.NO_DOMAIN, 42);
    assert.equal(VIR_ERR.OPERATION_INVALID, 55);
    assert.equal(VIR_ERR.OPERATION_TIMEOUT, 68);
    assert.equal(VIR_ERR.NO_SUPPORT, 3);
    assert.equal(VIR_ERR.AUTH_FAILED, 45);
    assert.equal(VIR_ERR.SYSTEM_ERROR, 38);
    assert.equal(VIR_ERR.RPC, 39);
    assert.equal(VIR_ERR.NO_DOMAIN_METADATA, 80);
    assert.equal(libvirtErrorCodeName(42), 'NO_DOMAIN');
    assert.equal(libvirtErrorCodeName(12345), undefined);
  });

  test('remote_error round trip into LibvirtError', () => {
    const fields = {
      code: 55,
      domain: 10,
      message: 'Requested operation is not valid: domain is not running',
      level: 2,
      str1: 'Requested operation is not valid: %s',
      str2: 'domain is not running',
      str3: null,
      int1: -1,
      int2: -1,
    };
    const err = new LibvirtError(decodeRemoteError(encodeRemoteError(fields)), 14);
    assert.equal(err.name, 'LibvirtError');
    assert.equal(err.message, fields.message);
    assert.equal(err.codeName, 'OPERATION_INVALID');
    assert.equal(err.procedure, 14);
    assert.deepEqual(
      { ...fields, message: err.message },
      {
        code: err.code,
        domain: err.domain,
        message: err.message,
        level: err.level,
        str1: err.str1,
        str2: err.str2,
        str3: err.str3,
        int1: err.int1,
        int2: err.int2,
      },
    );
  });

  test('an error without a message gets one naming the code', () => {
    const err = new LibvirtError(
      decodeRemoteError(
        encodeRemoteError({
          code: 1,
          domain: 0,
          message: null,
          level: 2,
          str1: null,
          str2: null,
          str3: null,
          int1: 0,
          int2: 0,
        }),
      ),
    );
    assert.equal(err.message, 'libvirt error code 1');
  });
});

describe('transport error mapping', () => {
  test('ENOENT names the socket path', () => {
    const err = connectionErrorFrom(sysErr('ENOENT'), UNIX);
    assert.ok(err instanceof LibvirtConnectionError);
    assert.equal(err.reason, 'ENOENT');
    assert.match(err.message, /\/var\/run\/libvirt\/libvirt-sock-ro does not exist/);
    assert.equal(err.address, UNIX.path);
    assert.ok(err.cause instanceof Error);
  });

  test('EACCES mentions socket permissions, the read-only socket and polkit', () => {
    const err = connectionErrorFrom(sysErr('EACCES'), UNIX);
    assert.equal(err.reason, 'EACCES');
    assert.match(err.message, /permission denied/);
    assert.match(err.message, /libvirt-sock-ro/);
    assert.match(err.message, /polkit/);
  });

  test('ECONNREFUSED, resets, TLS and other errors', () => {
    assert.equal(connectionErrorFrom(sysErr('ECONNREFUSED'), TCP).reason, 'ECONNREFUSED');
    assert.match(connectionErrorFrom(sysErr('ECONNREFUSED'), TCP).message, /tcp:\/\/compute-1:16509/);
    assert.equal(connectionErrorFrom(sysErr('ECONNRESET'), TCP).reason, 'CLOSED');
    assert.equal(connectionErrorFrom(sysErr('EPIPE'), TCP).reason, 'CLOSED');
    assert.equal(connectionErrorFrom(sysErr('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), TCP).reason, 'TLS');
    assert.equal(connectionErrorFrom(sysErr('ERR_TLS_CERT_ALTNAME_INVALID'), TCP).reason, 'TLS');
    assert.equal(connectionErrorFrom(sysErr('EHOSTUNREACH'), TCP).reason, 'SOCKET');
    const same = new LibvirtConnectionError('CLOSED', 'x');
    assert.equal(connectionErrorFrom(same, TCP), same);
  });
});

describe('abort errors', () => {
  test('abort and timeout reasons', () => {
    const ac = new AbortController();
    ac.abort();
    const aborted = abortErrorFor(ac.signal, 'call of procedure 344');
    assert.ok(aborted instanceof LibvirtAbortError);
    assert.equal(aborted.name, 'AbortError');
    assert.equal(aborted.code, 'ABORT_ERR');
    assert.equal(aborted.timedOut, false);
    assert.match(aborted.message, /was aborted/);
    const timeout = new AbortController();
    timeout.abort(new DOMException('timed out', 'TimeoutError'));
    const timedOut = abortErrorFor(timeout.signal, 'call of procedure 344');
    assert.equal(timedOut.timedOut, true);
    assert.match(timedOut.message, /timed out/);
  });
});
