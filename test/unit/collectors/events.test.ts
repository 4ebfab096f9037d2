// SPDX-License-Identifier: Apache-2.0
// The events collector alone on the lab recording (test/fixtures/lab/inspection.json), with events libvirt
// sent in the lab replayed through the client (test/fixtures/libvirt/insight-frames.json: a guest of the
// recording script, `record-ioerr`, paused on ENOSPC then destroyed). The inspector's clock is injected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import { decodeFrame } from '../../../src/libvirt/framing.ts';
import { decodeIoErrorMessage } from '../../../src/libvirt/guest-and-events.ts';
import { decodeLifecycleMessage } from '../../../src/libvirt/procedures.ts';
import { fixtureClient, insightFrame } from '../../helpers/fixture-client.ts';
import {
  RECORDED_DOMAINS,
  assertServes,
  domainsOf,
  scrapeCollector,
  valueOf,
} from '../../helpers/collector.ts';

const payload = (name: string): Buffer => decodeFrame(insightFrame(name)).payload;
const HOUR = 3600_000;

test('events: the series alerts watch start at 0 for every domain; nothing else until it happens', async () => {
  const families = await assertServes('events', {
    libvirt_domain_events_total: 'counter detail,domain,event',
  });
  assert.deepEqual(domainsOf(families, 'libvirt_domain_events_total'), RECORDED_DOMAINS);
  const samples = families.get('libvirt_domain_events_total')?.samples ?? [];
  assert.equal(samples.length, 4 * RECORDED_DOMAINS.length);
  assert.ok(samples.every((s) => s.value === 0));
  const d = { domain: 'lab-plain-1' };
  assert.equal(
    valueOf(families, 'libvirt_domain_events_total', { ...d, event: 'stopped', detail: 'crashed' }),
    0,
  );
  assert.equal(
    valueOf(families, 'libvirt_domain_events_total', { ...d, event: 'started', detail: 'booted' }),
    undefined,
  );
});

test('events: recorded events are counted and kept for the retention after the guest is gone', async () => {
  let now = 0;
  const client = fixtureClient();
  const inspector = new LibvirtInspector({ client, now: () => now });
  const emitter = client as unknown as { emit(event: string, value: unknown): void };
  emitter.emit('ioError', decodeIoErrorMessage(payload('event_io_error_reason'), true));
  emitter.emit('lifecycle', decodeLifecycleMessage(payload('event_lifecycle_suspended_ioerror')));
  emitter.emit('lifecycle', decodeLifecycleMessage(payload('event_lifecycle_stopped_destroyed')));
  const gone = { domain: 'record-ioerr' };
  try {
    const { families } = await scrapeCollector('events', { inspector });
    assert.equal(
      valueOf(families, 'libvirt_domain_events_total', { ...gone, event: 'io_error', detail: 'enospc' }),
      1,
    );
    assert.equal(
      valueOf(families, 'libvirt_domain_events_total', { ...gone, event: 'suspended', detail: 'ioerror' }),
      1,
    );
    assert.equal(
      valueOf(families, 'libvirt_domain_events_total', { ...gone, event: 'stopped', detail: 'destroyed' }),
      1,
    );
    now = HOUR + 1; // past collectors.events.retention (1h by default)
    const later = await scrapeCollector('events', { inspector });
    assert.ok(!domainsOf(later.families, 'libvirt_domain_events_total').includes('record-ioerr'));
  } finally {
    await inspector.close();
  }
});
