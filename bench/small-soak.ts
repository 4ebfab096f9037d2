// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * A small soak against whatever guests the libvirtd already has (no lab changes, no root needed beyond
 * reading the socket): compiles the exporter, starts it on a free port, scrapes it back to back and reads
 * its RSS from /proc, its V8 heap from its own metrics, and its CPU per scrape. For trying changes on a
 * shared machine; `npm run bench` is the measurement of record.
 *
 *   node --import tsx bench/small-soak.ts [--scrapes 300] [--main FILE] [--node-args="..."] [--concurrency N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuMs, rssKiB } from './lib/proc.ts';
import { buildExporter, sampleValue, scrape, seriesCount, startOurs } from './lib/targets.ts';
import { summarize } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    scrapes: { type: 'string', default: '300' },
    main: { type: 'string' },
    'node-args': { type: 'string', default: '' },
    concurrency: { type: 'string', default: '1' },
  },
});
const scrapes = Number(values.scrapes);
const concurrency = Number(values.concurrency);
const main = values.main ?? (await buildExporter());
const dir = mkdtempSync(`${tmpdir()}/libvirt-exporter-small-soak-`);
const t = await startOurs('small-soak', main, 4, dir, {
  nodeArgs: values['node-args'].split(' ').filter((a) => a !== ''),
});
try {
  const first = await scrape(t.url);
  const rss0 = rssKiB(t.pid);
  const cpu0 = cpuMs(t.pid);
  const rss: number[] = [];
  const heapUsed: number[] = [];
  const heapTotal: number[] = [];
  const external: number[] = [];
  const lat: number[] = [];
  let body = first.body;
  let n = 0;
  const worker = async (): Promise<void> => {
    while (n < scrapes) {
      n++;
      const s = await scrape(t.url);
      lat.push(s.ms);
      if (s.ok) body = s.body;
      if (n % 5 === 0) {
        rss.push(rssKiB(t.pid) / 1024);
        heapUsed.push(sampleValue(body, 'nodejs_heap_size_used_bytes') / 2 ** 20);
        heapTotal.push(sampleValue(body, 'nodejs_heap_size_total_bytes') / 2 ** 20);
        external.push(sampleValue(body, 'nodejs_external_memory_bytes') / 2 ** 20);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = (cpuMs(t.pid) - cpu0) / scrapes;
  const half = rss.slice(Math.floor(rss.length / 2));
  const f = (x: number): string => x.toFixed(1);
  console.log(
    JSON.stringify({
      guests: sampleValue(body, 'libvirt_domains'),
      series: seriesCount(body),
      scrapes,
      concurrency,
      cpuMsPerScrape: Number(f(cpu)),
      p50ms: Number(f(summarize(lat).p50)),
      rssFirstMiB: Number(f(rss0 / 1024)),
      rssMaxLastHalfMiB: Number(f(Math.max(...half))),
      rssMaxMiB: Number(f(Math.max(...rss))),
      rssEndMiB: Number(f(rssKiB(t.pid) / 1024)),
      heapUsedMaxMiB: Number(f(Math.max(...heapUsed))),
      heapTotalMaxMiB: Number(f(Math.max(...heapTotal))),
      externalMaxMiB: Number(f(Math.max(...external))),
    }),
  );
} finally {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
}
