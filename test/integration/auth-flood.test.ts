// SPDX-License-Identifier: Apache-2.0
/**
 * Authentication flood (issue 15, item 5): the real exporter on the lab, with basic auth (a cost-10
 * bcrypt hash, as exporter-toolkit's documentation shows) and a global rate_limit, takes a flood of
 * wrong credentials from many keep-alive connections spread over several loopback addresses, each
 * sending as fast as it is answered, while a correct client scrapes once a second, as Prometheus does,
 * with a 10 s deadline (Prometheus' default scrape_timeout), as a Prometheus that was scraping before
 * the flood began. Every correct scrape must answer 200 within its deadline. A second correct client,
 * new, logs in for the first time in the middle of the flood (its bcrypt run waits among the flood's):
 * what it got is recorded as a figure. Figures go to docs/reliability.md (scenario "auth-flood").
 */
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { lab } from '../helpers/lab.ts';
import {
  percentile,
  processFootprint,
  Recorder,
  spawnExporter,
  type SpawnedExporter,
} from '../helpers/reliability.ts';

/** TEST ONLY credentials. */
const USER = 'prometheus';
const PASSWORD = 'flood-test-only-password';
const COST = 10;
const FLOOD_ADDRESSES = 16;
const CONNECTIONS_PER_ADDRESS = 3;
const FLOOD_SECONDS = 30;
const NEW_CLIENT_AFTER_MS = 5000;
const SCRAPE_DEADLINE_MS = 10_000;

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly body: string;
}

