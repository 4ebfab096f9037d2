// SPDX-License-Identifier: Apache-2.0
/**
 * logfmt lines (`time=… level=info msg="listening" address=:9177`), the default log format of the
 * Prometheus exporter-toolkit, written from pino's JSON records.
 *
 * NOTE: written here, not taken from npm: `logfmt`'s stringify leaves newlines and other control
 * characters raw (one record would span several lines), and `pino-logfmt` is a worker-thread transport
 * around that same stringify. The rules follow go-logfmt, which the Go exporters use: a value is quoted
 * when it is empty or holds a space, `=`, `"`, a backslash or a control character, and escaped inside
 * the quotes; nested objects become dotted keys (`err.message`), as slog writes groups.
 *
 * @packageDocumentation
 */

/** pino's numeric levels and their names. */
const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** A key without the characters logfmt cannot carry in a key. */
function cleanKey(key: string): string {
  // eslint-disable-next-line no-control-regex
  const k = key.replace(/[\u0000-\u0020="\u007f\\]/g, '_');
  return k === '' ? '_' : k;
}

/** A value, quoted and escaped when it needs to be. */
export function logfmtValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (value !== '' && !/[\u0000-\u0020="\\\u007f-\u009f\u2028\u2029]/.test(value)) return value;
  const escaped = value.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f"\\\u007f-\u009f\u2028\u2029]/g,
    (c) => {
      switch (c) {
        case '"':
          return '\\"';
        case '\\':
          return '\\\\';
        case '\n':
          return '\\n';
        case '\r':
          return '\\r';
        case '\t':
          return '\\t';
        default:
          return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
      }
    },
  );
  return `"${escaped}"`;
}

function scalar(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value);
}

function flatten(prefix: string, value: unknown, out: [string, string][]): void {
  if (value === undefined) return;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) out.push([prefix, '{}']);
    for (const [k, v] of entries) flatten(`${prefix}.${cleanKey(k)}`, v, out);
    return;
  }
  out.push([prefix, scalar(value)]);
}

/**
 * One logfmt line (with its newline) from one pino record: `time` (RFC 3339, UTC, milliseconds),
 * `level` (its name), `msg`, then every other field in pino's order.
 */
export function logfmtLine(record: Readonly<Record<string, unknown>>): string {
  const pairs: [string, string][] = [];
  const { time, level, msg, ...rest } = record;
  if (typeof time === 'number') pairs.push(['time', new Date(time).toISOString()]);
  else if (time !== undefined) flatten('time', time, pairs);
  if (level !== undefined) {
    pairs.push(['level', typeof level === 'number' ? (LEVEL_NAMES[level] ?? String(level)) : scalar(level)]);
  }
  if (msg !== undefined) pairs.push(['msg', scalar(msg)]);
  for (const [k, v] of Object.entries(rest)) flatten(cleanKey(k), v, pairs);
  return `${pairs.map(([k, v]) => `${k}=${logfmtValue(v)}`).join(' ')}\n`;
}

/**
 * A pino destination that writes logfmt to `out`: pino hands it each record as a JSON line. A line that
 * is not JSON (never expected) is written as one `msg` so that nothing is lost.
 */
export function logfmtDestination(out: { write(chunk: string): unknown }): { write(chunk: string): void } {
  return {
    write(chunk: string): void {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          record = { msg: line };
        }
        out.write(logfmtLine(record));
      }
    },
  };
}
