// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The collector contract. One collector per file in src/collectors/, each registered in
 * src/collectors/index.ts.
 */
import type { Logger } from 'pino';
import type { CollectorName, Config } from '../config/schema.ts';
import type { HostInfo, Inspection, Inspector, StatsGroup } from '../inspector/types.ts';
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
  /**
   * Rendered label text of one of a domain's label sets, cached across scrapes for as long as the
   * domain's description (its XML) and name stay the same: `build` runs on a miss only and must depend on
   * nothing else than the description, the name and `key` (which names the label set: `''` for the
   * domain labels alone, `disk:vda`…). Returns `build()` uncached for a domain the inspection lacks.
   */
  readonly labelText: (uuid: string, key: string, build: () => string) => string;
}

/** A collector. */
export interface CollectorDefinition {
  readonly name: CollectorName;
  /** Stats groups this collector needs in the inspection. */
  readonly groups: readonly StatsGroup[];
  /** Writes this scrape's metrics. Throws only for a collector-wide failure. */
  update(ctx: ScrapeContext, sink: MetricSink): void | Promise<void>;
}

/** Host info is read once per scrape by whoever needs it first. */
export type HostInfoLoader = () => Promise<HostInfo>;
