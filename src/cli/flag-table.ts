// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The flag table: every flag, its kind, help and shown default (from the configuration schema). The
 * parser (flags.ts) and the help (usage.ts) are both generated from it, so the help cannot drift from
 * what is accepted. A data table: add a flag here, then what it sets in flags.ts.
 */
import { COLLECTOR_NAMES, configSchema } from '../config/schema.ts';

/** Defaults of the configuration, as the help shows them. */
export const DEFAULTS = configSchema.parse({});

/** Sections of the help, in order. */
export const SECTIONS = {
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
