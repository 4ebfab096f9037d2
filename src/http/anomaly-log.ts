// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The log lines of the libvirt client's anomalies (a dropped message, an event listener that threw): the
 * first of each kind (and event) at once, then at most one line per kind per interval saying how many
 * more there were. They are counted in `libvirt_exporter_libvirt_anomalies_total` and
 * `libvirt_exporter_libvirt_event_listener_errors_total` whether logged or not.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock, type ConnectionAnomaly } from '../libvirt/index.ts';

/** Options of {@link anomalyLogger}. */
export interface AnomalyLoggerOptions {
  /** Time source of the rate limit (tests pass a ManualClock). */
  readonly clock?: Clock;
  /** Least time between two lines of the same kind and event, in ms (default 10 minutes). */
  readonly intervalMs?: number;
}

/** The default interval: a listener that throws at every event would otherwise log at the event rate. */
export const ANOMALY_LOG_INTERVAL_MS = 10 * 60_000;

interface Slot {
  /** When the last line of this key was written. */
  loggedAt: number;
  /** Anomalies of this key since that line. */
  suppressed: number;
}

/**
 * Returns the `onAnomaly` hook that logs through `log`. A listener's exception is a bug of ours and
 * logged at error with its stack; a dropped message is the daemon's (or the network's) and a warning.
 */
export function anomalyLogger(
  log: Logger,
  options: AnomalyLoggerOptions = {},
): (anomaly: ConnectionAnomaly) => void {
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? ANOMALY_LOG_INTERVAL_MS;
  const slots = new Map<string, Slot>();
  return (anomaly) => {
    const key = `${anomaly.kind}\u0000${anomaly.event ?? ''}`;
    const now = clock.now();
    const slot = slots.get(key);
    if (slot !== undefined && now - slot.loggedAt < intervalMs) {
      slot.suppressed += 1;
      return;
    }
    const fields = {
      kind: anomaly.kind,
      ...(anomaly.event === undefined ? {} : { event: anomaly.event }),
      // NOTE: how many of this kind went unlogged since the last line (the counters have them all).
      ...(slot !== undefined && slot.suppressed > 0 ? { suppressed: slot.suppressed } : {}),
      ...(anomaly.error === undefined ? {} : { err: anomaly.error }),
    };
    slots.set(key, { loggedAt: now, suppressed: 0 });
    if (anomaly.kind === 'listener-error') log.error(fields, `libvirt client: ${anomaly.message}`);
    else log.warn(fields, `libvirt client: ${anomaly.message}`);
  };
}
