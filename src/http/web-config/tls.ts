// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The `tls_server_config` section: Go's TLS names mapped to OpenSSL's, the certificate and key files
 * read and checked (the key matches the certificate, Node.js accepts the whole set), and the Fastify
 * server options that result.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls';
import { ConfigError } from '../../config/load.ts';
import type { RawTls } from './schema.ts';
import { Secret, type ClientAuthType, type WebConfig, type WebTlsConfig } from './types.ts';

export const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
const VERSION_ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * Go's names of the cipher suites that crypto/tls calls secure (tls.CipherSuites(), which is what
 * exporter-toolkit accepts), mapped to the OpenSSL names Node.js understands.
 */
const CIPHERS: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/** Go's tls.InsecureCipherSuites(): exporter-toolkit refuses them, and so do we, with a clearer message. */
const INSECURE_CIPHERS: ReadonlySet<string> = new Set([
  'TLS_RSA_WITH_RC4_128_SHA',
  'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  'TLS_RSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
]);

/** The TLS 1.3 suites: Go always enables them whatever cipher_suites says, so we do too. */
const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'];

/** The curves exporter-toolkit knows, with their OpenSSL names. */
const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/** Reads a file the configuration names; the error names the key and the file, and why in a word. */
export async function readText(file: string, key: string, signal: AbortSignal | undefined): Promise<string> {
  try {
    return await readFile(file, { encoding: 'utf8', ...(signal ? { signal } : {}) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (err as Error).message;
    throw new ConfigError(`${key} ${file}: cannot read it (${why})`);
  }
}

/** Splits a PEM bundle into its certificates; throws naming `source` if there is none or one is bad. */
function parseCertificates(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(`${source}: no PEM certificate found`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw new ConfigError(`${source}: certificate ${i + 1} is not a valid X.509 certificate`);
    }
  });
}

function parsePrivateKey(pem: string, source: string): KeyObject {
  // Neither the key nor Node's message about it goes into the error: only what kind of problem it is.
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/.test(pem)) {
    throw new ConfigError(`${source}: the key is encrypted (exporter-toolkit takes no passphrase either)`);
  }
  try {
    return createPrivateKey(pem);
  } catch {
    throw new ConfigError(`${source}: not a valid PEM private key`);
  }
}

