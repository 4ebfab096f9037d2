// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Command-line flags, in the Prometheus exporters' style (`--web.listen-address`). Flags override the
 * configuration file; an unknown flag is an error that names it. One table ({@link FLAGS}) defines every
 * flag: the parser, the `--help` text and the defaults it shows all come from it (the defaults from the
 * configuration schema), so the help cannot drift from what is accepted.
 *
 * The flags of the inovex exporter 2.5 (its kingpin, exporter-toolkit and promslog flags) are accepted
 * too, so that its unit files and DaemonSets start this exporter unchanged: each means the same here or
 * maps to the nearest setting, with a one-line warning where the meaning differs (docs/migration.md).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { COLLECTOR_NAMES, configSchema } from '../config/schema.ts';
import type { Overrides } from '../config/load.ts';
import { parseDuration } from '../config/duration.ts';

/** Defaults of the configuration, as the help shows them. */
const DEFAULTS = configSchema.parse({});

/** Sections of the help, in order. */
const SECTIONS = {
  general: 'flags',
  libvirt: 'libvirt',
  web: 'web server',
  log: 'logging',
  collector: 'collectors',
  inspect: 'inspect command',
  inovex: 'accepted for the inovex exporter 2.5 command line (see docs/migration.md)',
} as const;

/** One flag. */
export interface FlagDef {
  /** Name without the leading `--`. */
  readonly name: string;
  /** `string` takes a value, `strings` is repeatable, `boolean` takes none (and has a `--no-` form). */
  readonly kind: 'string' | 'strings' | 'boolean';
  /** Name of the value in the help (`--web.listen-address=ADDRESS`). */
  readonly value?: string;
  readonly help: string;
  /** The default shown in the help. */
  readonly default?: string;
  readonly section: keyof typeof SECTIONS;
  readonly short?: string;
  /** Left out of the help (aliases of kingpin's built-in flags). */
  readonly hidden?: boolean;
}

const collectorFlags: FlagDef[] = COLLECTOR_NAMES.map((c) => ({
  name: `collector.${c}`,
  kind: 'boolean',
  help: `${DEFAULTS.collectors[c].enabled ? 'on' : 'off'} by default`,
  section: 'collector',
}));

