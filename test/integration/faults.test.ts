// SPDX-License-Identifier: Apache-2.0
/**
 * Fault tests on the real lab (issue 7): the real exporter process against a real libvirtd and real
 * QEMU guests, while libvirtd is killed and restarted, frozen with SIGSTOP, while guests come and go,
 * and while one guest's QEMU is stopped. Figures and checks go to .reliability/ for docs/reliability.md.
 * Whatever happens, the lab is put back (libvirtd resumed and running, the hung guest resumed).
 */
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { linesOfGoneDomain } from '../helpers/exposition.ts';
import { startExporter, type RunningExporter } from '../helpers/exporter.ts';
import { portableExporter, type PortableExporter } from '../helpers/portable-exporter.ts';
import { LAB_GUESTS, lab, virshRw } from '../helpers/lab.ts';
import {
  Recorder,
  domainsOf,
  driveScrapes,
  labAsync,
  labSafetyNet,
  percentile,
  processFootprint,
  sampleValue,
  scrapeOnce,
  type ScrapeResult,
} from '../helpers/reliability.ts';

const FILE = 'test/integration/faults.test.ts';
const HUNG = 'instance-00000003';
const restoreLab = labSafetyNet([HUNG]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

/** Running or paused lab guests: the ones with stats. */
const ACTIVE: readonly string[] = [...LAB_GUESTS.running, ...LAB_GUESTS.paused];
const ALL: readonly string[] = [...ACTIVE, ...LAB_GUESTS.shutoff];

/** Whether a scrape shows every lab guest, with CPU time for the active ones. */
function complete(r: ScrapeResult): boolean {
  const d = new Set(domainsOf(r.families));
  return (
    sampleValue(r.families, 'libvirt_up') === 1 &&
    ALL.every((n) => d.has(n)) &&
    ACTIVE.every(
      (n) =>
        sampleValue(r.families, 'libvirt_domain_info_cpu_time_seconds_total', { domain: n }) !== undefined,
    )
  );
}

/** The pid of a live (not zombie) process by exact name, if one runs. */
function pidOf(name: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile('ps', ['-C', name, '-o', 'pid=,stat='], (_err, stdout) => {
      const live = stdout
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .find(([pid, stat]) => pid !== undefined && pid !== '' && !(stat ?? '').startsWith('Z'));
      resolve(live ? Number(live[0]) : undefined);
    });
  });
}

function ms(v: number): string {
  return `${Math.round(v)} ms`;
}

// NOTE: the exporter runs as it ships (the single-file bundle, with the unit's environment), not through
// tsx, which adds about 22 MiB and compiles every module at start: the RSS figures are the product's.
let bundle: PortableExporter | undefined;
before(() => {
  lab('up');
  bundle = portableExporter();
});
after(() => {
  restoreLab();
  bundle?.remove();
});

