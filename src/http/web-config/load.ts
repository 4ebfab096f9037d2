// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Loading the web configuration file of the Prometheus exporter-toolkit (`--web.config.file`): TLS,
 * client certificates, basic auth with bcrypt hashes, a few response headers and a rate limit. The
 * same file that node_exporter reads on the host works here unchanged.
 *
 * Everything is checked when the file is loaded (keys, values, files, that the key matches the
 * certificate, that Node.js accepts the TLS settings), so that a bad file stops the process before
 * it listens. Error messages name the key or the file at fault and never quote a password hash or
 * key material: YAML errors carry line, column and code only, never the offending source line.
 */
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../../config/load.ts';
import { secretFileWarning } from '../../config/secret-file.ts';
import { parseYamlSafely, YamlSyntaxError } from '../../config/yaml.ts';
import { resolveUsers } from './basic-auth.ts';
import { clientCertWarnings } from './client-cert.ts';
import { resolveRateLimit } from './rate-limit.ts';
import { describe, fileSchema } from './schema.ts';
import { readText, resolveTls } from './tls.ts';
import type { WebConfig } from './types.ts';

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

export function resolveHeaders(
  raw: Record<string, string | null> | null | undefined,
): Record<string, string> {
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

/**
 * Reads and validates a web configuration file, including the TLS files it names (relative paths
 * are taken from the file's directory, as exporter-toolkit does). What is valid but unsafe (a
 * readable key file, client certificate settings that do not protect) is in `warnings`.
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
  let parsed: unknown;
  try {
    parsed = parseYamlSafely(text, `web configuration ${file}`) ?? {};
  } catch (err) {
    if (err instanceof YamlSyntaxError) throw new ConfigError(err.message);
    throw err;
  }
  const result = fileSchema.safeParse(parsed);
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
    const keyFile = tls?.keySource.startsWith('tls_server_config.key_file ')
      ? resolve(dirname(file), raw.tls_server_config?.key_file ?? '')
      : undefined;
    const readable =
      keyFile === undefined ? undefined : await secretFileWarning(keyFile, 'tls_server_config.key_file');
    return {
      file,
      tls,
      warnings: [...(readable === undefined ? [] : [readable]), ...clientCertWarnings(tls)],
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
