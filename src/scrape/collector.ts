// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The collector framework's contract. A collector is one file in src/collectors/ that exports a
 * {@link CollectorDefinition}: its name, whether it runs by default and what it serves, then what it
 * does. src/collectors/index.ts lists them all in a {@link CollectorRegistry}; the composition root
 * (src/app.ts) hands that registry to the scraper, so nothing here imports a collector.
 */
import type { Logger } from 'pino';
import type { CollectorName, Config } from '../config/schema.ts';
import type { HostInfo, Inspection, Inspector, Instance, StatsGroup } from '../inspector/types.ts';
import type { DomainTexts } from './label-texts.ts';
import type { MetricSink } from './metric-sink.ts';

/** What a collector sees during one scrape. */
export interface ScrapeContext {
  /** This scrape's inspection, shared by every collector. */
  readonly inspection: Inspection;
  /** The inspector, for collectors that need more than the bulk stats (host info, jobs). */
  readonly inspector: Inspector;
  readonly signal: AbortSignal;
  readonly config: Config;
  readonly log: Logger;
  /** Labels for a domain's series: `domain` plus the configured identity labels. */
  readonly domainLabels: (uuid: string) => Record<string, string>;
  /** The label names matching {@link ScrapeContext.domainLabels}. */
  readonly domainLabelNames: readonly string[];
  /** The domain of this inspection with that UUID, if any (one lookup, no map built per collector). */
  readonly instanceOf: (uuid: string) => Instance | undefined;
  /**
   * The label texts of a domain of this inspection, cached across scrapes for as long as the domain's
   * description (its XML) and name stay the same: a text kept there must depend on nothing else (the
   * collectors' src/collectors/texts.ts fills it). Hot loops look a subject's text up by its index or
   * name without building a key or a closure.
   */
  readonly textsOf: (instance: Instance) => DomainTexts;
}

/** A collector, registered under {@link CollectorDefinition.name}. */
export interface CollectorDefinition<N extends CollectorName = CollectorName> {
  readonly name: N;
  /**
   * Whether it runs when neither the configuration (`collectors.NAME.enabled`) nor a flag
   * (`--collector.NAME`, `--no-collector.NAME`) says: the schema's default.
   */
  readonly enabledByDefault: boolean;
  /** What it serves and what it costs, in one or two sentences (the schema's docs, the README's table). */
  readonly description: string;
  /** Stats groups this collector needs in the inspection. */
  readonly groups: readonly StatsGroup[];
  /** Writes this scrape's metrics. Throws only for a collector-wide failure. */
  update(ctx: ScrapeContext, sink: MetricSink): void | Promise<void>;
}

/**
 * Every collector, under its name: one definition per {@link CollectorName}, none missing (the type
 * says so), and each registered under its own name. The key order is the order collectors run in and
 * their series appear in a scrape, in the schema's docs and in `--help`.
 */
export type CollectorRegistry = { readonly [N in CollectorName]: CollectorDefinition<N> };

/** Host info is read once per scrape by whoever needs it first. */
export type HostInfoLoader = () => Promise<HostInfo>;