describe('libvirtd killed and restarted while scraping at 10/s for 60 s', () => {
  let e: RunningExporter;
  before(async () => {
    e = await startExporter(['--log.level=warn', '--web.max-requests=100'], {}, bundle);
  });
  after(async () => {
    await e.stop();
  });

  test('no HTTP error, libvirt_up 0 only while it is down, back within one scrape, same process, fds and RSS stable', async () => {
    const rec = new Recorder(
      'libvirtd-restart',
      'libvirtd killed and restarted',
      'faults',
      FILE,
      'The exporter is scraped 10 times a second for 60 s (each scrape started on time, whatever the others do). After 15 s libvirtd is killed (SIGKILL); 15 s later it is started again (`lab.sh libvirtd-start` returns once `virsh -r list` answers).',
    );
    const pid = e.child.pid!;
    const origin = performance.now();
    // Warm up (first XML reads, JIT) before the footprint baseline.
    for (let i = 0; i < 20; i++) await scrapeOnce(e.url);
    const footprint0 = processFootprint(pid);
    rec.figure('domains on the host', domainsOf((await scrapeOnce(e.url)).families).length);
    const startTimes = new Set<number>();
    const fdSeries: number[] = [];
    const rssSeries: { at: number; rss: number; heap: number }[] = [];
    const marks = { killStart: 0, killEnd: 0, startStart: 0, startEnd: 0 };
    const driving = driveScrapes(e.url, {
      ratePerSecond: 10,
      durationMs: 60_000,
      mode: 'open',
      origin,
      onResult: (r) => {
        const st = sampleValue(r.families, 'process_start_time_seconds');
        if (st !== undefined) startTimes.add(st);
        const fds = sampleValue(r.families, 'process_open_fds');
        if (fds !== undefined) fdSeries.push(fds);
        const rss = sampleValue(r.families, 'process_resident_memory_bytes');
        const heap = sampleValue(r.families, 'nodejs_heap_size_used_bytes');
        if (rss !== undefined && heap !== undefined) rssSeries.push({ at: r.start, rss, heap });
      },
    });
    const t = (): number => performance.now() - origin;
    const driveStart = t();
    // (If a lab command fails, the file's after hook and the exit handler start libvirtd again.)
    await sleep(15_000);
    marks.killStart = t();
    await labAsync('libvirtd-kill');
    marks.killEnd = t();
    // Another test run on this machine could start libvirtd meanwhile: watch for it, to say so.
    let foreignStart: number | undefined;
    const watchUntil = marks.killStart + 15_000;
    while (t() < watchUntil) {
      await sleep(Math.min(500, Math.max(0, watchUntil - t())));
      if (foreignStart === undefined && (await pidOf('libvirtd')) !== undefined) foreignStart = t();
    }
    marks.startStart = t();
    await labAsync('libvirtd-start');
    marks.startEnd = t();
    const results = await driving;
    await sleep(1000); // let the last connections close
    const footprint1 = processFootprint(pid);

    const errors = results.filter((r) => r.status !== 200);
    rec.figure('scrapes', results.length);
    rec.figure(
      'libvirtd down (kill issued → start returned)',
      (marks.startEnd - marks.killStart) / 1000,
      's',
    );
    rec.figure('`libvirtd-start` took', (marks.startEnd - marks.startStart) / 1000, 's');
    rec.check(
      'every scrape answered 200',
      results.length > 0 && errors.length === 0,
      `${errors.length} of ${results.length} not 200${errors.length > 0 ? ':' : ''} ${errors
        .slice(0, 3)
        .map((r) => r.error ?? String(r.status))
        .join(', ')}`,
    );

    const down = results.filter((r) => sampleValue(r.families, 'libvirt_up') === 0);
    rec.figure('scrapes with libvirt_up 0', down.length);
    const outside = down.filter((r) => r.end < marks.killStart || r.start > marks.startEnd);
    rec.check(
      'libvirt_up 0 only in scrapes that overlap the outage',
      outside.length === 0 && down.length > 0,
      `${down.length} scrapes with libvirt_up 0, ${outside.length} of them outside [kill, start returned]`,
    );
    const whileDown = results.filter((r) => r.start > marks.killEnd && r.end < marks.startStart);
    const upWhileDown = whileDown.filter((r) => sampleValue(r.families, 'libvirt_up') !== 0);
    rec.check(
      'libvirt_up 0 in every scrape made entirely while libvirtd was down',
      whileDown.length > 0 && upWhileDown.length === 0,
      `${upWhileDown.length} of ${whileDown.length} such scrapes had libvirt_up ≠ 0` +
        (foreignStart === undefined
          ? ''
          : ` (libvirtd was started by something else ${((foreignStart - marks.killStart) / 1000).toFixed(1)} s after the kill)`),
    );
    if (down.length > 0) {
      rec.figure(
        'libvirt_up 0 seen from / to (relative to the kill)',
        `${((down[0]!.start - marks.killStart) / 1000).toFixed(2)} s / ${((Math.max(...down.map((r) => r.end)) - marks.killStart) / 1000).toFixed(2)} s`,
      );
    }
    const stale = down.filter((r) => domainsOf(r.families).length > 0);
    rec.check(
      'no domain series while libvirt is down',
      stale.length === 0,
      `${stale.length} scrapes with libvirt_up 0 carried domain series`,
    );

    const afterReturn = results.filter((r) => r.start >= marks.startEnd);
    const firstGood = afterReturn.findIndex(complete);
    rec.figure('scrapes started after libvirtd returned before the first complete one', firstGood);
    rec.check(
      'values back within one scrape of libvirtd’s return',
      firstGood === 0 || firstGood === 1,
      `first complete scrape is #${firstGood + 1} after the return (${afterReturn
        .slice(0, 6)
        .map((r) => sampleValue(r.families, 'libvirt_up'))
        .join(',')})`,
    );
    const laterBad = afterReturn.slice(Math.max(firstGood, 0)).filter((r) => !complete(r));
    rec.check(
      'every later scrape complete',
      firstGood >= 0 && laterBad.length === 0,
      `${laterBad.length} incomplete after the first complete one`,
    );
    const beforeKill = results.filter((r) => r.end < marks.killStart);
    rec.check(
      'every scrape before the kill complete',
      beforeKill.length > 0 && beforeKill.every(complete),
      `${beforeKill.filter((r) => !complete(r)).length} incomplete of ${beforeKill.length}`,
    );

    rec.check(
      'the process never restarted',
      e.child.exitCode === null && startTimes.size === 1 && e.child.pid === pid,
      `process_start_time_seconds values seen: ${startTimes.size}`,
    );
    const fdMax = Math.max(...fdSeries);
    rec.figure('open fds before / max / after', `${footprint0.fds} / ${fdMax} / ${footprint1.fds}`);
    rec.check(
      'open fds stable (after ≤ before + 2)',
      footprint1.fds <= footprint0.fds + 2,
      `${footprint0.fds} → ${footprint1.fds}`,
    );
    // Memory: the steady state under the same load before the kill and at the end, sampled by the
    // exporter itself (process_resident_memory_bytes, nodejs_heap_size_used_bytes in each scrape).
    // A window without samples is NaN, never −∞: an empty window must fail the check, not pass it (issue 15
    // item 14: Math.max() of nothing made "−∞ ≤ −∞ + 16 MiB" pass).
    const window = (from: number, to: number, k: 'rss' | 'heap'): number => {
      const inWindow = rssSeries.filter((x) => x.at >= from && x.at < to).map((x) => x[k]);
      return inWindow.length >= 3 ? Math.max(...inWindow) : Number.NaN;
    };
    const end = results.at(-1)?.start ?? 0;
    const rssPre = window(driveStart, marks.killStart, 'rss');
    const rssPost = window(end - 15_000, end + 1, 'rss');
    const heapPre = window(driveStart, marks.killStart, 'heap');
    const heapPost = window(end - 15_000, end + 1, 'heap');
    rec.figure(
      'RSS after warm-up (20 scrapes) / last sample',
      `${(footprint0.rssBytes / MiB).toFixed(1)} / ${(footprint1.rssBytes / MiB).toFixed(1)}`,
      'MiB',
    );
    rec.figure(
      'RSS peak in the 15 s before the kill / in the last 15 s',
      `${(rssPre / MiB).toFixed(1)} / ${(rssPost / MiB).toFixed(1)}`,
      'MiB',
    );
    rec.figure(
      'JS heap peak in the 15 s before the kill / in the last 15 s',
      `${(heapPre / MiB).toFixed(1)} / ${(heapPost / MiB).toFixed(1)}`,
      'MiB',
    );
    const step = 5000;
    const samples: string[] = [];
    for (let at = driveStart; at < end; at += step) {
      const x = rssSeries.find((y) => y.at >= at);
      if (x) samples.push((x.rss / MiB).toFixed(0));
    }
    rec.figure('RSS every 5 s', samples.join(' '), 'MiB');
    // NOTE: 8 MiB is issue 16's target. Measured with a 12-guest lab at 2cd7ed5: +3.8, +3.1, +3.1 MiB
    // (before: +3.7 and +3.2 with 9 guests; +24 MiB when issue 16 was filed).
    rec.check(
      'RSS stable: the peak of the last 15 s at most 8 MiB above the peak under the same load before the kill',
      Number.isFinite(rssPre) && Number.isFinite(rssPost) && rssPost <= rssPre + 8 * MiB,
      `${(rssPre / MiB).toFixed(1)} → ${(rssPost / MiB).toFixed(1)} MiB`,
    );
    const lat = results.map((r) => r.end - r.start);
    rec.figure(
      'latency p50 / p99 / max',
      `${ms(percentile(lat, 50))} / ${ms(percentile(lat, 99))} / ${ms(Math.max(...lat))}`,
    );
    rec.figure('scraping lasted', ((results.at(-1)?.start ?? 0) - driveStart) / 1000, 's');
    rec.finish();
  });
});

