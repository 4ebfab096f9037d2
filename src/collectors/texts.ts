// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Cached label texts of a domain's label sets beyond the meter table's subjects (info metrics, state):
 * looked up by a constant key, rendered once per description on a miss.
 */
import type { Instance } from '../inspector/types.ts';
import type { ScrapeContext } from '../scrape/collector.ts';
import type { DomainTexts } from '../scrape/label-texts.ts';
import { labelString } from '../scrape/metric-sink.ts';

/** A domain's labels beyond the domain labels, from its description only. */
export type ExtraLabels = (i: Instance) => Readonly<Record<string, string>>;

/**
 * The label text `key` of domain `i` (whose cached texts are `t`): the domain labels and `extra(i)` in the
 * order of `names`, rendered on a miss only. `extra` must depend on the description and on `key` alone.
 * NOTE: a module function taking its parts, not a closure per domain: collectors call it for every guest of
 * every scrape, and the label object is only made on a miss.
 */
export function keyedText(
  ctx: ScrapeContext,
  i: Instance,
  t: DomainTexts,
  key: string,
  names: readonly string[],
  extra?: ExtraLabels,
): string {
  let text = t.keyed.get(key);
  if (text === undefined) {
    const labels = ctx.domainLabels(i.uuid);
    text = labelString(names, extra === undefined ? labels : { ...labels, ...extra(i) });
    t.keyed.set(key, text);
  }
  return text;
}

/** The text of the domain labels alone (the label set of most per-domain series). */
export function plainText(ctx: ScrapeContext, i: Instance, t: DomainTexts, names: readonly string[]): string {
  return (t.plain ??= labelString(names, ctx.domainLabels(i.uuid)));
}
