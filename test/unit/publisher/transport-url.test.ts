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
    ['http://u:p@h/', /the scheme is not supported/],
    ['rabbit://', /not of the form|no host/],
    ['rabbit://u:p@h:99999/', /invalid port \(a number/],
    ['rabbit://u:p@h:abc/', /invalid port \(a number/],
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

describe('issue 15 item 2: an unencoded "/", "?", "," or "#" in the password', () => {
  // TEST ONLY passwords. Each piece must stay out of the message: before the fix, "pa" was reported
  // as an invalid port, and with a numeric piece the URL "parsed" to the wrong host with guest/guest.
  const cases: [string, string, RegExp][] = [
    ['"/" (port-like piece)', 'rabbit://u7x:qj/zz9w@bhost:5672/', /"@" after "\/" or "\?"/],
    ['"/" (numeric piece: used to parse)', 'rabbit://u7x:5671/zz9w@bhost/', /"@" after "\/" or "\?"/],
    ['"?"', 'rabbit://u7x:qj?zz9w@bhost/', /"@" after "\/" or "\?"/],
    ['","', 'rabbit://u7x:qj,zz9w@bhost/', /"@" after ","/],
    ['"," in a multi-host URL', 'rabbit://u7x:qj,zz9w@b1:5672,u7x:qj,zz9w@b2:5672/', /"@" after ","/],
    ['"#"', 'rabbit://u7x:qj#zz9w@bhost/', /"#" before "@"/],
  ];
  for (const [what, url, re] of cases) {
    test(`item 2: ${what}: refused with "percent-encode the password", no part of the URL echoed`, () => {
      assert.throws(
        () => parseTransportUrl(url),
        (err: Error) => {
          assert.ok(err instanceof TransportUrlError);
          assert.match(err.message, re);
          assert.match(err.message, /percent-encode the password/);
          for (const part of ['qj', 'zz9w', 'u7x', 'bhost', '5671'])
            assert.ok(!err.message.includes(part), `"${part}" echoed in: ${err.message}`);
          return true;
        },
      );
    });
  }

  test('item 2: no error echoes a part of the URL (port, scheme, host)', () => {
    for (const url of [
      'rabbit://svc:secret@bhost:70000/',
      'kafka://svc:secret@bhost/',
      'rabbit://svc:secret@bhost:x1/',
    ]) {
      assert.throws(
        () => parseTransportUrl(url),
        (err: Error) => !/svc|secret|bhost|70000|kafka|x1/.test(err.message),
      );
    }
  });

  test('item 2: the same password percent-encoded parses', () => {
    const t = parseTransportUrl(`rabbit://svc:${encodeURIComponent('pa/s?s,w#0rd')}@bhost/`);
    assert.equal(t.password, 'pa/s?s,w#0rd');
    assert.deepEqual(t.hosts, [{ hostname: 'bhost', port: 5672 }]);
    assert.equal(t.vhost, '/');
  });
});