/** Every flag. */
export const FLAGS: readonly FlagDef[] = [
  {
    name: 'config.file',
    kind: 'string',
    value: 'PATH',
    help: 'YAML configuration file (docs/configuration.md); watched, and reloaded when it changes',
    section: 'general',
  },
  {
    name: 'config.check',
    kind: 'boolean',
    help: 'validate the configuration and exit (0 when valid)',
    section: 'general',
  },
  { name: 'version', kind: 'boolean', help: 'print the version and exit', section: 'general' },
  { name: 'help', kind: 'boolean', short: 'h', help: 'this help', section: 'general' },
  {
    name: 'libvirt.uri',
    kind: 'string',
    value: 'URI|SOCKET',
    help: 'libvirt URI, or the path of a libvirt unix socket (as inovex takes it); a local URI uses virtqemud-sock-ro when it exists, else libvirt-sock-ro',
    default: DEFAULTS.libvirt.uri,
    section: 'libvirt',
  },
  {
    name: 'web.listen-address',
    kind: 'strings',
    value: 'ADDRESS',
    help: 'address to listen on, host:port or [ipv6]:port; repeatable',
    default: [DEFAULTS.web.listen_address].flat().join(', '),
    section: 'web',
  },
  {
    name: 'web.telemetry-path',
    kind: 'string',
    value: 'PATH',
    help: 'path of the metrics; / serves them instead of the landing page',
    default: DEFAULTS.web.telemetry_path,
    section: 'web',
  },
  {
    name: 'web.config.file',
    kind: 'string',
    value: 'PATH',
    help: 'exporter-toolkit web configuration (TLS, basic auth); it and its TLS files are watched and reloaded',
    section: 'web',
  },
  {
    name: 'web.systemd-socket',
    kind: 'boolean',
    help: 'serve on the sockets systemd passes (socket activation) instead of --web.listen-address',
    section: 'web',
  },
  {
    name: 'web.disable-exporter-metrics',
    kind: 'boolean',
    help: 'leave out process_*, nodejs_* and libvirt_exporter_scrapes_*',
    section: 'web',
  },
  {
    name: 'web.max-requests',
    kind: 'string',
    value: 'N',
    help: 'scrapes in flight before 503',
    default: String(DEFAULTS.web.max_requests_in_flight),
    section: 'web',
  },
  {
    name: 'web.health-path',
    kind: 'string',
    value: 'PATH',
    help: 'extra path answering 200 while libvirt answers, 503 otherwise (/-/ready and /-/healthy are always served)',
    section: 'web',
  },
  {
    name: 'scrape.timeout',
    kind: 'string',
    value: 'DURATION',
    help: 'longest scrape',
    default: DEFAULTS.scrape.timeout,
    section: 'web',
  },
  {
    name: 'log.level',
    kind: 'string',
    value: 'LEVEL',
    help: `one of ${configSchema.shape.log.unwrap().shape.level.unwrap().options.join(', ')}`,
    default: DEFAULTS.log.level,
    section: 'log',
  },
  {
    name: 'log.format',
    kind: 'string',
    value: 'FORMAT',
    help: `one of ${configSchema.shape.log.unwrap().shape.format.unwrap().options.join(', ')}`,
    default: DEFAULTS.log.format,
    section: 'log',
  },
  {
    name: 'collector.disable-defaults',
    kind: 'boolean',
    help: 'turn every collector off unless --collector.NAME (or the configuration file) turns it on',
    section: 'collector',
  },
  ...collectorFlags,
  {
    name: 'output',
    kind: 'string',
    value: 'table|json',
    help: 'output format',
    default: 'table',
    section: 'inspect',
  },
  {
    name: 'interval',
    kind: 'string',
    value: 'SECONDS',
    help: 'sampling interval for rates',
    default: '1',
    section: 'inspect',
  },
  {
    name: 'libvirt.driver',
    kind: 'string',
    value: 'URI',
    help: 'the libvirt URI when --libvirt.uri is a socket path (inovex: qemu:///system, qemu:///session, xen:///system, test:///default)',
    section: 'inovex',
  },
  {
    name: 'exporter.timeout',
    kind: 'string',
    value: 'DURATION',
    help: 'sets libvirt.shard_timeout: a bulk stats call slower than this is abandoned and its slow guests reported timed out',
    section: 'inovex',
  },
  {
    name: 'exporter.max-concurrent-collects',
    kind: 'string',
    value: 'N',
    help: 'sets libvirt.stats_shards (1 to 16): concurrent bulk stats calls, not per-guest workers',
    section: 'inovex',
  },
  { name: 'help-long', kind: 'boolean', help: 'same as --help', section: 'inovex', hidden: true },
  { name: 'help-man', kind: 'boolean', help: 'same as --help', section: 'inovex', hidden: true },
];

/** Flags that set one configuration key as they are. */
const PLAIN: Readonly<Record<string, string>> = {
  'web.telemetry-path': 'web.telemetry_path',
  'web.max-requests': 'web.max_requests_in_flight',
  'scrape.timeout': 'scrape.timeout',
  'log.level': 'log.level',
  'log.format': 'log.format',
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
  /** Configuration keys the flags set (they win over the file). */
  readonly overrides: Overrides;
  /** Configuration keys the flags set only where the file says nothing (`--collector.disable-defaults`). */
  readonly defaults: Overrides;
  /** Serve on the sockets systemd passes (`LISTEN_FDS`) instead of the listen addresses. */
  readonly systemdSocket: boolean;
  /** One line each: a flag accepted with a meaning that differs from inovex's. */
  readonly warnings: readonly string[];
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line !== '' && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '') lines.push(line);
  return lines.join(`\n${indent}`);
}

