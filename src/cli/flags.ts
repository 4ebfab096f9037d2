// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Command-line flags, in the Prometheus exporters' style (`--web.listen-address`). Flags override the
 * configuration file; an unknown flag is an error that names it.
 */
import { parseArgs } from 'node:util';
import { COLLECTOR_NAMES } from '../config/schema.ts';
import type { Overrides } from '../config/load.ts';

/** Flags that map onto configuration keys. */
const VALUE_FLAGS: Readonly<Record<string, string>> = {
  'libvirt.uri': 'libvirt.uri',
  'web.listen-address': 'web.listen_address',
  'web.telemetry-path': 'web.telemetry_path',
  'web.config.file': 'web.config_file',
  'web.max-requests': 'web.max_requests_in_flight',
  'scrape.timeout': 'scrape.timeout',
  'log.level': 'log.level',
};

/** Parsed command line. */
export interface Cli {
  readonly command: 'serve' | 'inspect';
  readonly configFile: string | undefined;
  readonly check: boolean;
  readonly version: boolean;
  readonly help: boolean;
  readonly output: 'table' | 'json';
  readonly interval: number;
  readonly overrides: Overrides;
}

/** The help text. */
export function usage(): string {
  return `usage: libvirt-exporter [inspect] [flags]

Prometheus exporter for the libvirt guests of this host (and Ceilometer samples over AMQP).

commands:
  (none)                      serve /metrics
  inspect                     print a table of the local guests and exit

flags:
  --config.file=PATH          YAML configuration file (see docs/configuration.md)
  --config.check              validate the configuration and exit (0 when valid)
  --libvirt.uri=URI           libvirt URI (default qemu:///system, read-only socket)
  --web.listen-address=ADDR   listen address (default :9177)
  --web.telemetry-path=PATH   metrics path (default /metrics)
  --web.config.file=PATH      exporter-toolkit web configuration (TLS, basic auth)
  --web.max-requests=N        scrapes in flight before 503 (default 10)
  --scrape.timeout=DURATION   longest scrape (default 10s)
  --log.level=LEVEL           trace, debug, info, warn, error (default info)
  --collector.NAME            enable a collector; --no-collector.NAME disables it
                              (${COLLECTOR_NAMES.join(', ')})
  --output=table|json         inspect: output format (default table)
  --interval=SECONDS          inspect: sampling interval for rates (default 1)
  --version                   print the version and exit
  -h, --help                  this help
`;
}

/** Parses argv (without node and the script). Throws an Error naming a bad flag. */
export function parseCli(argv: readonly string[]): Cli {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    'config.file': { type: 'string' },
    'config.check': { type: 'boolean' },
    version: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    output: { type: 'string' },
    interval: { type: 'string' },
  };
  for (const f of Object.keys(VALUE_FLAGS)) options[f] = { type: 'string' };
  for (const c of COLLECTOR_NAMES) {
    options[`collector.${c}`] = { type: 'boolean' };
    options[`no-collector.${c}`] = { type: 'boolean' };
  }
  const { values, positionals } = parseArgs({
    args: [...argv],
    options,
    strict: true,
    allowPositionals: true,
  });
  const command = positionals[0] ?? 'serve';
  if (command !== 'serve' && command !== 'inspect') throw new Error(`unknown command "${command}"`);
  if (positionals.length > 1) throw new Error(`unexpected argument "${positionals[1] ?? ''}"`);
  const overrides: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(VALUE_FLAGS)) {
    const v = values[flag];
    if (typeof v !== 'string') continue;
    overrides[key] = key === 'web.max_requests_in_flight' ? Number(v) : v;
  }
  for (const c of COLLECTOR_NAMES) {
    if (values[`collector.${c}`] === true) overrides[`collectors.${c}.enabled`] = true;
    if (values[`no-collector.${c}`] === true) overrides[`collectors.${c}.enabled`] = false;
  }
  const output = values['output'] ?? 'table';
  if (output !== 'table' && output !== 'json')
    throw new Error(`--output must be table or json, not "${String(output)}"`);
  const interval = Number(values['interval'] ?? '1');
  if (!(interval > 0 && interval <= 60)) throw new Error('--interval must be between 0 and 60 seconds');
  return {
    command,
    configFile: typeof values['config.file'] === 'string' ? values['config.file'] : undefined,
    check: values['config.check'] === true,
    version: values['version'] === true,
    help: values['help'] === true,
    output,
    interval,
    overrides,
  };
}

/** Splits `host:port` (`:9177`, `[::1]:9177`, `127.0.0.1:9177`) for listen(). */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (m === null)
    throw new Error(`invalid listen address "${address}" (expected host:port, :port or [ipv6]:port)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in listen address "${address}"`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '::' : host, port };
}
