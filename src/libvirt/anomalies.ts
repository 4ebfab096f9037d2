// SPDX-License-Identifier: Apache-2.0
/**
 * The count of what a connection dropped or survived (its {@link ConnectionAnomaly}s), reported to the
 * `onAnomaly` hook as they happen.
 *
 * @packageDocumentation
 */
import { newAnomalyCounts, type ConnectionAnomaly, type ConnectionAnomalyKind } from './connection-types.ts';

/** Counts anomalies by kind and passes each to the hook (whose own exceptions are ignored). */
export class AnomalyLog {
  private readonly counts = newAnomalyCounts();

  constructor(private readonly hook: ((anomaly: ConnectionAnomaly) => void) | undefined) {}

  /** How many of each kind so far. */
  get snapshot(): Readonly<Record<ConnectionAnomalyKind, number>> {
    return { ...this.counts };
  }

  /** Counts one anomaly and passes it on; `event` names the event of a `listener-error`. */
  record(kind: ConnectionAnomalyKind, message: string, error?: unknown, event?: string): void {
    this.counts[kind]++;
    if (this.hook === undefined) return;
    try {
      this.hook({
        kind,
        message,
        ...(error === undefined ? {} : { error }),
        ...(event === undefined ? {} : { event }),
      });
    } catch {
      // The hook is for logging and counting: its failure must not reach the socket's handlers.
    }
  }
}
