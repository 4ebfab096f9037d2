// SPDX-License-Identifier: Apache-2.0
/** The process logger: pino, JSON lines on stderr, with every known secret field redacted. */
import { pino, type Logger } from 'pino';

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

/** Creates the logger. `destination` is for tests. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '<secret>' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination(2),
  );
}
