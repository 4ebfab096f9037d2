// SPDX-License-Identifier: Apache-2.0
/**
 * The deadline of one scrape in ms: Prometheus' X-Prometheus-Scrape-Timeout-Seconds minus the offset,
 * capped by the configured maximum (blackbox_exporter's getTimeout semantics). A missing or invalid
 * header means the configured maximum; the result is never below 100 ms.
 */
export function scrapeDeadlineMs(header: string | undefined, offsetMs: number, maxMs: number): number {
  const seconds = header === undefined ? Number.NaN : Number.parseFloat(header);
  if (!Number.isFinite(seconds) || seconds <= 0) return Math.max(100, maxMs);
  const fromPrometheus = seconds * 1000 - offsetMs;
  return Math.max(100, Math.min(maxMs, fromPrometheus));
}