describe('libvirtd frozen (SIGSTOP) for 20 s while scraping at 10/s', () => {
  let e: RunningExporter;
  before(async () => {
    e = await startExporter(['--log.level=warn', '--web.max-requests=100'], {}, bundle);
  });
  after(async () => {
    await e.stop();
  });

  test('every scrape answers within its deadline (X-Prometheus-Scrape-Timeout-Seconds: 3)', async () => {
    const rec = new Recorder(
      'libvirtd-freeze',
      'libvirtd frozen',
      'faults',
      FILE,
      'Scrapes with `X-Prometheus-Scrape-Timeout-Seconds: 3` are started 10 times a second for 35 s (`--web.max-requests=100`). After 5 s libvirtd is stopped with SIGSTOP (`lab.sh libvirtd-hang`) for 20 s, then resumed with SIGCONT.',
    );
    const deadlineMs = 3000;
    const origin = performance.now();
    for (let i = 0; i < 10; i++) await scrapeOnce(e.url);
    const pid = e.child.pid!;
    const footprint0 = processFootprint(pid);
    rec.figure('domains on the host', domainsOf((await scrapeOnce(e.url)).families).length);
    const t = (): number => performance.now() - origin;
    const marks = { hang: 0, resume: 0 };
    const driving = driveScrapes(e.url, {
      ratePerSecond: 10,
      durationMs: 35_000,
      mode: 'open',
      origin,
      headers: { 'X-Prometheus-Scrape-Timeout-Seconds': String(deadlineMs / 1000) },
    });
    try {
      await sleep(5000);
      marks.hang = t();
      await labAsync('libvirtd-hang');
      await sleep(20_000);
    } finally {
      marks.resume = t();
      await labAsync('libvirtd-resume');
    }
    const results = await driving;
    await sleep(1000);
    const footprint1 = processFootprint(pid);

    const lat = results.map((r) => r.end - r.start);
    const frozen = results.filter((r) => r.end > marks.hang && r.start < marks.resume);
    const late = results.filter((r) => r.end - r.start >= deadlineMs);
    const bad = results.filter((r) => r.status !== 200);
    rec.figure('scrapes (during the freeze)', `${results.length} (${frozen.length})`);
    rec.figure('frozen for', (marks.resume - marks.hang) / 1000, 's');
    rec.figure(
      'latency p50 / p99 / max, all scrapes',
      `${ms(percentile(lat, 50))} / ${ms(percentile(lat, 99))} / ${ms(Math.max(...lat))}`,
    );
    const flat = frozen.map((r) => r.end - r.start);
    rec.figure(
      'latency p50 / max during the freeze',
      `${ms(percentile(flat, 50))} / ${ms(Math.max(...flat))}`,
    );
    rec.check(
      'every scrape answered 200',
      results.length > 0 && bad.length === 0,
      `${bad.length} of ${results.length} not 200${bad.length > 0 ? ':' : ''} ${bad
        .slice(0, 3)
        .map((r) => r.error ?? String(r.status))
        .join(', ')}`,
    );
    rec.check(
      `every scrape answered within its deadline (${deadlineMs} ms)`,
      results.length > 0 && late.length === 0,
      `${late.length} of ${results.length} took ${deadlineMs} ms or more (max ${ms(Math.max(...lat))})`,
    );
    // Answered while libvirtd was stopped, by a scrape that began after the stop took effect (a scrape
    // begun near the end of the freeze may legitimately answer with fresh data after the resume).
    const answeredFrozen = frozen.filter((r) => r.start > marks.hang + 1000 && r.end < marks.resume);
    const upDuring = answeredFrozen.filter((r) => sampleValue(r.families, 'libvirt_up') === 1);
    rec.figure('scrapes begun and answered while frozen', answeredFrozen.length);
    rec.check(
      'libvirt_up 0 in every scrape answered while frozen (stale data never served)',
      answeredFrozen.length > 0 && upDuring.length === 0,
      `${upDuring.length} of ${answeredFrozen.length} had libvirt_up 1`,
    );
    const afterResume = results.filter((r) => r.start >= marks.resume);
    const firstGood = afterResume.findIndex(complete);
    const recovery = firstGood >= 0 ? afterResume[firstGood]!.end - marks.resume : Number.NaN;
    rec.figure(
      'first complete scrape after SIGCONT',
      `#${firstGood + 1}, answered ${ms(recovery)} after the resume`,
    );
    rec.check('complete again within 5 s of the resume', recovery <= 5000, ms(recovery));
    const laterBad = afterResume.slice(Math.max(firstGood, 0)).filter((r) => !complete(r));
    rec.check(
      'every later scrape complete',
      firstGood >= 0 && laterBad.length === 0,
      `${laterBad.length} incomplete`,
    );
    rec.figure('open fds before / after', `${footprint0.fds} / ${footprint1.fds}`);
    rec.check(
      'open fds stable (after ≤ before + 2)',
      footprint1.fds <= footprint0.fds + 2,
      `${footprint0.fds} → ${footprint1.fds}`,
    );
    rec.check('the process kept running', e.child.exitCode === null, `exit code ${String(e.child.exitCode)}`);
    rec.finish();
  });
});

