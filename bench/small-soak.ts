// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * A small soak against the guests the libvirtd already has, leaving the lab as it is: compiles the
 * exporter (or takes an entry file), starts it on a free port, scrapes it back to back and prints its
 * footprint (RSS, V8 heap, external memory, CPU per scrape) as JSON; optionally the single-file bundle and
 * the Go peer the same way. For trying changes on a shared machine; `npm run bench` measures for the docs.
 *
 *   node --import tsx bench/small-soak.ts [--scrapes 300] [--main FILE] [--bundle FILE] [--peer]
 *     [--node-arg=--min-semi-space-size=4 ...] (Node.js options for this exporter, the bundle too)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import type { ProcessSoak } from './lib/results.ts';
import { soakProcess } from './lib/soak.ts';
import { PEER_BINARY, buildExporter, sampleValue, startOurs, startPeer } from './lib/targets.ts';

const { values } = parseArgs({
  options: {
    scrapes: { type: 'string', default: '300' },
    main: { type: 'string' },
    bundle: { type: 'string' },
    'bundle-node': { type: 'string' },
    peer: { type: 'boolean', default: false },
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const scrapes = Number(values.scrapes);
const up = (body: string): string | undefined =>
  sampleValue(body, 'libvirt_up') === 1 ? undefined : 'libvirt_up 0';
const summary = (s: ProcessSoak): Record<string, number | string> => {
  const f = (x: number): number => Math.round(x * 10) / 10;
  const max = (k: 2 | 3 | 4): number =>
    f(Math.max(...s.memory.map((m) => m[k]).filter(Number.isFinite)) / 2 ** 20);
  return {
    process: s.label,
    scrapes: s.scrapes - s.failed,
    series: s.series,
    cpuMsPerScrape: f(s.cpuMsPerScrape),
    p50ms: f(s.latency.p50),
    rssAfterStartMiB: f(s.rssAfterStartKiB / 1024),
    rssSteadyMiB: f(s.rssSteadyKiB / 1024),
    rssMaxMiB: f(s.rssMaxKiB / 1024),
    heapUsedMaxMiB: max(2),
    heapTotalMaxMiB: max(3),
    externalMaxMiB: max(4),
  };
};

const signal = new AbortController().signal;
const dir = mkdtempSync(`${tmpdir()}/libvirt-exporter-small-soak-`);
try {
  const main = values.main ?? (await buildExporter());
  const nodeArgs = values['node-arg'];
  const t = await startOurs('small-soak', main, 4, dir, { signal, nodeArgs });
  console.log(JSON.stringify(summary(await soakProcess(t, 'compiled', main, scrapes, up, signal))));
  if (values.bundle !== undefined) {
    const b = await startOurs('small-soak-bundle', values.bundle, 4, dir, {
      signal,
      nodeArgs,
      ...(values['bundle-node'] !== undefined ? { node: values['bundle-node'] } : {}),
    });
    console.log(JSON.stringify(summary(await soakProcess(b, 'bundle', values.bundle, scrapes, up, signal))));
  }
  if (values.peer && existsSync(PEER_BINARY)) {
    const p = await startPeer({ signal });
    console.log(JSON.stringify(summary(await soakProcess(p, 'Go peer', PEER_BINARY, scrapes, up, signal))));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