export async function resolveTls(
  raw: RawTls,
  dir: string,
  signal: AbortSignal | undefined,
): Promise<WebTlsConfig | undefined> {
  const at = 'tls_server_config';
  // Like exporter-toolkit: TLS is on as soon as one of these is set; other keys alone leave it off.
  const enabled = [
    raw.cert,
    raw.key,
    raw.cert_file,
    raw.key_file,
    raw.client_ca,
    raw.client_ca_file,
    raw.client_auth_type,
  ].some((v) => v !== undefined && v !== '');
  if (!enabled) return undefined;
  const both = (a: string, b: string): never => {
    throw new ConfigError(`${at}: set ${a} or ${b}, not both`);
  };
  if (raw.cert !== undefined && raw.cert_file !== undefined) both('cert', 'cert_file');
  if (raw.key !== undefined && raw.key_file !== undefined) both('key', 'key_file');
  if (raw.client_ca !== undefined && raw.client_ca_file !== undefined) both('client_ca', 'client_ca_file');
  if (raw.cert === undefined && raw.cert_file === undefined) {
    throw new ConfigError(`${at}: missing one of cert or cert_file`);
  }
  if (raw.key === undefined && raw.key_file === undefined) {
    throw new ConfigError(`${at}: missing one of key or key_file`);
  }

  const certFile = raw.cert_file === undefined ? undefined : resolve(dir, raw.cert_file);
  const keyFile = raw.key_file === undefined ? undefined : resolve(dir, raw.key_file);
  const caFile = raw.client_ca_file === undefined ? undefined : resolve(dir, raw.client_ca_file);
  const certSource = certFile === undefined ? `${at}.cert` : `${at}.cert_file ${certFile}`;
  const keySource = keyFile === undefined ? `${at}.key` : `${at}.key_file ${keyFile}`;

  const cert =
    certFile === undefined ? (raw.cert ?? '') : await readText(certFile, `${at}.cert_file`, signal);
  const key = keyFile === undefined ? (raw.key ?? '') : await readText(keyFile, `${at}.key_file`, signal);
  const [leaf] = parseCertificates(cert, certSource);
  const keyObject = parsePrivateKey(key, keySource);
  if (leaf === undefined || !leaf.checkPrivateKey(keyObject)) {
    throw new ConfigError(`${keySource} does not match the certificate in ${certSource}`);
  }

  let clientCa: string | undefined;
  if (caFile !== undefined) {
    clientCa = await readText(caFile, `${at}.client_ca_file`, signal);
    parseCertificates(clientCa, `${at}.client_ca_file ${caFile}`);
  } else if (raw.client_ca !== undefined) {
    clientCa = raw.client_ca;
    parseCertificates(clientCa, `${at}.client_ca`);
  }

  const authName = raw.client_auth_type ?? 'NoClientCert';
  const clientAuthType: ClientAuthType =
    authName === 'RequireClientCert' ? 'RequireAnyClientCert' : (authName as ClientAuthType);
  if (clientCa !== undefined && clientAuthType === 'NoClientCert') {
    throw new ConfigError(
      `${at}: a client CA is set but client_auth_type is NoClientCert (use RequireAndVerifyClientCert to check client certificates)`,
    );
  }
  const sans = raw.client_allowed_sans ?? undefined;
  if (
    sans !== undefined &&
    clientAuthType !== 'RequireAnyClientCert' &&
    clientAuthType !== 'RequireAndVerifyClientCert'
  ) {
    throw new ConfigError(
      `${at}.client_allowed_sans needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert`,
    );
  }

  const minVersion = TLS_VERSIONS[raw.min_version ?? 'TLS12'] ?? 'TLSv1.2';
  const maxVersion = TLS_VERSIONS[raw.max_version ?? 'TLS13'] ?? 'TLSv1.3';
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) {
    throw new ConfigError(
      `${at}: min_version ${raw.min_version ?? 'TLS12'} is above max_version ${raw.max_version ?? 'TLS13'}`,
    );
  }

  let ciphers: string | undefined;
  const suites = raw.cipher_suites ?? [];
  if (suites.length > 0) {
    const names = suites.map((name, i) => {
      const openssl = CIPHERS[name];
      if (openssl !== undefined) return openssl;
      const why = INSECURE_CIPHERS.has(name)
        ? 'is insecure and not accepted'
        : 'is not a known Go cipher suite name';
      throw new ConfigError(`${at}.cipher_suites[${i}]: ${JSON.stringify(name)} ${why}`);
    });
    // Go ignores cipher_suites for TLS 1.3 and always offers its three suites; keep that behaviour.
    ciphers = [...new Set([...TLS13_SUITES, ...names])].join(':');
  }
  let ecdhCurve: string | undefined;
  const curves = raw.curve_preferences ?? [];
  if (curves.length > 0) {
    ecdhCurve = curves
      .map((name, i) => {
        const openssl = CURVES[name];
        if (openssl === undefined) {
          throw new ConfigError(
            `${at}.curve_preferences[${i}]: unknown curve ${JSON.stringify(name)}; expected one of ${Object.keys(CURVES).join(', ')}`,
          );
        }
        return openssl;
      })
      .join(':');
  }

  const tls: WebTlsConfig = {
    cert,
    key: new Secret(key),
    certSource,
    keySource,
    clientCa,
    clientAuthType,
    clientAllowedSans: sans,
    minVersion,
    maxVersion,
    ciphers,
    honorCipherOrder: raw.prefer_server_cipher_suites ?? true,
    ecdhCurve,
  };
  // Last, let OpenSSL itself judge the whole set (a cipher list this build lacks, a curve…).
  try {
    createSecureContext(secureContextOptions(tls));
  } catch (err) {
    throw new ConfigError(`${at}: Node.js rejects these TLS settings: ${(err as Error).message}`);
  }
  return tls;
}

function secureContextOptions(tls: WebTlsConfig): SecureContextOptions {
  return {
    cert: tls.cert,
    key: tls.key.reveal(),
    ...(tls.clientCa !== undefined ? { ca: tls.clientCa } : {}),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ...(tls.ciphers !== undefined ? { ciphers: tls.ciphers } : {}),
    honorCipherOrder: tls.honorCipherOrder,
    ...(tls.ecdhCurve !== undefined ? { ecdhCurve: tls.ecdhCurve } : {}),
  };
}

/**
 * Fastify server options for the configuration: `https` (and `http2`) when it has TLS, nothing
 * otherwise. Spread them into `Fastify({...})`.
 */
export function webServerOptions(config: WebConfig): Record<string, unknown> {
  const tls = config.tls;
  if (tls === undefined) return {};
  const auth = tls.clientAuthType;
  const https: Record<string, unknown> = {
    ...secureContextOptions(tls),
    requestCert: auth !== 'NoClientCert',
    // Only this policy can be left to OpenSSL entirely; the other checks run once the handshake is done
    // (see registerWebSecurity), because Node cannot require a certificate without also verifying it.
    rejectUnauthorized: auth === 'RequireAndVerifyClientCert',
  };
  if (config.http2) {
    // HTTP/1.1 clients (curl --http1.1, older Prometheus) must still be served.
    https['allowHTTP1'] = true;
    return { http2: true, https };
  }
  return { https };
}
