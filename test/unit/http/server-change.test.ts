// SPDX-License-Identifier: Apache-2.0
// What a reload needs from the running HTTP server (src/http/server-change.ts): nothing, a new secure
// context, or a new server, by what changed. Pure: the TLS material is never parsed here.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renewSecureContext, serverChange, ServerKept } from '../../../src/http/server-change.ts';
import { Secret, type WebConfig, type WebTlsConfig } from '../../../src/http/web-config/types.ts';

const TLS: WebTlsConfig = {
  cert: 'CERT 1',
  key: new Secret('KEY 1'),
  certSource: 'tls.crt',
  keySource: 'tls.key',
  files: ['/tls/tls.crt', '/tls/tls.key'],
  clientCa: undefined,
  clientAuthType: 'NoClientCert',
  clientAllowedSans: undefined,
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: undefined,
  honorCipherOrder: true,
  ecdhCurve: undefined,
};

/** A web configuration; `tls` null: none (plain HTTP). */
function webConfig(over: Partial<WebConfig> = {}, tls: Partial<WebTlsConfig> | null = {}): WebConfig {
  return {
    file: '/etc/exporter/web.yml',
    tls: tls === null ? undefined : { ...TLS, ...tls },
    http2: true,
    headers: {},
    basicAuthUsers: new Map(),
    rateLimit: undefined,
    warnings: [],
    ...over,
  };
}

type Web = Parameters<typeof serverChange>[0]['config']['web'];
const WEB: Web = {
  listen_address: ':9177',
  telemetry_path: '/metrics',
  health_path: undefined,
  config_file: '/etc/exporter/web.yml',
} as Web;

const settings = (web: WebConfig | undefined, over: Partial<Web> = {}) => ({
  config: { web: { ...WEB, ...over } },
  web,
});

describe('serverChange: what changed → what the running server does', () => {
  test('the same files, or request-time settings only: nothing (read per request)', () => {
    const was = settings(webConfig());
    assert.equal(serverChange(was, settings(webConfig())).kind, 'none');
    const users = new Map([['prometheus', new Secret('$2y$10$hash')]]);
    for (const next of [
      webConfig({ basicAuthUsers: users }),
      webConfig({ headers: { 'X-Frame-Options': 'deny' } }),
      webConfig({ rateLimit: { intervalMs: 1000, burst: 5 } }),
      webConfig({ warnings: ['careful'] }),
      webConfig({}, { clientAllowedSans: ['prometheus'] }),
      webConfig({ file: '/elsewhere/web.yml' }),
    ]) {
      assert.equal(serverChange(was, settings(next)).kind, 'none');
    }
    // Without TLS, a web file that comes, goes or changes its users changes nothing on the socket.
    const plain = settings(undefined);
    assert.equal(serverChange(plain, settings(webConfig({ basicAuthUsers: users }, null))).kind, 'none');
    assert.equal(serverChange(settings(webConfig({}, null)), plain).kind, 'none');
  });

  test('a renewed certificate, another key, CA, versions, ciphers or curves: a new secure context', () => {
    const was = settings(webConfig());
    for (const tls of [
      { cert: 'CERT 2' },
      { key: new Secret('KEY 2') },
      { minVersion: 'TLSv1.3' as const },
      { ciphers: 'TLS_AES_128_GCM_SHA256' },
      { ecdhCurve: 'X25519' },
      { honorCipherOrder: false },
    ]) {
      const change = serverChange(was, settings(webConfig({}, tls)));
      assert.equal(change.kind, 'secure-context', JSON.stringify(Object.keys(tls)));
      assert.doesNotMatch(change.reason, /KEY|CERT/, 'the reason names no value');
    }
    const mtls = { clientAuthType: 'RequireAndVerifyClientCert' as const };
    assert.equal(
      serverChange(
        settings(webConfig({}, { ...mtls, clientCa: 'CA 1' })),
        settings(webConfig({}, { ...mtls, clientCa: 'CA 2' })),
      ).kind,
      'secure-context',
    );
  });

  test('what the server or its routes are built with: a new server, with the reason', () => {
    const was = settings(webConfig());
    const cases: [ReturnType<typeof settings>, RegExp][] = [
      [settings(webConfig(), { listen_address: ':9178' }), /listen_address/],
      [settings(webConfig(), { listen_address: [':9177', '[::1]:9177'] }), /listen_address/],
      [settings(webConfig(), { telemetry_path: '/m' }), /telemetry_path/],
      [settings(webConfig(), { health_path: '/health' }), /health_path/],
      [settings(undefined), /TLS switched off/],
      [settings(webConfig({}, null)), /TLS switched off/],
      [settings(webConfig({ http2: false })), /http2/],
      [settings(webConfig({}, { clientAuthType: 'RequireAnyClientCert' })), /client_auth_type/],
    ];
    for (const [next, reason] of cases) {
      const change = serverChange(was, next);
      assert.equal(change.kind, 'new-server', reason.source);
      assert.match(change.reason, reason);
    }
    assert.match(serverChange(settings(undefined), was).reason, /TLS switched on/);
    // One address as a string or as a list of one is the same address.
    assert.equal(serverChange(was, settings(webConfig(), { listen_address: [':9177'] })).kind, 'none');
  });
});

test('renewSecureContext: a server without TLS, or settings Node.js refuses: ServerKept', () => {
  let set: unknown;
  const server = { setSecureContext: (o: unknown) => (set = o) };
  renewSecureContext(server, webConfig({}, { cert: 'CERT 2' }));
  assert.equal((set as { cert: string }).cert, 'CERT 2');
  assert.throws(() => {
    renewSecureContext(server, webConfig({}, null));
  }, ServerKept);
  const refusing = {
    setSecureContext: () => {
      throw new Error('bad key');
    },
  };
  assert.throws(
    () => {
      renewSecureContext(refusing, webConfig());
    },
    (e: unknown) => e instanceof ServerKept && /bad key/.test(e.message),
  );
});
