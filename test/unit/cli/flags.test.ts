// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCli, parseListenAddress } from '../../../src/cli/flags.ts';
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
