// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The web configuration file of the Prometheus exporter-toolkit (`--web.config.file`): TLS, client
 * certificates, basic auth with bcrypt hashes and a few response headers. The same file that
 * node_exporter reads on the host works here unchanged.
 *
 * Everything is checked when the file is loaded (keys, values, files, that the key matches the
 * certificate, that Node.js accepts the TLS settings), so that a bad file stops the process before
 * it listens. Error messages name the key or the file at fault and never quote a password hash or
 * key material: YAML errors carry line and column only, never the offending source line.
 */
import { createHmac, createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions, type SecureVersion, type TLSSocket } from 'node:tls';
import { inspect } from 'node:util';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config/load.ts';
import { parseDuration } from '../config/duration.ts';

/**
 * A value that must not leak: it prints as `<secret>` through JSON, `util.inspect` and string
 * conversion, so that logging a {@link WebConfig} by mistake shows no hash and no key.
 */
class Secret<T> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  /** The value itself, for the few places that need it (TLS options, bcrypt). */
  reveal(): T {
    return this.#value;
  }
  toJSON(): string {
    return '<secret>';
  }
  toString(): string {
    return '<secret>';
  }
  [inspect.custom](): string {
    return '<secret>';
  }
}

/** Client certificate policies, named as in Go's crypto/tls (exporter-toolkit passes them through). */
const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = {
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

/**
 * The only response headers the file may set, with their allowed values where the header is an
 * enumeration. exporter-toolkit keeps this list closed on purpose, for consistency across exporters.
 */
const ALLOWED_HEADERS: Readonly<Record<string, readonly string[] | null>> = {
  'Content-Security-Policy': null,
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-Content-Type-Options': ['nosniff'],
  'X-XSS-Protection': null,
  'Strict-Transport-Security': null,
};

/**
 * A bcrypt hash in modular crypt format: `$2a$`, `$2b$` or `$2y$` (htpasswd writes 2y), a two-digit
 * cost from 04 to 31, then 53 characters of bcrypt's base64 (22 of salt, 31 of digest).
 */
const BCRYPT_RE = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/** bcrypt reads at most 72 bytes; a longer password would match on its prefix alone, so it never matches. */
const BCRYPT_MAX_PASSWORD_BYTES = 72;

/** Settings of the HTTPS server, resolved and checked. */
interface WebTlsConfig {
  /** The server certificate (chain), PEM. */
  readonly cert: string;
  /** The server's private key, PEM. */
  readonly key: Secret<string>;
  /** Where the certificate and key came from, for messages ("inline" or a path). */
  readonly certSource: string;
  readonly keySource: string;
  /** CA certificates that client certificates are verified against, PEM (none: the system store). */
  readonly clientCa: string | undefined;
  readonly clientAuthType: ClientAuthType;
  /** Client certificates must carry one of these subject alternative names (exact match). */
  readonly clientAllowedSans: readonly string[] | undefined;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** OpenSSL cipher list, or undefined for Node's defaults. */
  readonly ciphers: string | undefined;
  readonly honorCipherOrder: boolean;
  /** OpenSSL curve list (`X25519:P-256`), or undefined for Node's defaults. */
  readonly ecdhCurve: string | undefined;
}

/** A web configuration file, validated; the TLS files are already read and checked. */
export interface WebConfig {
  /** Absolute path of the file. */
  readonly file: string;
  /** HTTPS settings, or undefined to serve plain HTTP (no TLS key in the file). */
  readonly tls: WebTlsConfig | undefined;
  /** HTTP/2 over TLS (exporter-toolkit's default: on); ignored without TLS. */
  readonly http2: boolean;
  /** Extra headers set on every response. */
  readonly headers: Readonly<Record<string, string>>;
  /** User name → bcrypt hash. Empty: no basic auth. */
  readonly basicAuthUsers: ReadonlyMap<string, Secret<string>>;
  /** Token bucket in front of every request (exporter-toolkit's `rate_limit`), or undefined. */
  readonly rateLimit: { readonly intervalMs: number; readonly burst: number } | undefined;
}

// ---------------------------------------------------------------------------------------------
// The file's schema: its shape only (types, unknown keys); meaning is checked in resolve*().

/** An optional string where, as in Go, the empty string means "not set". */
const optString = z
  .string()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

/** A list that YAML may leave empty (`cipher_suites:` with nothing after it). */
const optList = z.array(z.string()).nullish();

function oneOf(values: readonly string[], what: string) {
  return z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined && v !== '' && !values.includes(v)) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown ${what} ${JSON.stringify(v)}; expected one of ${values.join(', ')}`,
        });
      }
    });
}

const tlsSchema = z.strictObject({
  cert: optString,
  // NOTE: never echo this value: the issues zod makes for a string field do not include the input.
  key: optString,
  client_ca: optString,
  cert_file: optString,
  key_file: optString,
  // RequireClientCert is the old name of RequireAnyClientCert that exporter-toolkit still accepts.
  client_auth_type: oneOf([...CLIENT_AUTH_TYPES, 'RequireClientCert'], 'client_auth_type'),
  client_ca_file: optString,
  client_allowed_sans: optList,
  min_version: oneOf(Object.keys(TLS_VERSIONS), 'TLS version'),
  max_version: oneOf(Object.keys(TLS_VERSIONS), 'TLS version'),
  cipher_suites: optList,
  prefer_server_cipher_suites: z.boolean().optional(),
  curve_preferences: optList,
});

const httpSchema = z.strictObject({
  http2: z.boolean().optional(),
  // Header names are checked one by one below, to name the header that is not allowed.
  headers: z.record(z.string(), z.string().nullable()).nullish(),
});

const rateLimitSchema = z.strictObject({
  interval: z.union([z.string(), z.number()]).optional(),
  burst: z.number().int().nonnegative().optional(),
});

const fileSchema = z.strictObject({
  tls_server_config: tlsSchema.nullish(),
  http_server_config: httpSchema.nullish(),
  // NOTE: the message for a non-string hash ("expected string") never includes the value.
  basic_auth_users: z.record(z.string(), z.string()).nullish(),
  rate_limit: rateLimitSchema.nullish(),
});

type RawFile = z.infer<typeof fileSchema>;
type RawTls = z.infer<typeof tlsSchema>;

function describe(issue: z.core.$ZodIssue): string {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `  ${at === '' ? k : `${at}.${k}`}: unknown key`).join('\n');
  }
  return `  ${at === '' ? '(top level)' : at}: ${issue.message}`;
}

// ---------------------------------------------------------------------------------------------
// Loading.

/** Parses the YAML; errors carry line and column but never the source text (it may hold a secret). */
function parseYamlSafely(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      // The message of a YAML error is a fixed description (and, for duplicate keys, no value).
      return `  line ${pos.line}, column ${pos.col}: ${e.code.toLowerCase().replaceAll('_', ' ')}`;
    });
    throw new ConfigError(`cannot parse web configuration ${file} (YAML):\n${lines.join('\n')}`);
  }
  return doc.toJS() ?? {};
}

async function readText(file: string, key: string, signal: AbortSignal | undefined): Promise<string> {
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

async function resolveTls(
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

function resolveHeaders(raw: Record<string, string | null> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    const allowed = ALLOWED_HEADERS[name];
    if (allowed === undefined) {
      throw new ConfigError(
        `http_server_config.headers.${name}: this header can not be configured (allowed: ${Object.keys(ALLOWED_HEADERS).join(', ')})`,
      );
    }
    // Blank means unset, as the exporter-toolkit documentation says.
    if (value === null || value === '') continue;
    if (/[\r\n\0]/.test(value)) {
      throw new ConfigError(`http_server_config.headers.${name}: the value contains a line break`);
    }
    if (allowed !== null && !allowed.includes(value)) {
      throw new ConfigError(
        `http_server_config.headers.${name}: invalid value ${JSON.stringify(value)}; expected one of ${allowed.join(', ')}`,
      );
    }
    out[name] = value;
  }
  return out;
}

function resolveUsers(raw: Record<string, string> | null | undefined): Map<string, Secret<string>> {
  const users = new Map<string, Secret<string>>();
  for (const [user, hash] of Object.entries(raw ?? {})) {
    // A colon can never reach us in a user name: Basic credentials are split at the first one.
    if (user === '' || user.includes(':')) {
      throw new ConfigError(
        `basic_auth_users: the user name ${JSON.stringify(user)} is empty or contains ":"`,
      );
    }
    if (!BCRYPT_RE.test(hash)) {
      throw new ConfigError(
        `basic_auth_users.${user}: not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost from 04 to 31 and 53 characters, as "htpasswd -nBC 10" writes)`,
      );
    }
    users.set(user, new Secret(hash));
  }
  return users;
}

function resolveRateLimit(raw: RawFile['rate_limit']): WebConfig['rateLimit'] {
  if (raw === null || raw === undefined || raw.interval === undefined) return undefined;
  const at = 'rate_limit';
  let intervalMs: number;
  if (typeof raw.interval === 'number' || raw.interval === '0') {
    if (raw.interval !== 0 && raw.interval !== '0')
      throw new ConfigError(`${at}.interval: give a unit (for example 100ms or 1s)`);
    intervalMs = 0;
  } else {
    try {
      intervalMs = parseDuration(raw.interval);
    } catch (err) {
      throw new ConfigError(`${at}.interval: ${(err as Error).message}`);
    }
  }
  if (intervalMs === 0) return undefined;
  // With a burst of 0 Go's limiter refuses every request; that is never what anyone wants.
  if (raw.burst === undefined || raw.burst < 1)
    throw new ConfigError(`${at}.burst: must be at least 1 when interval is set`);
  return { intervalMs, burst: raw.burst };
}

/**
 * Reads and validates a web configuration file, including the TLS files it names (relative paths
 * are taken from the file's directory, as exporter-toolkit does).
 *
 * @throws ConfigError naming the key or file at fault; the message never holds a hash or key material.
 */
export async function loadWebConfig(path: string, opts: { signal?: AbortSignal } = {}): Promise<WebConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readText(file, 'file', opts.signal);
  } catch (err) {
    throw new ConfigError(`web configuration ${(err as Error).message}`);
  }
  const result = fileSchema.safeParse(parseYamlSafely(text, file));
  if (!result.success) {
    throw new ConfigError(
      `invalid web configuration ${file}:\n${result.error.issues.map(describe).join('\n')}`,
    );
  }
  const raw = result.data;
  try {
    const tls = raw.tls_server_config
      ? await resolveTls(raw.tls_server_config, dirname(file), opts.signal)
      : undefined;
    return {
      file,
      tls,
      http2: raw.http_server_config?.http2 ?? true,
      headers: resolveHeaders(raw.http_server_config?.headers),
      basicAuthUsers: resolveUsers(raw.basic_auth_users),
      rateLimit: resolveRateLimit(raw.rate_limit),
    };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`invalid web configuration ${file}: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Server options.

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