function get(
  port: number,
  auth: string,
  o: { agent?: Agent; localAddress?: string; timeoutMs: number },
): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        ...(o.agent ? { agent: o.agent } : { agent: false }),
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        headers: {
          authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
          'x-prometheus-scrape-timeout-seconds': String(SCRAPE_DEADLINE_MS / 1000),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body });
        });
      },
    );
    req.setTimeout(o.timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      resolve({ status: 0, ms: performance.now() - t0, body: '' });
    });
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('authentication flood', () => {
  let dir: string;
  let e: SpawnedExporter;

  before(async () => {
    lab('up');
    dir = mkdtempSync(join(tmpdir(), 'auth-flood-'));
    const web = join(dir, 'web.yml');
    writeFileSync(
      web,
      `basic_auth_users:\n  ${USER}: ${JSON.stringify(bcrypt.hashSync(PASSWORD, COST))}\nrate_limit:\n  interval: 100ms\n  burst: 20\n`,
    );
    e = await spawnExporter([`--web.config.file=${web}`]);
  });
  after(async () => {
    await e.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every correct scrape answers within its deadline during a flood of wrong credentials', async () => {
    const rec = new Recorder(
      'auth-flood',
      `authentication flood: ${FLOOD_ADDRESSES * CONNECTIONS_PER_ADDRESS} connections of wrong credentials for ${FLOOD_SECONDS} s`,
      'security',
      'test/integration/auth-flood.test.ts',
      `The exporter runs on the lab with basic auth (bcrypt cost ${COST}) and \`rate_limit\` (interval 100ms, burst 20). ${FLOOD_ADDRESSES * CONNECTIONS_PER_ADDRESS} keep-alive connections from ${FLOOD_ADDRESSES} loopback addresses send wrong passwords (a new one each time) as fast as they are answered, for ${FLOOD_SECONDS} s. A correct client, which scraped once before the flood began (as a running Prometheus has), scrapes once a second from another address with a ${SCRAPE_DEADLINE_MS / 1000} s deadline; every one of its scrapes must answer 200 with libvirt_up 1 within the deadline. A second correct client logs in for the first time ${NEW_CLIENT_AFTER_MS / 1000} s into the flood, its bcrypt run queued among the flood's: what it got is a figure, not a check (a new client cannot be told from a new attacker).`,
    );
    // The running Prometheus: authenticated before the flood.
    const before = await get(e.port, `${USER}:${PASSWORD}`, { timeoutMs: SCRAPE_DEADLINE_MS });
    rec.check(
      'the correct client scrapes before the flood',
      before.status === 200,
      `status ${before.status}`,
    );
    const counts = new Map<number, number>();
    let floodRequests = 0;
    const flood = { stop: false };
    const agents: Agent[] = [];
    const floodLoops: Promise<void>[] = [];
    for (let a = 0; a < FLOOD_ADDRESSES; a++) {
      const localAddress = `127.0.0.${a + 2}`;
      for (let c = 0; c < CONNECTIONS_PER_ADDRESS; c++) {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        agents.push(agent);
        floodLoops.push(
          (async () => {
            for (let i = 0; !flood.stop; i++) {
              const user = i % 4 === 3 ? `intruder-${a}` : USER;
              const r = await get(e.port, `${user}:wrong-${a}-${c}-${i}`, {
                agent,
                localAddress,
                timeoutMs: 30_000,
              });
              floodRequests += 1;
              counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
              // A refused connection (status 0) must not turn this loop into a busy loop.
              if (r.status === 0) await sleep(50);
            }
          })(),
        );
      }
    }
    const t0 = performance.now();
    const rssBefore = processFootprint(e.pid).rssBytes;
    const scrapes: Answer[] = [];
    const scrapeLoop = (async () => {
      while (performance.now() - t0 < FLOOD_SECONDS * 1000) {
        const started = performance.now();
        scrapes.push(await get(e.port, `${USER}:${PASSWORD}`, { timeoutMs: SCRAPE_DEADLINE_MS }));
        await sleep(Math.max(0, 1000 - (performance.now() - started)));
      }
    })();
    const newClient = sleep(NEW_CLIENT_AFTER_MS).then(() =>
      get(e.port, `${USER}:${PASSWORD}`, { localAddress: '127.0.0.200', timeoutMs: SCRAPE_DEADLINE_MS }),
    );
    let rssPeak = rssBefore;
    while (performance.now() - t0 < FLOOD_SECONDS * 1000) {
      rssPeak = Math.max(rssPeak, processFootprint(e.pid).rssBytes);
      await sleep(1000);
    }
    await scrapeLoop;
    flood.stop = true;
    await Promise.all(floodLoops);
    const floodSeconds = (performance.now() - t0) / 1000;
    for (const a of agents) a.destroy();

    const ok = scrapes.filter(
      (s) => s.status === 200 && /^libvirt_up 1$/m.test(s.body) && s.ms <= SCRAPE_DEADLINE_MS,
    );
    const latencies = scrapes.map((s) => s.ms);
    const n = (status: number): number => counts.get(status) ?? 0;
    rec.figure('flood requests answered', floodRequests);
    rec.figure('flood rate', Math.round(floodRequests / floodSeconds), 'requests/s');
    rec.figure('flood answers 401 (a bcrypt run each, or a cached failure)', n(401));
    rec.figure('flood answers 429 (address over its failure budget)', n(429));
    rec.figure('flood answers 503 (bcrypt queue full)', n(503));
    rec.figure('flood requests without an answer', n(0));
    rec.figure('correct scrapes', scrapes.length);
    rec.figure('correct scrapes answered 200 within the deadline', ok.length);
    const first = await newClient;
    rec.figure(
      `a new client's first login ${NEW_CLIENT_AFTER_MS / 1000} s into the flood`,
      `${first.status === 0 ? 'no answer' : `status ${first.status}`} after ${Math.round(first.ms)} ms`,
    );
    rec.figure('correct scrape latency p50', Math.round(percentile(latencies, 50)), 'ms');
    rec.figure('correct scrape latency max', Math.round(Math.max(0, ...latencies)), 'ms');
    rec.figure(
      'exporter RSS before / peak',
      `${Math.round(rssBefore / 2 ** 20)} / ${Math.round(rssPeak / 2 ** 20)} MiB`,
    );

    rec.check(
      'the flood ran (thousands of wrong credentials answered)',
      floodRequests >= 1000,
      `${floodRequests} answered`,
    );
    rec.check(
      'the correct client kept scraping about once a second',
      scrapes.length >= Math.floor(FLOOD_SECONDS / 1.5),
      `${scrapes.length} scrapes in ${FLOOD_SECONDS} s`,
    );
    rec.check(
      'every correct scrape answered 200 with libvirt_up 1 within its deadline',
      scrapes.length > 0 && ok.length === scrapes.length,
      scrapes
        .filter((s) => !ok.includes(s))
        .slice(0, 5)
        .map((s) => `status ${s.status} after ${Math.round(s.ms)} ms`)
        .join('; ') || `all ${scrapes.length}`,
    );
    rec.check('no wrong credential was let in', n(200) === 0, `${n(200)} flood requests answered 200`);
    rec.check('the exporter is still running', e.alive(), e.alive() ? 'running' : 'exited');
    rec.finish();
  });
});
