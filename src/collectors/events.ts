// SPDX-License-Identifier: Apache-2.0
import { parseDuration } from '../config/duration.ts';
import { eventsFamily } from '../meters/side.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { familySpec } from '../scrape/metric-sink.ts';

/** (event, detail) pairs served as 0 until they happen: crashes and I/O-error pauses. */
const ZERO_SERIES: readonly (readonly [string, string])[] = [
  ['stopped', 'crashed'],
  ['stopped', 'failed'],
  ['crashed', 'panicked'],
  ['suspended', 'ioerror'],
];

/**
 * The events collector: libvirt's lifecycle, I/O error and watchdog events counted per domain since the
 * exporter started (the inspector listens to them; no call per scrape). A domain's counts are served
 * for collectors.events.retention after it disappears, so that a crash is not lost with the guest.
 */
export const eventsCollector: CollectorDefinition<'events'> = {
  name: 'events',
  enabledByDefault: true,
  description:
    'Domain lifecycle, I/O error and watchdog events counted since the exporter started (libvirt events, no extra calls per scrape).',
  groups: [],
  update(ctx, sink) {
    const spec = familySpec(eventsFamily);
    sink.declare(spec);
    if (ctx.inspector.domainEvents === undefined) return;
    const present = new Set(ctx.inspection.instances.map((i) => i.uuid));
    const retention = parseDuration(ctx.config.collectors.events.retention);
    const seen = new Set<string>();
    for (const e of ctx.inspector.domainEvents(present, retention)) {
      seen.add(`${e.domain}\u0000${e.event}\u0000${e.detail}`);
      sink.add(spec, { domain: e.domain, event: e.event, detail: e.detail }, e.count);
    }
    // The series alerts watch start at 0 for every domain, so that increase() sees a first crash.
    for (const i of ctx.inspection.instances)
      for (const [event, detail] of ZERO_SERIES)
        if (!seen.has(`${i.name}\u0000${event}\u0000${detail}`))
          sink.add(spec, { domain: i.name, event, detail }, 0);
  },
};