// ---------------------------------------------------------------------------------------------
// Request-time checks.

/** The subject alternative names of a certificate, as Go prints them (IP addresses canonical). */
function subjectAltNames(cert: X509Certificate): string[] {
  const text = cert.subjectAltName ?? '';
  const out: string[] = [];
  // Node writes `DNS:a, IP Address:1.2.3.4, URI:…`, quoting (JSON style) a value with a comma or quote.
  const re = /(DNS|IP Address|email|URI):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of text.matchAll(re)) {
    const kind = m[1] ?? '';
    let value = m[2] ?? '';
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    out.push(kind === 'IP Address' ? canonicalIp(value) : value);
  }
  return out;
}

function canonicalIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

/** Why a client's certificate is refused under the policy, or undefined if it is accepted. */
function peerProblem(socket: TLSSocket, tls: WebTlsConfig): string | undefined {
  const cert = socket.getPeerX509Certificate();
  switch (tls.clientAuthType) {
    case 'NoClientCert':
    case 'RequestClientCert':
      return undefined;
    case 'VerifyClientCertIfGiven':
      return cert !== undefined && !socket.authorized
        ? `client certificate not trusted (${String(socket.authorizationError)})`
        : undefined;
    case 'RequireAnyClientCert':
    case 'RequireAndVerifyClientCert': {
      if (cert === undefined) return 'no client certificate';
      if (tls.clientAuthType === 'RequireAndVerifyClientCert' && !socket.authorized) {
        return `client certificate not trusted (${String(socket.authorizationError)})`;
      }
      const allowed = tls.clientAllowedSans;
      if (allowed === undefined) return undefined;
      const wanted = new Set(allowed.map(canonicalIp));
      return subjectAltNames(cert).some((san) => wanted.has(san))
        ? undefined
        : 'client certificate has none of client_allowed_sans';
    }
  }
}

