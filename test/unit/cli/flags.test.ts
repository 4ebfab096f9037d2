// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAGS, parseCli, usage } from '../../../src/cli/flags.ts';
import { parseListenAddress } from '../../../src/config/listen-address.ts';
import { resolveCollectors } from '../../../src/http/metrics-route.ts';
import { loadConfig } from '../../../src/config/load.ts';

test('flags map onto configuration keys', () => {
  const cli = parseCli([
    '--config.file=/etc/x.yaml',
    '--libvirt.uri=qemu+tcp://h/system',
    '--web.listen-address=127.0.0.1:9999',
    '--web.max-requests=3',
    '--no-collector.cpu',
    '--collector.job',
    '--log.level=debug',
  ]);
  assert.equal(cli.command, 'serve');
  assert.equal(cli.configFile, '/etc/x.yaml');
  assert.deepEqual(cli.overrides, {
    'libvirt.uri': 'qemu+tcp://h/system',
    'web.listen_address': '127.0.0.1:9999',
    'web.max_requests_in_flight': 3,
    'log.level': 'debug',
    'collectors.cpu.enabled': false,
    'collectors.job.enabled': true,
  });
  assert.equal(parseCli(['inspect', '--output=json']).command, 'inspect');
});

test('an unknown flag, command or bad value is an error that names it', () => {
  assert.throws(() => parseCli(['--web.listen-adress=:1']), /web\.listen-adress/);
  assert.throws(() => parseCli(['--collector.nics']), /collector\.nics/);
  assert.throws(() => parseCli(['serve-all']), /unknown command "serve-all"/);
  assert.throws(() => parseCli(['inspect', '--output=xml']), /--output must be table or json/);
});

