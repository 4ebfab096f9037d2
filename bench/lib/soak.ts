// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Back-to-back scrapes of one process (this exporter, its bundle or the Go peer) and its footprint:
 * CPU per scrape from /proc/PID/stat, RSS from /proc/PID/status, and the V8 heap and external memory the
 * process serves about itself (NaN for the Go peer).
 */
import { cpuMs, rssKiB } from './proc.ts';
import type { ProcessSoak } from './results.ts';
import { summarize } from './stats.ts';
import { sampleValue, scrape, seriesCount, settledRssKiB, type HttpTarget } from './targets.ts';

/**
 * `scrapes` back-to-back scrapes of a process started for it (stopped at the end): CPU per scrape, and
 * RSS (from /proc) with the V8 heap and external memory the process serves, every 10 scrapes.
 */
export async function soakProcess(
  t: HttpTarget,
  label: string,
  command: string,
  scrapes: number,
  problem: (body: string) => string | undefined,
  signal: AbortSignal,
): Promise<ProcessSoak> {
  try {
    const rssAfterStartKiB = await settledRssKiB(t.pid, signal);
    process.stderr.write(`bench: soak: ${scrapes} back-to-back scrapes of ${label}\n`);
    // Warm-up (the first scrape reads what a process caches), then the run.
    for (let i = 0; i < 3; i++) await scrape(t.url, { signal });
    const cpu0 = cpuMs(t.pid);
    const latency: number[] = [];
    const memory: [number, number, number, number, number][] = [];
    let failed = 0;
    let series = 0;
    for (let i = 1; i <= scrapes; i++) {
      const s = await scrape(t.url, { signal });
      if (!s.ok || problem(s.body) !== undefined) failed++;
      else {
        latency.push(s.ms);
        series = seriesCount(s.body);
      }
      if (i === 1 || i % 10 === 0)
        memory.push([
          i,
          rssKiB(t.pid),
          sampleValue(s.body, 'nodejs_heap_size_used_bytes'),
          sampleValue(s.body, 'nodejs_heap_size_total_bytes'),
          sampleValue(s.body, 'nodejs_external_memory_bytes'),
        ]);
    }
    const cpu = (cpuMs(t.pid) - cpu0) / scrapes;
    const rss = memory.map((m) => m[1]).filter((x) => Number.isFinite(x));
    const half = memory.filter(([i]) => i > scrapes / 2).map((m) => m[1]);
    return {
      label,
      command,
      scrapes,
      failed,
      latency: summarize(latency),
      cpuMsPerScrape: cpu,
      memory,
      rssAfterStartKiB,
      rssSteadyKiB: Math.max(...half.filter((x) => Number.isFinite(x))),
      rssMaxKiB: Math.max(...rss),
      series,
    };
  } finally {
    await t.stop();
  }
}
