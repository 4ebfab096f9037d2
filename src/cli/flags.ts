// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Command-line flags, in the Prometheus exporters' style (`--web.listen-address`). Flags override the
 * configuration file; an unknown flag is an error that names it. One table (flag-table.ts) defines every
 * flag: this parser, the `--help` text (usage.ts) and the defaults it shows all come from it (the
 * defaults from the configuration schema), so the help cannot drift from what is accepted.
 *
 * The flags of the inovex exporter 2.5 (its kingpin, exporter-toolkit and promslog flags) are accepted
 * too, so that its unit files and DaemonSets start this exporter unchanged: each means the same here or
 * maps to the nearest setting (inovex-flags.ts).
 */
import { parseArgs } from 'node:util';
import type { Overrides } from '../config/load.ts';
import { COLLECTOR_NAMES } from '../config/schema.ts';
import { FLAGS } from './flag-table.ts';
import { exporterLimits, libvirtUri, type FlagEffects } from './inovex-flags.ts';

export { FLAGS, type FlagDef } from './flag-table.ts';
export { usage } from './usage.ts';

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

/** The parsed flags, read by name. */
interface Args {
  readonly positionals: readonly string[];
  readonly raw: Readonly<Record<string, unknown>>;
  str(name: string): string | undefined;
  /** A boolean flag: true, false (its --no- form, the last one given wins as in kingpin) or undefined. */
  bool(name: string): boolean | undefined;
}

function readArgs(argv: readonly string[]): Args {
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
  return {
    positionals,
    raw: values,
    str: (name) => {
      const v = values[name];
      return typeof v === 'string' ? v : undefined;
    },
    bool: (name) => {
      const on = values[name] === true;
      const off = values[`no-${name}`] === true;
      if (!on && !off) return undefined;
      if (on && off) return argv.lastIndexOf(`--${name}`) > argv.lastIndexOf(`--no-${name}`);
      return on;
    },
  };
}

/** What the web, scrape and log flags set. */
function serverFlags(args: Args, out: FlagEffects): void {
  for (const [flag, key] of Object.entries(PLAIN)) {
    const v = args.str(flag);
    if (v === undefined) continue;
    // A number that is not one is refused by the schema, which names the key.
    out.overrides[key] = key === 'web.max_requests_in_flight' ? Number(v) : v;
  }
  // --web.listen-address: repeatable, as in the exporter-toolkit.
  const listen = args.raw['web.listen-address'];
  if (Array.isArray(listen) && listen.length > 0) {
    const addresses = listen.map(String);
    out.overrides['web.listen_address'] = addresses.length === 1 ? addresses[0] : addresses;
  }
  // An empty value means "none", as in the exporter-toolkit and inovex (their defaults are "").
  const webConfig = args.str('web.config.file');
  if (webConfig !== undefined && webConfig !== '') out.overrides['web.config_file'] = webConfig;
  const health = args.str('web.health-path');
  if (health !== undefined && health !== '') out.overrides['web.health_path'] = health;
  const disableSelf = args.bool('web.disable-exporter-metrics');
  if (disableSelf !== undefined) out.overrides['web.disable_exporter_metrics'] = disableSelf;
}

/** `--collector.NAME`, `--no-collector.NAME` and `--collector.disable-defaults`. */
function collectorFlags(
  args: Args,
  overrides: Record<string, unknown>,
  defaults: Record<string, unknown>,
): void {
  for (const c of COLLECTOR_NAMES) {
    const on = args.bool(`collector.${c}`);
    if (on !== undefined) overrides[`collectors.${c}.enabled`] = on;
  }
  if (args.bool('collector.disable-defaults') === true) {
    for (const c of COLLECTOR_NAMES) defaults[`collectors.${c}.enabled`] = false;
  }
}

/** The `inspect` command's own flags. */
function inspectFlags(args: Args): Pick<Cli, 'output' | 'interval'> {
  const output = args.str('output') ?? 'table';
  if (output !== 'table' && output !== 'json')
    throw new Error(`--output must be table or json, not "${output}"`);
  const interval = Number(args.str('interval') ?? '1');
  if (!(interval > 0 && interval <= 60)) throw new Error('--interval must be between 0 and 60 seconds');
  return { output, interval };
}

/** Parses argv (without node and the script). Throws an Error naming a bad flag. */
export function parseCli(argv: readonly string[]): Cli {
  const args = readArgs(argv);
  const command = args.positionals[0] ?? 'serve';
  if (command !== 'serve' && command !== 'inspect') throw new Error(`unknown command "${command}"`);
  if (args.positionals.length > 1) throw new Error(`unexpected argument "${args.positionals[1] ?? ''}"`);

  const effects: FlagEffects = { overrides: {}, warnings: [] };
  const defaults: Record<string, unknown> = {};
  serverFlags(args, effects);
  libvirtUri(args.str('libvirt.uri'), args.str('libvirt.driver'), effects);
  exporterLimits(args.str('exporter.timeout'), args.str('exporter.max-concurrent-collects'), effects);
  collectorFlags(args, effects.overrides, defaults);
  const configFile = args.str('config.file');
  return {
    command,
    configFile: configFile === '' ? undefined : configFile,
    check: args.raw['config.check'] === true,
    version: args.raw['version'] === true,
    help: ['help', 'help-long', 'help-man'].some((h) => args.raw[h] === true),
    ...inspectFlags(args),
    overrides: effects.overrides,
    defaults,
    systemdSocket: args.bool('web.systemd-socket') === true,
    warnings: effects.warnings,
  };
}
