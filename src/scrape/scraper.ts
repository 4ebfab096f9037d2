// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * One scrape: one inspection (shared with any scrape already in flight), then each chosen collector of
 * the registry it is given (the scraper imports no collector), timed, its failure turned into
 * `libvirt_scrape_collector_success 0` instead of a failed scrape.
 */
import type { Logger } from 'pino';
import type { CollectorName, Config } from '../config/schema.ts';
import type { Inspection, Inspector, Instance, StatsGroup } from '../inspector/types.ts';
import type { CollectorDefinition, CollectorRegistry, ScrapeContext } from './collector.ts';
import { scrapeFamilies } from '../meters/scrape.ts';
import { familySpec, MetricSink } from './metric-sink.ts';

// The scrape's own families, declared in src/meters/scrape.ts.
const UP = familySpec(scrapeFamilies.up);
const DURATION = familySpec(scrapeFamilies.duration);
const SUCCESS = familySpec(scrapeFamilies.success);
const SKIPPED = familySpec(scrapeFamilies.skipped);
const ROUND_TRIPS = familySpec(scrapeFamilies.roundTrips);

/** The collectors of a scrape and the stats groups they need. */
export function plan(
  registry: CollectorRegistry,
  names: readonly CollectorName[],
): { defs: CollectorDefinition[]; groups: StatsGroup[] } {
  const defs = names.map((n): CollectorDefinition => registry[n]);
  const groups = [...new Set<StatsGroup>(['state', ...defs.flatMap((d) => d.groups)])];
  return { defs, groups };
}

/** Identity labels copied from Nova metadata onto per-domain series (metrics.identity_labels). */
function identityValue(label: string, i: Inspection['instances'][number]): string {
  const n = i.nova;
  switch (label) {
    case 'instance_id':
      return i.uuid;
    case 'instance_name':
      return n?.displayName ?? '';
    case 'project_id':
      return n?.projectId ?? '';
    case 'project_name':
      return n?.projectName ?? '';
    case 'user_id':
      return n?.userId ?? '';
    case 'user_name':
      return n?.userName ?? '';
    case 'flavor_name':
      return n?.flavor?.name ?? '';
    default:
      return '';
  }
}

/** One domain's cached label texts, valid while its description, name and identity labels stay the same. */
interface LabelTexts {
  /** The description's device list (the same array as long as the XML is cached) and Nova metadata. */
  readonly disks: Instance['disks'];
  readonly nova: Instance['nova'];
  readonly name: string;
  readonly identity: string;
  readonly texts: Map<string, string>;
}

/**
 * Label texts by domain UUID, shared by every scrape of this process (the same rendering whatever the
 * scrape): a domain's series keep their labels from one scrape to the next, so they are rendered once per
 * description instead of once per sample. Entries of domains gone from an inspection are dropped.
 */
const labelTexts = new Map<string, LabelTexts>();

/** Each collector's child logger, made once per logger and level (not one pino child per collector per scrape). */
const childLoggers = new WeakMap<Logger, Map<string, Logger>>();

function collectorLog(log: Logger, name: string): Logger {
  let byName = childLoggers.get(log);
  if (byName === undefined) {
    byName = new Map();
    childLoggers.set(log, byName);
  }
  let child = byName.get(name);
  // A child keeps the level it was made with: a reload that changed the parent's level makes new ones.
  if (child === undefined || child.level !== log.level) {
    child = log.child({ collector: name });
    byName.set(name, child);
  }
  return child;
}

/** Everything a scrape needs. */
export interface ScrapeOptions {
  readonly inspector: Inspector;
  readonly config: Config;
  readonly log: Logger;
  /** Every collector there is (src/collectors/index.ts, given by the composition root). */
  readonly registry: CollectorRegistry;
  /** The collectors this scrape runs, in the order their series appear. */
  readonly collectors: readonly CollectorName[];
  readonly signal: AbortSignal;
}

