// SPDX-License-Identifier: Apache-2.0
// One builder of the inspector options for the server and for `inspect`: the `inspect` command used to
// build its own and dropped the TLS files, so it could not reach a libvirt over TLS.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { runInspect } from '../../../src/cli/inspect.ts';
import { inspectorOptions } from '../../../src/config/inspector-options.ts';
import { loadConfig } from '../../../src/config/load.ts';
import type { LibvirtInspector, LibvirtInspectorOptions } from '../../../src/inspector/libvirt-inspector.ts';

const TLS_CONFIG = {
  'libvirt.uri': 'qemu+tls://compute-1/system',
  'libvirt.tls_ca_file': '/pki/ca.pem',
  'libvirt.tls_cert_file': '/pki/client.pem',
  'libvirt.tls_key_file': '/pki/client.key',
  'libvirt.connect_timeout': '3s',
  'libvirt.stats_shards': 2,
  'libvirt.shard_timeout': '1500ms',
};

test('inspectorOptions: every libvirt setting, TLS files included, in the inspector units', () => {
  assert.deepEqual(inspectorOptions(loadConfig(undefined, TLS_CONFIG)), {
    uri: 'qemu+tls://compute-1/system',
    readWrite: false,
    tls: { caFile: '/pki/ca.pem', certFile: '/pki/client.pem', keyFile: '/pki/client.key' },
    connectTimeoutMs: 3000,
    maxShards: 2,
    shardTimeoutMs: 1500,
  });
});

test('inspect builds its inspector with the same options as the server (TLS files kept)', async () => {
  const config = loadConfig(undefined, TLS_CONFIG);
  let seen: LibvirtInspectorOptions | undefined;
  let closed = false;
  const stderr = mock.method(process.stderr, 'write', () => true); // the expected failure message below
  try {
    const code = await runInspect(config, { output: 'json', intervalSeconds: 1 }, (options) => {
      seen = options;
      return {
        inspectAll: () => Promise.reject(new Error('no libvirt in a unit test')),
        close: () => {
          closed = true;
          return Promise.resolve();
        },
      } as unknown as LibvirtInspector;
    });
    assert.equal(code, 1);
  } finally {
    stderr.mock.restore();
  }
  assert.deepEqual(seen, inspectorOptions(config));
  assert.ok(closed, 'the inspector is closed');
});