/** bcryptjs, loaded on the first basic-auth check only (an exporter without basic auth never needs it). */
async function loadBcrypt(): Promise<typeof import('bcryptjs').default> {
  return (await import('bcryptjs')).default;
}

/** Basic auth with bcrypt, with results cached for a while and bcrypt runs kept one at a time. */
class BasicAuth {
  /** Results live this long: scrapes every 15–60 s then cost one bcrypt run every few minutes. */
  static readonly TTL_MS = 5 * 60_000;
  static readonly MAX_ENTRIES = 1024;

  readonly #users: ReadonlyMap<string, Secret<string>>;
  /** Cache keys are an HMAC under a key of this process, so a memory dump does not give fast password guesses. */
  readonly #hmacKey = randomBytes(32);
  readonly #cache = new Map<string, { ok: boolean; expires: number }>();
  readonly #pending = new Map<string, Promise<boolean>>();
  /** bcrypt is CPU work on the main thread: like exporter-toolkit's mutex, one comparison at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #decoy: Promise<string> | undefined;

  constructor(users: ReadonlyMap<string, Secret<string>>) {
    this.#users = users;
  }

  /** A hash to compare against for unknown users, so that they take as long as known ones. */
  #decoyHash(): Promise<string> {
    if (this.#decoy === undefined) {
      let cost = 10;
      for (const h of this.#users.values()) cost = Number(h.reveal().slice(4, 6));
      this.#decoy = loadBcrypt().then((b) => b.hash(randomBytes(16).toString('hex'), cost));
    }
    return this.#decoy;
  }

