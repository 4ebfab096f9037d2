// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The web configuration file's schema: its shape only (types, unknown keys); the meaning of each
 * value is checked where it is resolved (tls.ts, basic-auth.ts, rate-limit.ts, load.ts).
 */
import { z } from 'zod';
import { CLIENT_AUTH_TYPES } from './types.ts';
import { TLS_VERSIONS } from './tls-names.ts';

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

export const fileSchema = z.strictObject({
  tls_server_config: tlsSchema.nullish(),
  http_server_config: httpSchema.nullish(),
  // NOTE: the message for a non-string hash ("expected string") never includes the value.
  basic_auth_users: z.record(z.string(), z.string()).nullish(),
  rate_limit: rateLimitSchema.nullish(),
});

export type RawFile = z.infer<typeof fileSchema>;
export type RawTls = z.infer<typeof tlsSchema>;

export function describe(issue: z.core.$ZodIssue): string {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `  ${at === '' ? k : `${at}.${k}`}: unknown key`).join('\n');
  }
  return `  ${at === '' ? '(top level)' : at}: ${issue.message}`;
}