/** The help text, generated from {@link FLAGS}. */
export function usage(): string {
  const col = 40;
  const out: string[] = [
    'usage: libvirt-exporter [inspect] [flags]',
    '',
    'Prometheus exporter for the libvirt guests of this host (and Ceilometer samples over AMQP).',
    '',
    'commands:',
    `  ${'(none)'.padEnd(col - 2)}serve the metrics`,
    `  ${'inspect'.padEnd(col - 2)}print a table of the local guests and exit`,
  ];
  for (const [section, title] of Object.entries(SECTIONS)) {
    const flags = FLAGS.filter((f) => f.section === section && f.hidden !== true);
    if (flags.length === 0) continue;
    out.push('', `${title}:`);
    for (const f of flags) {
      const names = `${f.short !== undefined ? `-${f.short}, ` : ''}--${f.name}${f.value !== undefined ? `=${f.value}` : ''}`;
      let help = f.help;
      if (f.default !== undefined) help += ` (default ${f.default})`;
      if (f.kind === 'boolean' && section !== 'general') help += `; --no-${f.name} turns it off`;
      const left = `  ${names}`;
      const pad = left.length + 2 > col ? `\n${' '.repeat(col)}` : ' '.repeat(col - left.length);
      out.push(`${left}${pad}${wrap(help, 100 - col, ' '.repeat(col))}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * Whether a `--libvirt.uri` value is a socket path (inovex's meaning) rather than a URI: an absolute path.
 * Anything else is parsed as a URI, so that a mistyped value is refused with the URI parser's message.
 */
export function isSocketPath(value: string): boolean {
  return value.startsWith('/');
}

/** A socket path in a URI query (the characters that would end or split the parameter are escaped). */
function socketParam(socket: string): string {
  return socket.replace(/[%&;#+]/g, (c) => encodeURIComponent(c));
}

function integer(flag: string, v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new Error(`--${flag} must be an integer, not "${v}"`);
  return Number(v);
}

/** Parses argv (without node and the script). Throws an Error naming a bad flag. */
export function parseCli(argv: readonly string[]): Cli {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const f of FLAGS) {
    options[f.name] = {
      type: f.kind === 'boolean' ? 'boolean' : 'string',
      ...(f.short !== undefined ? { short: f.short } : {}),
      ...(f.kind === 'strings' ? { multiple: true } : {}),
    };
    // kingpin's negation of a boolean flag
    if (f.kind === 'boolean' && f.section !== 'general') options[`no-${f.name}`] = { type: 'boolean' };
  }
  const { values, positionals } = parseArgs({
    args: [...argv],
    options,
    strict: true,
    allowPositionals: true,
  });
  const str = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  /** A boolean flag: true, false (its --no- form, the last one given wins as in kingpin) or undefined. */
  const bool = (name: string): boolean | undefined => {
    const on = values[name] === true;
    const off = values[`no-${name}`] === true;
    if (!on && !off) return undefined;
    if (on && off) {
      return argv.lastIndexOf(`--${name}`) > argv.lastIndexOf(`--no-${name}`);
    }
    return on;
  };

  const command = positionals[0] ?? 'serve';
  if (command !== 'serve' && command !== 'inspect') throw new Error(`unknown command "${command}"`);
  if (positionals.length > 1) throw new Error(`unexpected argument "${positionals[1] ?? ''}"`);

  const overrides: Record<string, unknown> = {};
  const defaults: Record<string, unknown> = {};
  const warnings: string[] = [];

  for (const [flag, key] of Object.entries(PLAIN)) {
    const v = str(flag);
    if (v === undefined) continue;
    // A number that is not one is refused by the schema, which names the key.
    overrides[key] = key === 'web.max_requests_in_flight' ? Number(v) : v;
  }

  // --web.listen-address: repeatable, as in the exporter-toolkit.
  const listen = values['web.listen-address'];
  if (Array.isArray(listen) && listen.length > 0) {
    const addresses = listen.map(String);
    overrides['web.listen_address'] = addresses.length === 1 ? addresses[0] : addresses;
  }
  // An empty value means "none", as in the exporter-toolkit and inovex (their defaults are "").
  const webConfig = str('web.config.file');
  if (webConfig !== undefined && webConfig !== '') overrides['web.config_file'] = webConfig;
  const health = str('web.health-path');
  if (health !== undefined && health !== '') overrides['web.health_path'] = health;
  const disableSelf = bool('web.disable-exporter-metrics');
  if (disableSelf !== undefined) overrides['web.disable_exporter_metrics'] = disableSelf;

  // --libvirt.uri is a URI, or (inovex) a socket path that --libvirt.driver completes.
  const uri = str('libvirt.uri');
  const driver = str('libvirt.driver');
  if (uri !== undefined && isSocketPath(uri)) {
    const socket = path.normalize(uri);
    const base = driver ?? DEFAULTS.libvirt.uri;
    if (isSocketPath(base)) throw new Error(`--libvirt.driver must be a libvirt URI, not "${base}"`);
    overrides['libvirt.uri'] = `${base}${base.includes('?') ? '&' : '?'}socket=${socketParam(socket)}`;
  } else if (uri !== undefined) {
    if (driver !== undefined && driver !== uri) {
      throw new Error(
        `--libvirt.driver=${driver} applies only when --libvirt.uri is a socket path; --libvirt.uri=${uri} already names the driver`,
      );
    }
    overrides['libvirt.uri'] = uri;
  } else if (driver !== undefined) {
    if (isSocketPath(driver)) throw new Error(`--libvirt.driver must be a libvirt URI, not "${driver}"`);
    overrides['libvirt.uri'] = driver;
    if (/^[^:]+:\/\/\/session\b/.test(driver)) {
      warnings.push(
        `--libvirt.driver=${driver} without --libvirt.uri: this exporter connects to the per-user session daemon's socket, where inovex sends ${driver} to /var/run/libvirt/libvirt-sock-ro; pass --libvirt.uri=/var/run/libvirt/libvirt-sock-ro to keep that`,
      );
    }
  }

  const timeout = str('exporter.timeout');
  if (timeout !== undefined) {
    try {
      parseDuration(timeout);
    } catch (err) {
      throw new Error(`--exporter.timeout: ${(err as Error).message}`, { cause: err });
    }
    overrides['libvirt.shard_timeout'] = timeout;
    warnings.push(
      `--exporter.timeout=${timeout} sets libvirt.shard_timeout: here it bounds one bulk stats call (a shard of guests), not each libvirt call of each guest; slow guests are still reported in libvirt_domain_timed_out`,
    );
  }
  const concurrent = str('exporter.max-concurrent-collects');
  if (concurrent !== undefined) {
    const n = integer('exporter.max-concurrent-collects', concurrent);
    const shards = Math.min(16, Math.max(1, n));
    overrides['libvirt.stats_shards'] = shards;
    warnings.push(
      `--exporter.max-concurrent-collects=${n} sets libvirt.stats_shards=${shards}: concurrent bulk stats calls over one connection (1 to 16), not one worker per guest`,
    );
  }

  for (const c of COLLECTOR_NAMES) {
    const on = bool(`collector.${c}`);
    if (on !== undefined) overrides[`collectors.${c}.enabled`] = on;
  }
  if (bool('collector.disable-defaults') === true) {
    for (const c of COLLECTOR_NAMES) defaults[`collectors.${c}.enabled`] = false;
  }

  const output = str('output') ?? 'table';
  if (output !== 'table' && output !== 'json')
    throw new Error(`--output must be table or json, not "${output}"`);
  const interval = Number(str('interval') ?? '1');
  if (!(interval > 0 && interval <= 60)) throw new Error('--interval must be between 0 and 60 seconds');
  return {
    command,
    configFile: str('config.file') === '' ? undefined : str('config.file'),
    check: values['config.check'] === true,
    version: values['version'] === true,
    help: values['help'] === true || values['help-long'] === true || values['help-man'] === true,
    output,
    interval,
    overrides,
    defaults,
    systemdSocket: bool('web.systemd-socket') === true,
    warnings,
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

/** The listen addresses of a configuration, as a list. */
export function listenAddresses(value: string | readonly string[]): string[] {
  return typeof value === 'string' ? [value] : [...value];
}