/** Runs one scrape and returns its registry. Never throws for libvirt or collector failures. */
export async function runScrape(o: ScrapeOptions): Promise<MetricSink> {
  const sink = new MetricSink();
  const { defs, groups } = plan(o.registry, o.collectors);
  const inspection = await inspect(o, groups, sink);
  if (inspection === undefined) {
    for (const d of defs) sink.add(SUCCESS, { collector: d.name }, 0);
    return sink;
  }
  const ctxBase = scrapeContext(o, inspection);
  const outcomes = await Promise.all(
    defs.map((d) => runCollector(d, { ...ctxBase, log: collectorLog(o.log, d.name) })),
  );
  // In the collectors' order, whatever order they finished in: the same scrape gives the same text.
  // (DURATION and SUCCESS already hold the inspection's samples, so their families stay first.)
  for (const r of outcomes) {
    sink.add(DURATION, { collector: r.name }, r.seconds);
    sink.add(SUCCESS, { collector: r.name }, r.ok);
    sink.merge(r.own);
  }
  return sink;
}

/** The shared inspection of a scrape, with the scrape's own families (up, duration, skipped domains). */
async function inspect(
  o: ScrapeOptions,
  groups: readonly StatsGroup[],
  sink: MetricSink,
): Promise<Inspection | undefined> {
  const t0 = performance.now();
  let inspection: Inspection | undefined;
  try {
    inspection = await o.inspector.inspectAll({ signal: o.signal, groups });
  } catch (err) {
    o.log.warn({ err }, 'libvirt inspection failed');
  }
  sink.add(DURATION, { collector: 'inspection' }, (performance.now() - t0) / 1000);
  sink.add(SUCCESS, { collector: 'inspection' }, inspection ? 1 : 0);
  sink.add(UP, {}, inspection ? 1 : 0);
  if (inspection === undefined) return undefined;
  sink.add(ROUND_TRIPS, {}, inspection.roundTrips);
  sink.declare(SKIPPED);
  for (const reason of ['busy', 'timeout', 'error'] as const) {
    sink.add(SKIPPED, { reason }, inspection.skipped.filter((s) => s.reason === reason).length);
  }
  return inspection;
}

/** What every collector of a scrape reads: the inspection and the domains' label sets and texts. */
function scrapeContext(o: ScrapeOptions, inspection: Inspection): Omit<ScrapeContext, 'log'> {
  const identity = o.config.metrics.identity_labels;
  const identityKey = identity.join(',');
  const byUuid = new Map(inspection.instances.map((i) => [i.uuid, i]));
  for (const uuid of labelTexts.keys()) if (!byUuid.has(uuid)) labelTexts.delete(uuid);
  const labelCache = new Map<string, Record<string, string>>();
  return {
    inspection,
    inspector: o.inspector,
    signal: o.signal,
    config: o.config,
    domainLabelNames: ['domain', ...identity],
    domainLabels: (uuid: string): Record<string, string> => {
      let l = labelCache.get(uuid);
      if (l === undefined) {
        const i = byUuid.get(uuid);
        l = { domain: i?.name ?? uuid };
        if (i !== undefined) for (const label of identity) l[label] = identityValue(label, i);
        labelCache.set(uuid, l);
      }
      return l;
    },
    labelText: (uuid: string, key: string, build: () => string): string => {
      const i = byUuid.get(uuid);
      return i === undefined ? build() : cachedLabelText(i, identityKey, key, build);
    },
  };
}

/** A label text of a domain, rendered once per description (see {@link labelTexts}). */
function cachedLabelText(i: Instance, identityKey: string, key: string, build: () => string): string {
  let e = labelTexts.get(i.uuid);
  if (
    e === undefined ||
    e.disks !== i.disks ||
    e.nova !== i.nova ||
    e.name !== i.name ||
    e.identity !== identityKey
  ) {
    e = { disks: i.disks, nova: i.nova, name: i.name, identity: identityKey, texts: new Map() };
    labelTexts.set(i.uuid, e);
  }
  let t = e.texts.get(key);
  if (t === undefined) {
    t = build();
    e.texts.set(key, t);
  }
  return t;
}

/** Runs one collector into its own sink; a failure is logged and reported, never thrown. */
async function runCollector(
  d: CollectorDefinition,
  ctx: ScrapeContext,
): Promise<{ name: string; seconds: number; ok: number; own: MetricSink }> {
  const start = performance.now();
  const own = new MetricSink();
  let ok = 1;
  try {
    await d.update(ctx, own);
  } catch (err) {
    ok = 0;
    ctx.log.error({ err }, 'collector failed');
  }
  return { name: d.name, seconds: (performance.now() - start) / 1000, ok, own };
}
