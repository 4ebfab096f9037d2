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
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError } from '../../config/load.ts';
import type { RawTls } from './schema.ts';
import { Secret, type ClientAuthType, type WebConfig, type WebTlsConfig } from './types.ts';
import { CIPHERS, CURVES, INSECURE_CIPHERS, TLS13_SUITES, TLS_VERSIONS, VERSION_ORDER } from './tls-names.ts';

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

const AT = 'tls_server_config';

/** Like exporter-toolkit: TLS is on as soon as one of these is set; other keys alone leave it off. */
function tlsEnabled(raw: RawTls): boolean {
  return [
    raw.cert,
    raw.key,
    raw.cert_file,
    raw.key_file,
    raw.client_ca,
    raw.client_ca_file,
    raw.client_auth_type,
  ].some((v) => v !== undefined && v !== '');
}

/** Each of the certificate, the key and the client CA is given inline or as a file, not both. */
function checkSources(raw: RawTls): void {
  const both = (a: string, b: string): never => {
    throw new ConfigError(`${AT}: set ${a} or ${b}, not both`);
  };
  if (raw.cert !== undefined && raw.cert_file !== undefined) both('cert', 'cert_file');
  if (raw.key !== undefined && raw.key_file !== undefined) both('key', 'key_file');
  if (raw.client_ca !== undefined && raw.client_ca_file !== undefined) both('client_ca', 'client_ca_file');
  if (raw.cert === undefined && raw.cert_file === undefined) {
    throw new ConfigError(`${AT}: missing one of cert or cert_file`);
  }
  if (raw.key === undefined && raw.key_file === undefined) {
    throw new ConfigError(`${AT}: missing one of key or key_file`);
  }
}

/** The server certificate and its key, read and checked to match. */
async function serverKeyPair(
  raw: RawTls,
  dir: string,
  signal: AbortSignal | undefined,
): Promise<Pick<WebTlsConfig, 'cert' | 'certSource' | 'keySource' | 'files'> & { key: string }> {
  const certFile = raw.cert_file === undefined ? undefined : resolve(dir, raw.cert_file);
  const keyFile = raw.key_file === undefined ? undefined : resolve(dir, raw.key_file);
  const certSource = certFile === undefined ? `${AT}.cert` : `${AT}.cert_file ${certFile}`;
  const keySource = keyFile === undefined ? `${AT}.key` : `${AT}.key_file ${keyFile}`;
  const cert =
    certFile === undefined ? (raw.cert ?? '') : await readText(certFile, `${AT}.cert_file`, signal);
  const key = keyFile === undefined ? (raw.key ?? '') : await readText(keyFile, `${AT}.key_file`, signal);
  const [leaf] = parseCertificates(cert, certSource);
  const keyObject = parsePrivateKey(key, keySource);
  if (leaf === undefined || !leaf.checkPrivateKey(keyObject)) {
    throw new ConfigError(`${keySource} does not match the certificate in ${certSource}`);
  }
  return { cert, key, certSource, keySource, files: [certFile, keyFile].filter((f) => f !== undefined) };
}

/** The client certificate policy: the CA, the authentication type and the allowed SANs, consistent. */
async function clientPolicy(
  raw: RawTls,
  dir: string,
  signal: AbortSignal | undefined,
): Promise<Pick<WebTlsConfig, 'clientCa' | 'clientAuthType' | 'clientAllowedSans'> & { caFile?: string }> {
  let clientCa: string | undefined;
  let caFile: string | undefined;
  if (raw.client_ca_file !== undefined) {
    caFile = resolve(dir, raw.client_ca_file);
    clientCa = await readText(caFile, `${AT}.client_ca_file`, signal);
    parseCertificates(clientCa, `${AT}.client_ca_file ${caFile}`);
  } else if (raw.client_ca !== undefined) {
    clientCa = raw.client_ca;
    parseCertificates(clientCa, `${AT}.client_ca`);
  }
  const authName = raw.client_auth_type ?? 'NoClientCert';
  const clientAuthType: ClientAuthType =
    authName === 'RequireClientCert' ? 'RequireAnyClientCert' : (authName as ClientAuthType);
  if (clientCa !== undefined && clientAuthType === 'NoClientCert') {
    throw new ConfigError(
      `${AT}: a client CA is set but client_auth_type is NoClientCert (use RequireAndVerifyClientCert to check client certificates)`,
    );
  }
  const sans = raw.client_allowed_sans ?? undefined;
  if (
    sans !== undefined &&
    clientAuthType !== 'RequireAnyClientCert' &&
    clientAuthType !== 'RequireAndVerifyClientCert'
  ) {
    throw new ConfigError(
      `${AT}.client_allowed_sans needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert`,
    );
  }
  return { clientCa, clientAuthType, clientAllowedSans: sans, ...(caFile === undefined ? {} : { caFile }) };
}

/** Protocol versions, cipher suites and curves, from Go's names to OpenSSL's. */
function cryptoSettings(
  raw: RawTls,
): Pick<WebTlsConfig, 'minVersion' | 'maxVersion' | 'ciphers' | 'ecdhCurve'> {
  const minVersion = TLS_VERSIONS[raw.min_version ?? 'TLS12'] ?? 'TLSv1.2';
  const maxVersion = TLS_VERSIONS[raw.max_version ?? 'TLS13'] ?? 'TLSv1.3';
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) {
    throw new ConfigError(
      `${AT}: min_version ${raw.min_version ?? 'TLS12'} is above max_version ${raw.max_version ?? 'TLS13'}`,
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
      throw new ConfigError(`${AT}.cipher_suites[${i}]: ${JSON.stringify(name)} ${why}`);
    });
    // Go ignores cipher_suites for TLS 1.3 and always offers its three suites; keep that behaviour.
    ciphers = [...new Set([...TLS13_SUITES, ...names])].join(':');
  }
  const curves = raw.curve_preferences ?? [];
  const ecdhCurve =
    curves.length === 0
      ? undefined
      : curves
          .map((name, i) => {
            const openssl = CURVES[name];
            if (openssl === undefined) {
              throw new ConfigError(
                `${AT}.curve_preferences[${i}]: unknown curve ${JSON.stringify(name)}; expected one of ${Object.keys(CURVES).join(', ')}`,
              );
            }
            return openssl;
          })
          .join(':');
  return { minVersion, maxVersion, ciphers, ecdhCurve };
}

export async function resolveTls(
  raw: RawTls,
  dir: string,
  signal: AbortSignal | undefined,
): Promise<WebTlsConfig | undefined> {
  if (!tlsEnabled(raw)) return undefined;
  checkSources(raw);
  const { key, files, ...pair } = await serverKeyPair(raw, dir, signal);
  const { caFile, ...client } = await clientPolicy(raw, dir, signal);
  const tls: WebTlsConfig = {
    ...pair,
    key: new Secret(key),
    files: caFile === undefined ? files : [...files, caFile],
    ...client,
    ...cryptoSettings(raw),
    honorCipherOrder: raw.prefer_server_cipher_suites ?? true,
  };
  // Last, let OpenSSL itself judge the whole set (a cipher list this build lacks, a curve…).
  try {
    createSecureContext(secureContextOptions(tls));
  } catch (err) {
    throw new ConfigError(`${AT}: Node.js rejects these TLS settings: ${(err as Error).message}`);
  }
  return tls;
}

/** The options of the secure context (certificate, key, client CA, versions, ciphers, curves). */
export function secureContextOptions(tls: WebTlsConfig): SecureContextOptions {
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
