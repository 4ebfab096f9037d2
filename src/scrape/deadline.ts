// SPDX-License-Identifier: Apache-2.0
/**
 * The deadline of one scrape in ms: Prometheus' X-Prometheus-Scrape-Timeout-Seconds minus the offset,
 * capped by the configured maximum (blackbox_exporter's getTimeout semantics). A missing or invalid
 * header means the configured maximum. The header is chosen by the client, so a deadline from it is
 * never below {@link MIN_CLIENT_DEADLINE_MS} (or the configured maximum, if lower): a client asking for
 * a few milliseconds only gets abandoned libvirt calls (issue 15, item 7). Never below 100 ms.
 */
export const MIN_CLIENT_DEADLINE_MS = 1000;

export function scrapeDeadlineMs(header: string | undefined, offsetMs: number, maxMs: number): number {
  const seconds = header === undefined ? Number.NaN : Number.parseFloat(header);
  if (!Number.isFinite(seconds) || seconds <= 0) return Math.max(100, maxMs);
  const fromPrometheus = seconds * 1000 - offsetMs;
  return Math.max(100, Math.min(MIN_CLIENT_DEADLINE_MS, maxMs), Math.min(maxMs, fromPrometheus));
}
