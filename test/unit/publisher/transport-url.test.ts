// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  describeTransportUrl,
  parseTransportUrl,
  redactTransportUrl,
  TransportUrlError,
} from '../../../src/publisher/transport-url.ts';

describe('parseTransportUrl', () => {
  test('oslo multi-host URL with a vhost', () => {
    const t = parseTransportUrl(
      'rabbit://openstack:s3cr%40t@ctl1:5672,openstack:s3cr%40t@ctl2:5673/openstack',
    );
    assert.equal(t.scheme, 'rabbit');
    assert.equal(t.username, 'openstack');
    assert.equal(t.password, 's3cr@t');
    assert.deepEqual(t.hosts, [
      { hostname: 'ctl1', port: 5672 },
      { hostname: 'ctl2', port: 5673 },
    ]);
    assert.equal(t.vhost, 'openstack');
    assert.equal(t.tls, false);
  });

  test('defaults: port 5672, vhost /, guest credentials; TLS by ?ssl=1 or amqps', () => {
    const t = parseTransportUrl('rabbit://broker');
    assert.deepEqual(
      [t.hosts, t.vhost, t.username, t.password],
      [[{ hostname: 'broker', port: 5672 }], '/', 'guest', 'guest'],
    );
    assert.equal(parseTransportUrl('rabbit://u:p@h:5671/?ssl=1').tls, true);
    assert.equal(parseTransportUrl('rabbit://u:p@h/?ssl=true&heartbeat=30').otherParams.join(), 'heartbeat');
    assert.equal(parseTransportUrl('amqps://u:p@h').tls, true);
    assert.equal(parseTransportUrl('rabbit://u:p@[::1]:5673/%2F').hosts[0]?.hostname, '::1');
    assert.equal(parseTransportUrl('rabbit://u:p@h/%2Fprod').vhost, '/prod');
    // A host without credentials uses the first host's (rabbitmq-client has one set).
    assert.equal(parseTransportUrl('rabbit://u:p@h1,h2').hosts.length, 2);
  });

  const bad: [string, RegExp][] = [
    ['localhost:5672', /not of the form/],
    ['http://u:p@h/', /scheme 'http' is not supported/],
    ['rabbit://', /not of the form|no host/],
    ['rabbit://u:p@h:99999/', /invalid port '99999'/],
    ['rabbit://u:p@h:abc/', /invalid port 'abc'/],
    ['rabbit://a:b@h1,c:d@h2/', /share one user and password/],
    ['rabbit://u:p@:5672/', /empty host name/],
    ['rabbit://u:%E0%A4%A@h/', /percent-encoding in the password/],
  ];
  for (const [url, re] of bad) {
    test(`refuses ${url} without showing the password`, () => {
      assert.throws(
        () => parseTransportUrl(url),
        (err: Error) =>
          err instanceof TransportUrlError && re.test(err.message) && !/:p@|:b@|%A4/.test(err.message),
      );
    });
  }
});

test('redaction never shows a password, even a malformed one', () => {
  assert.equal(redactTransportUrl('rabbit://u:p,w/d@h1:5672,u:p,w/d@h2/vh'), 'rabbit://***@h2/vh');
  assert.equal(redactTransportUrl('rabbit://h1/vh'), 'rabbit://h1/vh');
  const t = parseTransportUrl(
    'rabbit://open%20stack:topsecret@h1:5672,open%20stack:topsecret@[fe80::1]:5673/vh?ssl=1',
  );
  const shown = describeTransportUrl(t);
  assert.equal(shown, 'rabbit://open%20stack:***@h1:5672,[fe80::1]:5673/vh?ssl=1');
  assert.ok(!shown.includes('topsecret'));
});
