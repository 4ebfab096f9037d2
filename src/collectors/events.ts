// SPDX-License-Identifier: Apache-2.0
import { parseDuration } from '../config/duration.ts';
import { eventsFamily } from '../meters/side.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { familySpec } from '../scrape/metric-sink.ts';
import { type ExtraLabels, keyedText } from './texts.ts';

/** (event, detail) pairs served as 0 until they happen: crashes and I/O-error pauses. */
const ZERO_SERIES: readonly (readonly [string, string])[] = [
  ['stopped', 'crashed'],
  ['stopped', 'failed'],
  ['crashed', 'panicked'],
  ['suspended', 'ioerror'],
];

/** Each zero series' pair as the seen set holds it, its text's cache key and its labels beyond `domain`. */
const ZERO = ZERO_SERIES.map(([event, detail]) => ({
  pair: `${event}\u0000${detail}`,
  key: `events:${event}:${detail}`,
  labels: ((): Readonly<Record<string, string>> => ({ event, detail })) satisfies ExtraLabels,
}));

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
    // The (event, detail) pairs each domain had, by domain name (few: only domains with events).
    const seen = new Map<string, Set<string>>();
    for (const e of ctx.inspector.domainEvents(present, retention)) {
      let pairs = seen.get(e.domain);
      if (pairs === undefined) seen.set(e.domain, (pairs = new Set()));
      pairs.add(`${e.event}\u0000${e.detail}`);
      sink.add(spec, { domain: e.domain, event: e.event, detail: e.detail }, e.count);
    }
    // The series alerts watch start at 0 for every domain, so that increase() sees a first crash.
    // NOTE: their label texts depend on the domain's name only: cached with its other texts, by a
    // constant key.
    for (const i of ctx.inspection.instances) {
      const pairs = seen.get(i.name);
      const t = ctx.textsOf(i);
      for (const z of ZERO) {
        if (pairs?.has(z.pair) === true) continue;
        sink.addText(spec, keyedText(ctx, i, t, z.key, spec.labelNames, z.labels), 0);
      }
    }
  },
};
