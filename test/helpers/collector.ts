// SPDX-License-Identifier: Apache-2.0
/**
 * One collector alone on a recording of the lab, for the unit tests of test/unit/collectors/: the real
 * inspector (stats decoder, XML parser) over the fixture client, the registry of src/collectors/index.ts
 * and the scraper, as a scrape with `?collect[]=NAME` runs it.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { collectorRegistry } from '../../src/collectors/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { CollectorName } from '../../src/config/schema.ts';
import { LibvirtInspector, type LibvirtInspectorOptions } from '../../src/inspector/libvirt-inspector.ts';
import type { Inspector } from '../../src/inspector/types.ts';
import { runScrape } from '../../src/scrape/scraper.ts';
import { parseExposition, type Family } from './exposition.ts';
import { fixtureClient, loadRecording } from './fixture-client.ts';

/** The recording fixtureClient() answers from. */
export type Recording = ReturnType<typeof loadRecording>;

/** What one collector served: its families (the scraper's own left out) and whether it succeeded. */
export interface CollectorScrape {
  readonly families: Map<string, Family>;
  /** `libvirt_scrape_collector_success{collector=NAME}`. */
  readonly success: number | undefined;
}

/** The running domains of the lab recording (instance-00000005 is shut off). */
export const RECORDED_RUNNING = [
  'instance-00000001',
  'instance-00000002',
  'instance-00000003',
  'instance-00000004',
  'lab-plain-1',
] as const;

/** Every domain of the lab recording. */
export const RECORDED_DOMAINS = [
  ...RECORDED_RUNNING.slice(0, 4),
  'instance-00000005',
  'lab-plain-1',
] as const;

/** The scraper's own families, present whatever the collector. */
const OWN = /^libvirt_(up|scrape_)/;

/** Runs collector `name` (turned on) alone on `recording` (default: test/fixtures/lab/inspection.json). */
export async function scrapeCollector(
  name: CollectorName,
  o: {
    readonly recording?: Recording;
    readonly overrides?: Record<string, unknown>;
    readonly inspector?: Inspector;
    readonly inspectorOptions?: Partial<LibvirtInspectorOptions>;
  } = {},
): Promise<CollectorScrape> {
  const inspector =
    o.inspector ??
    new LibvirtInspector({ client: fixtureClient(o.recording ?? loadRecording()), ...o.inspectorOptions });
  try {
    const sink = await runScrape({
      inspector,
      config: loadConfig(undefined, { [`collectors.${name}.enabled`]: true, ...o.overrides }),
      log: pino({ level: 'silent' }),
      registry: collectorRegistry,
      collectors: [name],
      signal: AbortSignal.timeout(10_000),
    });
    const all = parseExposition(sink.render('prometheus'));
    const success = all
      .get('libvirt_scrape_collector_success')
      ?.samples.find((s) => s.labels['collector'] === name)?.value;
    return { families: new Map([...all].filter(([n]) => !OWN.test(n))), success };
  } finally {
    if (o.inspector === undefined) await inspector.close();
  }
}

/**
 * Each family as `TYPE label,label…` (the label names its samples carry, sorted; none for a family
 * declared without samples), to compare with what a collector is expected to serve.
 */
export function shapeOf(families: ReadonlyMap<string, Family>): Record<string, string> {
  return Object.fromEntries(
    [...families].map(([name, f]) => {
      const labels = [...new Set(f.samples.flatMap((s) => Object.keys(s.labels)))].sort();
      return [name, `${f.type} ${labels.join(',')}`.trimEnd()];
    }),
  );
}

/**
 * Runs collector `name` as {@link scrapeCollector} does, checks that it succeeded and served exactly the
 * families of `shape` (as {@link shapeOf} writes them), and returns them.
 */
export async function assertServes(
  name: CollectorName,
  shape: Record<string, string>,
  o: Parameters<typeof scrapeCollector>[1] = {},
): Promise<Map<string, Family>> {
  const { families, success } = await scrapeCollector(name, o);
  assert.equal(success, 1, `${name} succeeded`);
  assert.deepEqual(shapeOf(families), shape);
  return families;
}

/** The value of the sample of `family` whose labels include `labels` (undefined when there is none). */
export function valueOf(
  families: ReadonlyMap<string, Family>,
  family: string,
  labels: Record<string, string>,
): number | undefined {
  return families
    .get(family)
    ?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** The domains (label `domain`) with a sample in `family`, sorted. */
export function domainsOf(families: ReadonlyMap<string, Family>, family: string): string[] {
  return [...new Set((families.get(family)?.samples ?? []).map((s) => s.labels['domain'] ?? ''))].sort();
}

/**
 * The recording with the stats fields of domain `domain` matching `field` left out, as libvirt leaves out
 * a value it does not have (no balloon driver, no counters for a held job): no number is made up.
 */
export function withoutFields(recording: Recording, domain: string, field: RegExp): Recording {
  return {
    ...recording,
    stats: recording.stats.map((s) =>
      s.domain.name !== domain ? s : { ...s, params: s.params.filter((p) => !field.test(p.field)) },
    ),
  };
}

/** Runs collector `name` on the lab recording without the fields of `domain` matching `field` ({@link withoutFields}). */
export async function scrapeWithout(
  name: CollectorName,
  domain: string,
  field: RegExp,
): Promise<Map<string, Family>> {
  return (await scrapeCollector(name, { recording: withoutFields(loadRecording(), domain, field) })).families;
}
