// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * What a loaded web configuration is: {@link WebConfig}, its TLS part, and the {@link Secret} wrapper
 * that keeps hashes and keys out of logs.
 */
import type { SecureVersion } from 'node:tls';
import { inspect } from 'node:util';

/**
 * A value that must not leak: it prints as `<secret>` through JSON, `util.inspect` and string
 * conversion, so that logging a {@link WebConfig} by mistake shows no hash and no key.
 */
export class Secret<T> {
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
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** Settings of the HTTPS server, resolved and checked. */
export interface WebTlsConfig {
  /** The server certificate (chain), PEM. */
  readonly cert: string;
  /** The server's private key, PEM. */
  readonly key: Secret<string>;
  /** Where the certificate and key came from, for messages ("inline" or a path). */
  readonly certSource: string;
  readonly keySource: string;
  /** The files the settings were read from (certificate, key, client CA): watched, and reloaded when they change. */
  readonly files: readonly string[];
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
  /** Token bucket of requests (exporter-toolkit's `rate_limit`), or undefined. */
  readonly rateLimit: { readonly intervalMs: number; readonly burst: number } | undefined;
  /** One-line warnings about settings that are valid but unsafe, logged when the server starts. */
  readonly warnings: readonly string[];
}
