// SPDX-License-Identifier: Apache-2.0
// The log lines of the libvirt client's anomalies: the first of each kind and event at once, then one per
// interval with the number left out, on a ManualClock (no wall time).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';

import { anomalyLogger } from '../../../src/http/anomaly-log.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { ManualClock } from '../../helpers/manual-clock.ts';

/** A JSON logger whose lines the test reads. */
function capture(): { lines: Record<string, unknown>[]; log: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger('info', out, 'json') };
}

const listenerError = (event: string) => ({
  kind: 'listener-error' as const,
  message: `a '${event}' listener threw: Error: bug`,
  error: new Error('bug'),
  event,
});

test('a repeating listener error: one line, then one per interval saying how many were left out', async () => {
  const { lines, log } = capture();
  const clock = new ManualClock();
  const hook = anomalyLogger(log, { clock, intervalMs: 60_000 });
  hook(listenerError('watchdog'));
  hook(listenerError('watchdog'));
  clock.advance(59_999);
  hook(listenerError('watchdog'));
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 1);
  const first = lines[0];
  assert.ok(first);
  assert.equal(first['level'], 'error');
  assert.equal(first['event'], 'watchdog');
  assert.equal(first['suppressed'], undefined);
  assert.match(String(first['msg']), /libvirt client: a 'watchdog' listener threw/);
  assert.match(String((first['err'] as { stack?: string } | undefined)?.stack), /Error: bug/);
  clock.advance(1);
  hook(listenerError('watchdog'));
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 2);
  assert.equal(lines[1]?.['suppressed'], 2);
});

test('each kind and each event has its own first line; a dropped message is a warning', async () => {
  const { lines, log } = capture();
  const hook = anomalyLogger(log, { clock: new ManualClock() });
  hook(listenerError('watchdog'));
  hook(listenerError('ioError'));
  hook({ kind: 'unmatched-reply', message: 'dropped a reply for serial 9 that no call waits for' });
  hook({ kind: 'unmatched-reply', message: 'dropped a reply for serial 10 that no call waits for' });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    lines.map((l) => [l['level'], l['kind'], l['event']]),
    [
      ['error', 'listener-error', 'watchdog'],
      ['error', 'listener-error', 'ioError'],
      ['warn', 'unmatched-reply', undefined],
    ],
  );
});