  /** True if the Authorization header holds the credentials of a configured user. */
  async check(header: string | undefined): Promise<boolean> {
    const creds = parseBasic(header);
    if (creds === undefined) return false;
    const hash = this.#users.get(creds.user)?.reveal();
    const key = createHmac('sha256', this.#hmacKey)
      .update(creds.user)
      .update('\0')
      .update(creds.password)
      .update('\0')
      .update(hash ?? '')
      .digest('base64');
    const now = Date.now();
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.expires > now) return hit.ok;
    // Concurrent scrapes with the same credentials share one bcrypt run.
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#compare(creds.password, hash).then((ok) => {
        this.#remember(key, ok);
        return ok;
      });
      pending
        .finally(() => {
          this.#pending.delete(key);
        })
        .catch(() => undefined);
      this.#pending.set(key, pending);
    }
    return pending;
  }

  #compare(password: string, hash: string | undefined): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      const tooLong = Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_PASSWORD_BYTES;
      const bcrypt = await loadBcrypt();
      const ok = await bcrypt.compare(password, hash ?? (await this.#decoyHash()));
      return ok && hash !== undefined && !tooLong;
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next.catch(() => false);
  }

  #remember(key: string, ok: boolean): void {
    const now = Date.now();
    if (this.#cache.size >= BasicAuth.MAX_ENTRIES) {
      for (const [k, v] of this.#cache) if (v.expires <= now) this.#cache.delete(k);
      // Still full: drop the oldest entries (a Map iterates in insertion order).
      for (const k of this.#cache.keys()) {
        if (this.#cache.size < BasicAuth.MAX_ENTRIES) break;
        this.#cache.delete(k);
      }
    }
    this.#cache.set(key, { ok, expires: now + BasicAuth.TTL_MS });
  }
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (m?.[1] === undefined) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A token bucket: `burst` requests at once, then one more every `intervalMs`. */
function tokenBucket(intervalMs: number, burst: number): () => boolean {
  let tokens = burst;
  let last = performance.now();
  return () => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + (now - last) / intervalMs);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

/**
 * Enforces the configuration on `app`: the configured headers on every response, the rate limit,
 * basic auth on every route (401 with `WWW-Authenticate: Basic`), and the client certificate
 * policies that OpenSSL cannot enforce alone (a connection that fails them is closed right after
 * the handshake). Call it right after creating the app, before any route or plugin.
 */
export function registerWebSecurity(app: FastifyInstance, config: WebConfig): void {
  const headers = Object.entries(config.headers);
  const allow = config.rateLimit
    ? tokenBucket(config.rateLimit.intervalMs, config.rateLimit.burst)
    : undefined;
  const auth = config.basicAuthUsers.size > 0 ? new BasicAuth(config.basicAuthUsers) : undefined;
  const tls = config.tls;

  if (
    tls !== undefined &&
    tls.clientAuthType !== 'NoClientCert' &&
    tls.clientAuthType !== 'RequestClientCert'
  ) {
    app.server.on('secureConnection', (socket: TLSSocket) => {
      const problem = peerProblem(socket, tls);
      if (problem !== undefined) {
        app.log.warn({ remote: socket.remoteAddress, reason: problem }, 'TLS client refused');
        socket.destroy();
      }
    });
  }

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    for (const [name, value] of headers) reply.header(name, value);
    if (allow !== undefined && !allow()) {
      return reply.code(429).type('text/plain; charset=utf-8').send('Too Many Requests\n');
    }
    if (auth === undefined) return;
    if (await auth.check(req.headers.authorization)) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Basic')
      .type('text/plain; charset=utf-8')
      .send('Unauthorized\n');
  });
}
