// SPDX-License-Identifier: Apache-2.0
/**
 * Load (issue 7): 50 concurrent scrapers (autocannon, 50 connections) for 60 s on loopback against the
 * real exporter on the lab. libvirt round trips are counted on the wire by a proxy in front of the
 * read-only socket (the exporter connects through it with `?socket=`), so the count does not rely on
 * the exporter's own bookkeeping. Figures go to .reliability/load.json for docs/reliability.md.
 */
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startExporter, type RunningExporter } from '../helpers/exporter.ts';
import { portableExporter, type PortableExporter } from '../helpers/portable-exporter.ts';
import { lab } from '../helpers/lab.ts';
import {
  LibvirtCallCounter,
  PROC,
  Recorder,
  procName,
  processFootprint,
  sampleValue,
  scrapeOnce,
} from '../helpers/reliability.ts';

const CONNECTIONS = 50;
const DURATION_S = 60;
const MiB = 2 ** 20;

describe(`${CONNECTIONS} concurrent scrapers for ${DURATION_S} s`, () => {
  let dir: string;
  let proxy: LibvirtCallCounter;
  let e: RunningExporter;
  // NOTE: the exporter runs as it ships (the single-file bundle, with the unit's environment), not through
  // tsx, which adds about 22 MiB and compiles every module at start: the RSS peak is the product's.
  let bundle: PortableExporter | undefined;
  before(async () => {
    lab('up');
    dir = mkdtempSync(join(tmpdir(), 'load-'));
    proxy = await LibvirtCallCounter.start(join(dir, 'libvirt-sock-ro'));
    bundle = portableExporter();
    e = await startExporter(
      [
        '--log.level=warn',
        '--web.max-requests=100',
        `--libvirt.uri=qemu+unix:///system?socket=${proxy.socketPath}`,
      ],
      {},
      bundle,
    );
  });
  after(async () => {
    await e.stop();
    await proxy.close();
    bundle?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  test('no errors, libvirt round trips no more than the scrapes, latency and RSS recorded', async () => {
    const rec = new Recorder(
      'load',
      `${CONNECTIONS} concurrent scrapers for ${DURATION_S} s`,
      'load',
      'test/integration/load.test.ts',
      `autocannon with ${CONNECTIONS} connections, each sending the next GET /metrics as soon as the previous answer arrived, for ${DURATION_S} s on loopback, against the exporter on the lab (6 guests, default collectors, \`--web.max-requests=100\`). Every answer must be 200 and carry \`libvirt_up 1\`. libvirt calls are counted on the wire by a proxy in front of the read-only socket.`,
    );
    const pid = e.child.pid!;
    for (let i = 0; i < 10; i++) await scrapeOnce(e.url);
    const before0 = await scrapeOnce(e.url);
    rec.figure(
      'domains on the host',
      before0.families?.get('libvirt_domain_info_state')?.samples.length ?? 0,
    );
    const calls0 = new Map(proxy.calls);
    const total0 = proxy.total;
    const ok0 =
      sampleValue(before0.families, 'libvirt_exporter_scrapes_total', { result: 'ok' }) ?? Number.NaN;
    const cpu0 = sampleValue(before0.families, 'process_cpu_seconds_total') ?? Number.NaN;
    const ownCalls0 = sampleValue(before0.families, 'libvirt_exporter_libvirt_calls_total') ?? Number.NaN;
    const ownErrors0 =
      sampleValue(before0.families, 'libvirt_exporter_libvirt_call_errors_total') ?? Number.NaN;
    const fp0 = processFootprint(pid);

    const rss: number[] = [];
    const sampler = setInterval(() => {
      try {
        rss.push(processFootprint(pid).rssBytes);
      } catch {
        // the process is gone: the checks below say so
      }
    }, 1000);
    const mismatched: string[] = [];
    let result: autocannon.Result;
    try {
      result = await autocannon({
        url: `${e.url}/metrics`,
        connections: CONNECTIONS,
        duration: DURATION_S,
        timeout: 30,
        verifyBody: (raw) => {
          const body = typeof raw === 'string' ? raw : (raw?.toString('utf8') ?? '');
          const ok = /^libvirt_up 1$/m.test(body);
          if (!ok && mismatched.length < 3) mismatched.push(body);
          return ok;
        },
      });
    } finally {
      clearInterval(sampler);
    }
    const calls = proxy.total - total0;
    const byProc = (p: number): number => (proxy.calls.get(p) ?? 0) - (calls0.get(p) ?? 0);
    const after0 = await scrapeOnce(e.url);
    const fp1 = processFootprint(pid);
    const ok1 =
      sampleValue(after0.families, 'libvirt_exporter_scrapes_total', { result: 'ok' }) ?? Number.NaN;
    const cpu1 = sampleValue(after0.families, 'process_cpu_seconds_total') ?? Number.NaN;
    const ownCalls1 = sampleValue(after0.families, 'libvirt_exporter_libvirt_calls_total') ?? Number.NaN;
    const ownErrors1 =
      sampleValue(after0.families, 'libvirt_exporter_libvirt_call_errors_total') ?? Number.NaN;
    const wireCalls1 = proxy.total - total0;
    // The counter is incremented once a scrape's body is built, so `before0` is not in ok0 but is in ok1.
    const served = ok1 - ok0 - 1;

    const scrapes = result.requests.total;
    rec.figure('scrapes', scrapes);
    rec.figure('throughput', Math.round(scrapes / DURATION_S), 'scrapes/s');
    rec.figure('latency p50', result.latency.p50, 'ms');
    rec.figure('latency p90', result.latency.p90, 'ms');
    rec.figure('latency p99', result.latency.p99, 'ms');
    rec.figure('latency max', result.latency.max, 'ms');
    rec.figure(
      'errors / timeouts / non-2xx / bodies without libvirt_up 1',
      `${result.errors} / ${result.timeouts} / ${result.non2xx} / ${result.mismatches}`,
    );
    rec.check(
      'no errors, no timeouts',
      result.errors === 0 && result.timeouts === 0,
      `${result.errors} errors, ${result.timeouts} timeouts`,
    );
    rec.check(
      'every answer 200',
      result.non2xx === 0 && result['2xx'] === scrapes,
      `${result['2xx']} 2xx of ${scrapes}, ${result.non2xx} non-2xx`,
    );
    const excerpt = (body: string): string =>
      body
        .split('\n')
        .filter(
          (l) => /^libvirt_(up|scrape_collector_success|scrape_domains_skipped)/.test(l) && !l.endsWith(' 1'),
        )
        .join(', ') || body.slice(0, 200);
    const warnings = e
      .output()
      .split('\n')
      .filter((l) => l.includes('"level":40') || l.includes('"level":50'));
    rec.check(
      'every answer carries libvirt_up 1',
      result.mismatches === 0,
      `${result.mismatches} mismatches: ${mismatched.map(excerpt).join(' | ')}; exporter warnings: ${warnings.slice(0, 3).join(' ')}`,
    );
    // autocannon does not count the answers still in flight when the run ends (one per connection).
    rec.check(
      'the exporter counted the same scrapes, give or take those in flight at the end (libvirt_exporter_scrapes_total{result="ok"})',
      served >= scrapes && served <= scrapes + CONNECTIONS,
      `${served} counted, ${scrapes} seen by the client`,
    );

    const inspections = byProc(PROC.CONNECT_LIST_ALL_DOMAINS);
    rec.figure('libvirt calls during the run (counted on the wire)', calls);
    rec.figure('inspection cycles (CONNECT_LIST_ALL_DOMAINS calls)', inspections);
    rec.figure('bulk stats calls (CONNECT_GET_ALL_DOMAIN_STATS)', byProc(PROC.CONNECT_GET_ALL_DOMAIN_STATS));
    rec.figure('domain XML reads (DOMAIN_GET_XML_DESC)', byProc(PROC.DOMAIN_GET_XML_DESC));
    rec.figure(
      'scrapes per inspection cycle',
      inspections > 0 ? Math.round((scrapes / inspections) * 10) / 10 : 0,
    );
    rec.figure('libvirt calls per scrape', Math.round((calls / scrapes) * 1000) / 1000);
    const procs = [...proxy.calls.keys()]
      .map((p) => [p, byProc(p)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    rec.table(
      'libvirt calls during the run, by procedure (remote_protocol.x)',
      ['procedure', 'calls'],
      procs.map(([p, n]) => [procName(p), String(n)]),
    );
    rec.figure('libvirt connections opened through the proxy (whole test)', proxy.connections);
    rec.check(
      'libvirt round trips no more than the scrapes (shared in-flight calls)',
      calls > 0 && calls <= served,
      `${calls} calls for ${served} scrapes; by procedure: ${procs
        .slice(0, 4)
        .map(([p, n]) => `${procName(p)}: ${n}`)
        .join(', ')}`,
    );
    rec.figure(
      'libvirt_exporter_libvirt_calls_total during the run / calls seen on the wire',
      `${ownCalls1 - ownCalls0} / ${wireCalls1}`,
    );
    // A call that fails before it is sent (no connection) is counted by the exporter, not seen on the
    // wire, and counted as an error; the handshake of a new connection is seen on the wire only.
    const ownErrors = ownErrors1 - ownErrors0;
    const handshake = [
      PROC.CONNECT_OPEN,
      2,
      PROC.CONNECT_SUPPORTS_FEATURE,
      PROC.AUTH_LIST,
      67,
      PROC.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
    ]
      .map(byProc)
      .reduce((a, b) => a + b, 0);
    const own = ownCalls1 - ownCalls0;
    rec.check(
      'the exporter’s libvirt_exporter_libvirt_calls_total agrees with the wire (give or take failed calls and handshakes)',
      own >= wireCalls1 - handshake && own <= wireCalls1 + ownErrors,
      `${own} counted by the exporter, ${wireCalls1} on the wire (${handshake} handshake calls), ${ownErrors} call errors`,
    );

    const rssMax = Math.max(...rss, fp0.rssBytes);
    rec.figure(
      'RSS before / peak / after',
      `${(fp0.rssBytes / MiB).toFixed(1)} / ${(rssMax / MiB).toFixed(1)} / ${(fp1.rssBytes / MiB).toFixed(1)}`,
      'MiB',
    );
    rec.figure(
      'exporter CPU during the run',
      `${(cpu1 - cpu0).toFixed(1)} s in ${DURATION_S} s (${Math.round(((cpu1 - cpu0) / DURATION_S) * 100)} % of one core)`,
    );
    rec.figure('open fds before / after', `${fp0.fds} / ${fp1.fds}`);
    rec.check('RSS peak under 512 MiB', rssMax < 512 * MiB, `${(rssMax / MiB).toFixed(1)} MiB`);
    rec.check('the process kept running', e.child.exitCode === null, `exit code ${String(e.child.exitCode)}`);
    rec.finish();
  });
});
