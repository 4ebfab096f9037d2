// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Family specs of the meter table's side families (pressure, guest_agent, events) for a scrape.
 */
import { sideFamily } from '../meters/table.ts';
import type { ScrapeContext } from '../scrape/collector.ts';
import type { FamilySpec } from '../scrape/metric-sink.ts';

/** The spec of side family `key` with its labels for this scrape. */
export function sideSpec(ctx: ScrapeContext, key: string): FamilySpec {
  const f = sideFamily(key);
  const base =
    f.domainLabels === 'identity' ? ctx.domainLabelNames : f.domainLabels === 'domain' ? ['domain'] : [];
  return {
    name: f.prometheus.name,
    help: f.prometheus.help,
    type: f.prometheus.type,
    labelNames: [...base, ...f.extraLabels],
  };
}