describe('guests created and destroyed in a loop while scraping', () => {
  let e: RunningExporter;
  const made = new Set<string>();
  before(async () => {
    e = await startExporter(['--log.level=warn'], {}, bundle);
  });
  after(async () => {
    await e.stop();
    for (const name of made) {
      try {
        virshRw('destroy', name);
      } catch {
        // already gone
      }
    }
  });

  test('no 5xx, no series of a guest that is gone, every lab guest in every scrape', async () => {
    const rec = new Recorder(
      'guest-churn',
      'guests created and destroyed',
      'faults',
      FILE,
      "Two loops create transient no-OS guests (`virsh create`, `<domain type='qemu'>`, 32 MiB, no disk), let each run 1 s, then destroy it (`virsh destroy`, ~1.3 s here), for 40 s, while the exporter is scraped one scrape at a time, at most 10 a second. Serial scrapes make “after the destroy returned” exact: no scrape can join an inspection started earlier.",
    );
    const origin = performance.now();
    const t = (): number => performance.now() - origin;
    const lives: { name: string; createEnd: number; destroyStart: number; destroyEnd: number }[] = [];
    const virshAsync = (...args: string[]): Promise<void> =>
      new Promise((resolve, reject) => {
        execFile('virsh', ['-q', '-c', 'qemu:///system', ...args], { timeout: 60_000 }, (err, _o, stderr) => {
          if (err) reject(new Error(`virsh ${args.join(' ')}: ${stderr}`));
          else resolve();
        });
      });
    const churn = async (loop: number, untilMs: number): Promise<void> => {
      for (let i = 0; t() < untilMs; i++) {
        const name = `churn-${loop}-${i}`;
        const file = `/tmp/${name}.xml`;
        writeFileSync(
          file,
          `<domain type='qemu'><name>${name}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><memballoon model='none'/></devices></domain>`,
        );
        made.add(name);
        await virshAsync('create', file);
        const createEnd = t();
        await sleep(1000);
        const destroyStart = t();
        await virshAsync('destroy', name);
        const destroyEnd = t();
        made.delete(name);
        lives.push({ name, createEnd, destroyStart, destroyEnd });
      }
    };
    rec.figure('domains on the host', domainsOf((await scrapeOnce(e.url)).families).length);
    const driving = driveScrapes(e.url, { ratePerSecond: 10, durationMs: 42_000, mode: 'serial', origin });
    await Promise.all([churn(0, 40_000), sleep(700).then(() => churn(1, 40_000))]);
    const results = await driving;

    const bad = results.filter((r) => r.status !== 200);
    rec.figure('scrapes', results.length);
    rec.figure('guests created and destroyed', lives.length);
    rec.check(
      'no 5xx (every scrape answered 200)',
      results.length > 0 && bad.length === 0,
      `${bad.length} of ${results.length} not 200${bad.length > 0 ? ':' : ''} ${bad
        .slice(0, 3)
        .map((r) => r.error ?? String(r.status))
        .join(', ')}`,
    );
    let ghosts = 0;
    let seen = 0;
    let expected = 0;
    const ghostExamples: string[] = [];
    for (const life of lives) {
      for (const r of results) {
        if (r.start > life.destroyEnd && linesOfGoneDomain(r.body, life.name).length > 0) {
          ghosts += 1;
          if (ghostExamples.length < 3)
            ghostExamples.push(
              `${life.name} in a scrape started ${ms(r.start - life.destroyEnd)} after its destroy returned`,
            );
        }
        if (r.start > life.createEnd && r.end < life.destroyStart) {
          expected += 1;
          if (sampleValue(r.families, 'libvirt_domain_info_state', { domain: life.name }) === 1) seen += 1;
        }
      }
    }
    rec.check(
      'no series of a guest after its destroy returned',
      ghosts === 0 && lives.length > 0,
      `${ghosts} ghost sightings ${ghostExamples.join('; ')}`,
    );
    rec.figure(
      'scrapes made entirely while a churn guest ran / that showed it running',
      `${expected} / ${seen}`,
    );
    rec.check(
      'a churn guest is in every scrape made entirely during its life',
      expected > 0 && seen === expected,
      `${seen} of ${expected}`,
    );
    const incomplete = results.filter((r) => r.status === 200 && !complete(r));
    rec.check(
      'every scrape complete for the lab guests (churn costs nobody else)',
      results.length > 0 && incomplete.length === 0,
      `${incomplete.length} incomplete of ${results.length}`,
    );
    const skipped = results.reduce(
      (n, r) => n + (sampleValue(r.families, 'libvirt_scrape_domains_skipped', { reason: 'error' }) ?? 0),
      0,
    );
    rec.figure('domains skipped with reason="error", summed over the scrapes', skipped);
    const lat = results.map((r) => r.end - r.start);
    rec.figure(
      'latency p50 / p99 / max',
      `${ms(percentile(lat, 50))} / ${ms(percentile(lat, 99))} / ${ms(Math.max(...lat))}`,
    );
    rec.finish();
  });
});