test('listen addresses', () => {
  assert.deepEqual(parseListenAddress(':9177'), { host: '::', port: 9177 });
  assert.deepEqual(parseListenAddress('127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
  assert.deepEqual(parseListenAddress('[::1]:9177'), { host: '::1', port: 9177 });
  assert.throws(() => parseListenAddress('9177'), /invalid listen address/);
  assert.throws(() => parseListenAddress(':99999'), /invalid port/);
});

test('collect[] and exclude[] choose collectors; unknown names are rejected', () => {
  const config = loadConfig(undefined);
  assert.deepEqual(resolveCollectors(config, ['vcpu', 'cpu'], []), ['cpu', 'vcpu']);
  assert.throws(() => resolveCollectors(config, ['cpu', 'job'], []), /disabled collector: job/);
  const all = resolveCollectors(config, [], []);
  assert.ok(all.includes('domain') && !all.includes('job'));
  assert.deepEqual(
    resolveCollectors(config, [], ['cpu']),
    all.filter((n) => n !== 'cpu'),
  );
  assert.throws(() => resolveCollectors(config, ['nics'], []), /unknown collector \(known: /);
  assert.throws(() => resolveCollectors(config, ['cpu'], ['vcpu']), /cannot be combined/);
});

// ---------------------------------------------------------------------------------------------
// inovex 2.5's command line (main.go: kingpin, exporter-toolkit's kingpinflag, promslog's flag).

test('every flag of inovex 2.5 is accepted', () => {
  // Each of inovex's flags, in kingpin's two spellings (--flag=value and --flag value).
  const cli = parseCli([
    '--libvirt.uri=/var/run/libvirt/libvirt-sock-ro',
    '--libvirt.driver',
    'qemu:///system',
    '--exporter.timeout=3s',
    '--exporter.max-concurrent-collects',
    '4',
    '--web.telemetry-path=/metrics',
    '--web.health-path=/health',
    '--web.listen-address',
    ':9177',
    '--web.config.file=',
    '--no-web.systemd-socket',
    '--log.level=info',
    '--log.format=logfmt',
  ]);
  assert.deepEqual(cli.overrides, {
    'libvirt.uri': 'qemu:///system?socket=/var/run/libvirt/libvirt-sock-ro',
    'libvirt.shard_timeout': '3s',
    'libvirt.stats_shards': 4,
    'web.telemetry_path': '/metrics',
    'web.health_path': '/health',
    'web.listen_address': ':9177',
    'log.level': 'info',
    'log.format': 'logfmt',
  });
  assert.equal(cli.systemdSocket, false);
  // The two flags whose meaning differs warn, one line each.
  assert.equal(cli.warnings.length, 2);
  for (const w of cli.warnings) assert.doesNotMatch(w, /\n/);
  assert.match(cli.warnings[0] ?? '', /--exporter\.timeout=3s sets libvirt\.shard_timeout/);
  assert.match(cli.warnings[1] ?? '', /--exporter\.max-concurrent-collects=4 sets libvirt\.stats_shards=4/);
  // The whole configuration is valid.
  const config = loadConfig(undefined, cli.overrides, cli.defaults);
  assert.equal(config.libvirt.stats_shards, 4);
  for (const h of ['--help', '-h', '--help-long', '--help-man']) assert.equal(parseCli([h]).help, true);
  assert.equal(parseCli(['--version']).version, true);
  assert.equal(parseCli(['--web.systemd-socket']).systemdSocket, true);
});

test('--libvirt.uri takes a socket path (inovex) or a URI', () => {
  const uri = (...args: string[]): unknown => parseCli(args).overrides['libvirt.uri'];
  assert.equal(
    uri('--libvirt.uri=/run/libvirt/virtqemud-sock-ro'),
    'qemu:///system?socket=/run/libvirt/virtqemud-sock-ro',
  );
  assert.equal(
    uri('--libvirt.uri=/tmp/test.sock', '--libvirt.driver=test:///default'),
    'test:///default?socket=/tmp/test.sock',
  );
  // Only an absolute path is a socket: anything else is a URI, and garbage is refused by the URI parser.
  assert.throws(
    () => loadConfig(undefined, parseCli(['--libvirt.uri=not a uri']).overrides),
    /libvirt\.uri: not a libvirt URI/,
  );
  assert.equal(uri('--libvirt.uri=/odd&path#1'), 'qemu:///system?socket=/odd%26path%231');
  assert.equal(uri('--libvirt.uri=qemu+tcp://h/system'), 'qemu+tcp://h/system');
  assert.equal(uri('--libvirt.driver=qemu:///system'), 'qemu:///system');
  // The socket path survives the URI parser unchanged.
  const config = loadConfig(undefined, parseCli(['--libvirt.uri=/odd&path#1']).overrides);
  assert.equal(config.libvirt.uri, 'qemu:///system?socket=/odd%26path%231');
  assert.throws(
    () => parseCli(['--libvirt.uri=qemu:///system', '--libvirt.driver=xen:///system']),
    /applies only when --libvirt\.uri is a socket path/,
  );
  assert.throws(() => parseCli(['--libvirt.driver=/var/run/x']), /must be a libvirt URI/);
  assert.match(parseCli(['--libvirt.driver=qemu:///session']).warnings[0] ?? '', /session daemon/);
});

test('--exporter.max-concurrent-collects is clamped to 1..16 (inovex raises < 1 to 1)', () => {
  assert.equal(parseCli(['--exporter.max-concurrent-collects=0']).overrides['libvirt.stats_shards'], 1);
  assert.equal(parseCli(['--exporter.max-concurrent-collects=64']).overrides['libvirt.stats_shards'], 16);
  assert.throws(() => parseCli(['--exporter.max-concurrent-collects=many']), /must be an integer/);
  assert.throws(() => parseCli(['--exporter.timeout=3 seconds']), /--exporter\.timeout: invalid duration/);
});

// ---------------------------------------------------------------------------------------------
// exporter-toolkit conventions

test('--web.listen-address is repeatable', () => {
  const cli = parseCli(['--web.listen-address=127.0.0.1:1', '--web.listen-address', '[::1]:2']);
  assert.deepEqual(cli.overrides['web.listen_address'], ['127.0.0.1:1', '[::1]:2']);
  const config = loadConfig(undefined, cli.overrides);
  assert.deepEqual(config.web.listen_address, ['127.0.0.1:1', '[::1]:2']);
});

test('--web.disable-exporter-metrics, --log.format, --web.telemetry-path=/', () => {
  const config = loadConfig(
    undefined,
    parseCli(['--web.disable-exporter-metrics', '--log.format=json', '--web.telemetry-path=/']).overrides,
  );
  assert.equal(config.web.disable_exporter_metrics, true);
  assert.equal(config.log.format, 'json');
  assert.equal(config.web.telemetry_path, '/');
  assert.equal(loadConfig(undefined).log.format, 'logfmt');
  assert.throws(() => loadConfig(undefined, parseCli(['--log.format=text']).overrides), /log\.format/);
  // kingpin's negation: the last one wins.
  assert.equal(
    parseCli(['--web.disable-exporter-metrics', '--no-web.disable-exporter-metrics']).overrides[
      'web.disable_exporter_metrics'
    ],
    false,
  );
});

test('--collector.disable-defaults leaves only the collectors turned on by flag or file', () => {
  const cli = parseCli(['--collector.disable-defaults', '--collector.cpu']);
  const config = loadConfig(undefined, cli.overrides, cli.defaults);
  const on = Object.entries(config.collectors)
    .filter(([, c]) => c.enabled)
    .map(([n]) => n);
  assert.deepEqual(on, ['cpu']);
  // A collector the file turns on stays on.
  const dir = mkdtempSync(join(tmpdir(), 'flags-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'collectors:\n  memory:\n    enabled: true\n');
    const fromFile = loadConfig(file, cli.overrides, cli.defaults);
    assert.deepEqual(
      Object.entries(fromFile.collectors)
        .filter(([, c]) => c.enabled)
        .map(([n]) => n),
      ['cpu', 'memory'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Without the flag the defaults stay.
  assert.equal(
    loadConfig(undefined, parseCli([]).overrides, parseCli([]).defaults).collectors.domain.enabled,
    true,
  );
});

test('--help is generated from the flag definitions: every accepted flag is in it, with the schema defaults', () => {
  const help = usage();
  for (const f of FLAGS) {
    if (f.hidden === true) continue;
    assert.ok(help.includes(`--${f.name}`), `--${f.name} is in --help`);
    // and parseCli accepts it
    const arg =
      f.kind === 'boolean' ? `--${f.name}` : `--${f.name}=${f.name === 'log.format' ? 'json' : 'x'}`;
    if (
      ![
        'help',
        'version',
        'config.check',
        'output',
        'interval',
        'web.max-requests',
        'exporter.max-concurrent-collects',
        'exporter.timeout',
        'libvirt.driver',
      ].includes(f.name)
    ) {
      assert.doesNotThrow(() => parseCli([arg]), `--${f.name} parses`);
    }
  }
  // The levels and formats come from the schema: the "fatal" level is listed, as the schema accepts it.
  assert.match(help, /--log\.level=LEVEL\s+one of trace, debug, info, warn, error, fatal \(default info\)/);
  assert.match(help, /--log\.format=FORMAT\s+one of logfmt, json \(default logfmt\)/);
  assert.match(help, /--web\.listen-address=ADDRESS[^\n]*repeatable\s+\(default :9177\)/);
  // Every line fits 100 columns.
  for (const line of help.split('\n')) assert.ok(line.length <= 100, `too long: ${line}`);
});
