// SPDX-License-Identifier: Apache-2.0
import { parseDuration } from '../config/duration.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { sideSpec } from './side.ts';

/**
 * The events collector: libvirt's lifecycle, I/O error and watchdog events counted per domain since the
 * exporter started (the inspector listens to them; no call per scrape). A domain's counts are served
 * for collectors.events.retention after it disappears, so that a crash is not lost with the guest.
 */
export const eventsCollector: CollectorDefinition = {
  name: 'events',
  groups: [],
  update(ctx, sink) {
    const spec = sideSpec(ctx, 'domain_events');
    sink.declare(spec);
    if (ctx.inspector.domainEvents === undefined) return;
    const present = new Set(ctx.inspection.instances.map((i) => i.uuid));
    const retention = parseDuration(ctx.config.collectors.events.retention);
    for (const e of ctx.inspector.domainEvents(present, retention))
      sink.add(spec, { domain: e.domain, event: e.event, detail: e.detail }, e.count);
  },
};