describe('a hung guest (its QEMU stopped with SIGSTOP)', () => {
  let e: RunningExporter;
  before(async () => {
    e = await startExporter(['--log.level=warn', '--web.max-requests=100'], {}, bundle);
  });
  after(async () => {
    await e.stop();
  });

  test('others answer in time, the hung guest is timed out then partial, all back by itself after SIGCONT, no slot runs out', async () => {
    const rec = new Recorder(
      'hung-guest',
      'a hung guest',
      'faults',
      FILE,
      `The QEMU of ${HUNG} is stopped (\`lab.sh guest-hang\`, SIGSTOP). Scrapes carry \`X-Prometheus-Scrape-Timeout-Seconds: 5\`. After the first scrape, 30 more are made one at a time and then 3 bursts of 20 concurrent scrapes, all while the guest is hung; then it is resumed (SIGCONT).`,
    );
    const headers = { 'X-Prometheus-Scrape-Timeout-Seconds': '5' };
    const others = ACTIVE.filter((n) => n !== HUNG);
    const fine = (r: ScrapeResult): boolean =>
      r.status === 200 &&
      r.end - r.start < 5000 &&
      sampleValue(r.families, 'libvirt_up') === 1 &&
      others.every(
        (n) =>
          sampleValue(r.families, 'libvirt_domain_timed_out', { domain: n }) === 0 &&
          sampleValue(r.families, 'libvirt_domain_info_cpu_time_seconds_total', { domain: n }) !==
            undefined &&
          sampleValue(r.families, 'libvirt_domain_block_stats_read_requests_total', {
            domain: n,
            target_device: 'vda',
          }) !== undefined,
      );
    for (let i = 0; i < 5; i++) await scrapeOnce(e.url, { headers });
    const warm = await scrapeOnce(e.url, { headers });
    rec.figure('domains on the host', domainsOf(warm.families).length);
    rec.check(
      'before the hang: every guest complete, none timed out',
      complete(warm) && sampleValue(warm.families, 'libvirt_domain_timed_out', { domain: HUNG }) === 0,
      `libvirt_domain_timed_out{domain="${HUNG}"} = ${String(sampleValue(warm.families, 'libvirt_domain_timed_out', { domain: HUNG }))}`,
    );

    let hungResults: ScrapeResult[] = [];
    let first: ScrapeResult;
    await labAsync('guest-hang', HUNG);
    try {
      first = await scrapeOnce(e.url, { headers });
      for (let i = 0; i < 30; i++) hungResults.push(await scrapeOnce(e.url, { headers }));
      for (let b = 0; b < 3; b++) {
        hungResults = hungResults.concat(
          await Promise.all(Array.from({ length: 20 }, () => scrapeOnce(e.url, { headers }))),
        );
      }
    } finally {
      await labAsync('guest-resume', HUNG);
    }
    const resumedAt = performance.now();

    rec.figure('first scrape after the hang answered in', ms(first.end - first.start));
    rec.check(
      'the first scrape after the hang answers 200 within its deadline with every other guest complete',
      fine(first),
      `status ${first.status}, ${ms(first.end - first.start)}`,
    );
    rec.check(
      'the hung guest is reported as timed out in that scrape',
      sampleValue(first.families, 'libvirt_domain_timed_out', { domain: HUNG }) === 1,
      `libvirt_domain_timed_out = ${String(sampleValue(first.families, 'libvirt_domain_timed_out', { domain: HUNG }))}`,
    );
    rec.check(
      'libvirt_scrape_domains_skipped{reason="timeout"} is 1',
      sampleValue(first.families, 'libvirt_scrape_domains_skipped', { reason: 'timeout' }) === 1,
      String(sampleValue(first.families, 'libvirt_scrape_domains_skipped', { reason: 'timeout' })),
    );

    const notFine = hungResults.filter((r) => !fine(r));
    const lat = hungResults.map((r) => r.end - r.start);
    rec.figure('scrapes while hung (after the first)', hungResults.length);
    // The client's own view of its request slots, in the last scrape made while the guest was hung.
    const last = hungResults.at(-1)?.families;
    rec.figure(
      'libvirt calls in flight / abandoned calls / reconnects (exporter counters, last scrape while hung)',
      `${String(sampleValue(last, 'libvirt_exporter_libvirt_calls_in_flight'))} / ${String(sampleValue(last, 'libvirt_exporter_libvirt_abandoned_calls_total'))} / ${String(sampleValue(last, 'libvirt_exporter_libvirt_reconnects_total'))}`,
    );
    rec.figure(
      'their latency p50 / p99 / max',
      `${ms(percentile(lat, 50))} / ${ms(percentile(lat, 99))} / ${ms(Math.max(...lat))}`,
    );
    rec.check(
      'every scrape while hung: 200 within its deadline, every other guest complete and not timed out (no request slot runs out)',
      hungResults.length > 0 && notFine.length === 0,
      `${notFine.length} of ${hungResults.length} not fine`,
    );
    const partial = hungResults.filter(
      (r) =>
        sampleValue(r.families, 'libvirt_domain_timed_out', { domain: HUNG }) === 1 &&
        sampleValue(r.families, 'libvirt_domain_info_cpu_time_seconds_total', { domain: HUNG }) !== undefined,
    );
    rec.check(
      'later scrapes carry the hung guest’s partial stats (CPU time) and still report it timed out',
      hungResults.length > 0 && partial.length === hungResults.length,
      `${partial.length} of ${hungResults.length}`,
    );

    const backOk = (r: ScrapeResult): boolean =>
      complete(r) &&
      ACTIVE.every((n) => sampleValue(r.families, 'libvirt_domain_timed_out', { domain: n }) === 0) &&
      sampleValue(r.families, 'libvirt_domain_block_stats_read_requests_total', {
        domain: HUNG,
        target_device: 'vda',
      }) !== undefined;
    const backDetail = (r: ScrapeResult): string =>
      `complete ${String(complete(r))}, timed out: ${ACTIVE.filter((n) => sampleValue(r.families, 'libvirt_domain_timed_out', { domain: n }) !== 0).join(' ') || 'none'}, ` +
      `${HUNG} vda ${sampleValue(r.families, 'libvirt_domain_block_stats_read_requests_total', { domain: HUNG, target_device: 'vda' }) === undefined ? 'missing' : 'present'}, ` +
      `skipped busy/timeout/error ${['busy', 'timeout', 'error'].map((reason) => String(sampleValue(r.families, 'libvirt_scrape_domains_skipped', { reason }))).join('/')}`;
    // Scrapes one at a time until one has everything back, for at most 10 s after the resume, then one
    // more that must have it too. NOTE: not "the very next scrape": the resumed QEMU first answers the
    // monitor commands queued while it was stopped, and libvirtd holds the guest's job until then (the
    // stats call of a busy job is partial, reported as reason "busy"). On TCG under load that has taken
    // longer than one scrape (a run on a 12-guest lab once saw a first scrape that was not whole).
    const resumed: ScrapeResult[] = [];
    while (performance.now() - resumedAt < 10_000) {
      const r = await scrapeOnce(e.url, { headers });
      resumed.push(r);
      if (backOk(r)) break;
      await sleep(100);
    }
    const backIndex = resumed.findIndex(backOk);
    const back = backIndex >= 0 ? resumed[backIndex] : undefined;
    const after = await scrapeOnce(e.url, { headers });
    rec.figure('first scrape after SIGCONT answered in', ms(resumed[0]!.end - resumed[0]!.start));
    rec.figure(
      'first complete scrape after SIGCONT',
      back === undefined
        ? 'none within 10 s'
        : `#${backIndex + 1}, answered ${ms(back.end - resumedAt)} after the resume`,
    );
    const shown = [...resumed.slice(0, 3), ...(resumed.length > 3 ? resumed.slice(-1) : [])];
    rec.check(
      'after SIGCONT everything is back by itself within 10 s and stays so (nobody timed out, full stats of the guest)',
      back !== undefined && backOk(after),
      [
        ...shown.map((r) => `#${resumed.indexOf(r) + 1}: ${backDetail(r)}`),
        `the next: ${backDetail(after)}`,
      ].join('; '),
    );
    rec.check('the process kept running', e.child.exitCode === null, `exit code ${String(e.child.exitCode)}`);
    rec.finish();
  });
});
