// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Where collectors write one scrape's metrics: a fresh prom-client Registry per scrape, so a guest that
 * is gone is gone from the next scrape and no state leaks between scrapes. Counters take libvirt's
 * cumulative value with a single `inc()` on their fresh instance.
 */
import { Counter, Gauge, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string | number>>;

/** A family as a collector declares it. */
export interface FamilySpec {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
}

/** Writes samples into a per-scrape registry. */
export class MetricSink {
  readonly registry: Registry;
  readonly #families = new Map<string, Counter | Gauge>();

  constructor() {
    // NOTE: the output format is chosen when the scrape and self registries are merged for the response.
    this.registry = new Registry();
  }

  #family(spec: FamilySpec): Counter | Gauge {
    let f = this.#families.get(spec.name);
    if (f === undefined) {
      const opts = {
        name: spec.name,
        help: spec.help,
        labelNames: [...spec.labelNames],
        registers: [this.registry],
      };
      f = spec.type === 'counter' ? new Counter(opts) : new Gauge(opts);
      this.#families.set(spec.name, f);
    }
    return f;
  }

  /** Declares a family without samples (so that it shows with HELP and TYPE even when empty). */
  declare(spec: FamilySpec): void {
    this.#family(spec);
  }

  /** Adds one sample; an undefined or non-finite value adds nothing (absent, never 0). */
  add(spec: FamilySpec, labels: Labels, value: number | undefined): void {
    if (value === undefined || Number.isNaN(value)) return;
    const f = this.#family(spec);
    if (f instanceof Counter) {
      // NOTE: a counter that went backwards (a guest rebooted a device) is still its current value;
      // Prometheus handles the reset. prom-client refuses negative increments, so clamp.
      f.inc(labels, Math.max(0, value));
    } else {
      f.set(labels, value);
    }
  }
}
