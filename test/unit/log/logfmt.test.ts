// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import logfmt from 'logfmt';

import { createLogger } from '../../../src/log/logger.ts';
import { logfmtLine, logfmtValue } from '../../../src/log/logfmt.ts';

/** A logger writing into a string, in the given format. */
function capture(format: 'logfmt' | 'json'): { log: ReturnType<typeof createLogger>; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { log: createLogger('debug', sink, format), text: () => text };
}

describe('logfmt logs (the exporter-toolkit default)', () => {
  test('every line parses with a logfmt parser, with time, level, msg first', () => {
    const { log, text } = capture('logfmt');
    log.info({ address: ':9177', libvirt_uri: 'qemu:///system', version: '1.0.0' }, 'listening');
    log.child({ component: 'http' }).warn({ remote: '::1', reason: 'no "SAN" = bad' }, 'TLS client refused');
    log.error({ err: new Error('boom\nsecond line') }, 'configuration reload failed');
    log.debug({ files: '/etc/a b/c.yaml', empty: '', n: 3, ok: true, list: [1, 'x'] }, 'changed');
    const lines = text().split('\n').filter(Boolean);
    assert.equal(lines.length, 4, 'one line per record, even with a newline in a value');
    const records = lines.map((l) => logfmt.parse(l) as Record<string, unknown>);
    assert.equal(records.length, 4);
    for (const [i, r] of records.entries()) {
      assert.match(String(r['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, lines[i]);
      assert.ok(lines[i]?.startsWith(`time=${String(r['time'])} level=`), lines[i]);
    }
    assert.deepEqual(
      records.map((r) => [r['level'], r['msg']]),
      [
        ['info', 'listening'],
        ['warn', 'TLS client refused'],
        ['error', 'configuration reload failed'],
        ['debug', 'changed'],
      ],
    );
    assert.equal(records[0]!['address'], ':9177');
    assert.equal(records[0]!['libvirt_uri'], 'qemu:///system');
    assert.equal(records[1]!['component'], 'http');
    assert.equal(records[1]!['reason'], 'no "SAN" = bad');
    assert.equal(records[2]!['err.type'], 'Error');
    assert.match(String(records[2]!['err.stack']), /^Error: boom/);
    assert.equal(records[3]!['files'], '/etc/a b/c.yaml');
    assert.equal(records[3]!['empty'], '');
    assert.equal(records[3]!['n'], '3');
    assert.equal(records[3]!['ok'], true);
    assert.equal(records[3]!['list'], '[1,"x"]');
  });

  test('secrets are redacted in logfmt too', () => {
    const { log, text } = capture('logfmt');
    log.info({ publisher: { transport_url: 'rabbit://u:hunter2@h/' }, password: 'hunter2' }, 'x');
    assert.doesNotMatch(text(), /hunter2/);
    assert.match(text(), /password="?<secret>"?/);
  });

  test('--log.format=json writes JSON lines', () => {
    const { log, text } = capture('json');
    log.info({ a: 1 }, 'hello');
    const rec = JSON.parse(text()) as Record<string, unknown>;
    assert.equal(rec['msg'], 'hello');
    assert.equal(rec['level'], 'info');
  });

  test('values: quoted only when needed, control characters escaped', () => {
    assert.equal(logfmtValue('plain'), 'plain');
    assert.equal(logfmtValue(''), '""');
    assert.equal(logfmtValue('a b'), '"a b"');
    assert.equal(logfmtValue('a=b'), '"a=b"');
    assert.equal(logfmtValue('say "hi"'), '"say \\"hi\\""');
    assert.equal(logfmtValue('C:\\x'), '"C:\\\\x"');
    assert.equal(logfmtValue('1\n2\t3\r'), '"1\\n2\\t3\\r"');
    assert.equal(logfmtValue('bell\u0007'), '"bell\\u0007"');
    assert.equal(logfmtValue('café'), 'café');
  });

  test('keys that logfmt cannot carry are cleaned; nested objects become dotted keys', () => {
    assert.equal(
      logfmtLine({ level: 30, time: 0, msg: 'm', 'a b': 1, 'x=y': 2, o: { p: { q: null } }, e: {} }),
      'time=1970-01-01T00:00:00.000Z level=info msg=m a_b=1 x_y=2 o.p.q=null e={}\n',
    );
  });
});
