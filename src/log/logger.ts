// SPDX-License-Identifier: Apache-2.0
/**
 * The process logger: pino on stderr, in logfmt (the exporter-toolkit's default) or JSON lines
 * (`--log.format`), with every known secret field redacted.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { logfmtDestination } from './logfmt.ts';

/** Log formats, as the exporter-toolkit names them. */
export const LOG_FORMATS = ['logfmt', 'json'] as const;
/** A log format. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Field paths that may hold secrets, redacted wherever they appear in a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'transport_url',
  '*.transport_url',
  'telemetry_secret',
  '*.telemetry_secret',
  'basic_auth_users',
  '*.basic_auth_users',
  'req.headers.authorization',
  'headers.authorization',
];

/**
 * Creates the logger. `format` is `logfmt` (default) or `json`; `destination` (stderr by default) is for
 * tests.
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  format: LogFormat = 'logfmt',
): Logger {
  const out: DestinationStream = destination ?? pino.destination(2);
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '<secret>' },
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'logfmt' ? logfmtDestination(out) : out,
  );
}
