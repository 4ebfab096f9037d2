// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { publisherConfigSchema } from '../../../src/publisher/config.ts';

const minimal = {
  enabled: true,
  transport_url: 'rabbit://u:topsecret@h:5672/',
  polling: { sources: [{ name: 'all', interval: 300, meters: ['*'] }] },
};

describe('publisherConfigSchema', () => {
  test('defaults', () => {
    const c = publisherConfigSchema.parse({});
    assert.equal(c.enabled, false);
    assert.equal(c.batch_size, 50);
    assert.equal(c.max_queue_length, 10000);
    assert.equal(c.policy, 'queue');
    assert.equal(c.ceilometer_release, '19.0.0');
    assert.equal(c.unit_profile, undefined);
    assert.equal(c.exchange, 'ceilometer');
    assert.equal(c.topic, 'notifications');
    assert.equal(c.exchange_declare, 'passive');
    assert.equal(c.source, 'openstack');
    assert.deepEqual(c.flavor_ids, {});
    assert.equal(c.tls.insecure_skip_verify, false);
    assert.equal(publisherConfigSchema.parse(minimal).enabled, true);
  });

  test('every key is documented', () => {
    for (const [key, schema] of Object.entries(publisherConfigSchema.shape)) {
      assert.ok((schema.description ?? '').length > 20, `${key} has no description`);
    }
  });

  const bad: [string, unknown, RegExp][] = [
    ['unknown key', { ...minimal, batchsize: 5 }, /batchsize/],
    [
      'no transport',
      { ...minimal, transport_url: undefined },
      /transport_url or transport_url_file is required/,
    ],
    [
      'both transports',
      { ...minimal, transport_url_file: '/run/secrets/url' },
      /set transport_url or transport_url_file, not both/,
    ],
    ['both secrets', { ...minimal, telemetry_secret: 'a', telemetry_secret_file: '/f' }, /not both/],
    ['no polling', { ...minimal, polling: undefined }, /polling_file or polling is required/],
    ['both pollings', { ...minimal, polling_file: '/etc/ceilometer/polling.yaml' }, /not both/],
    ['bad url', { ...minimal, transport_url: 'rabbit://u:topsecret@h:0x/' }, /invalid port/],
    ['bad policy', { ...minimal, policy: 'default' }, /policy/],
    ['bad profile', { ...minimal, unit_profile: 'GB' }, /unit_profile/],
    ['bad release', { ...minimal, ceilometer_release: 'zed' }, /ceilometer_release/],
    ['negative batch', { ...minimal, batch_size: -1 }, /batch_size/],
    ['tls typo', { ...minimal, tls: { ca: '/x' } }, /ca/],
  ];
  for (const [what, value, re] of bad) {
    test(`refuses: ${what}`, () => {
      const r = publisherConfigSchema.safeParse(value);
      assert.equal(r.success, false);
      const text = JSON.stringify(r.error.issues);
      assert.match(text, re);
      assert.ok(!text.includes('topsecret'), 'the password leaked into the error');
    });
  }

  test('a disabled section may be incomplete', () => {
    assert.equal(publisherConfigSchema.safeParse({ enabled: false, batch_size: 10 }).success, true);
  });
});
