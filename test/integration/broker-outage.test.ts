// SPDX-License-Identifier: Apache-2.0
/**
 * The broker stopped for 60 s and restarted while the publisher runs (issue 7). Two real exporter
 * processes publish the lab guests' samples every second to a private RabbitMQ (test/lab/rabbitmq.sh):
 * one whose queue has room for the whole outage, one whose queue holds 100 samples. A consumer counts
 * what arrives by message_id. The first must lose nothing; the second must drop the excess and count
 * it, so that polled = published + dropped holds for both. Figures go to .reliability/broker-outage.json.
 */
import { after, before, describe, test } from 'node:test';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection, type Consumer } from 'rabbitmq-client';
import { lab, waitFor } from '../helpers/lab.ts';
import {
  Recorder,
  sampleValue,
  scrapeOnce,
  spawnExporter,
  type SpawnedExporter,
} from '../helpers/reliability.ts';

const RABBIT = fileURLToPath(new URL('../lab/rabbitmq.sh', import.meta.url));
const PORT = Number(process.env['RABBITMQ_LAB_PORT'] ?? 5673);
const OUTAGE_MS = 60_000;
const SMALL_QUEUE = 100;
const METERS = ['cpu', 'memory.usage', 'disk.device.read.bytes', 'network.incoming.bytes'];
const RUN = `${process.pid}-${Date.now()}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** rabbitmq.sh, without blocking the event loop (the exporters are being scraped meanwhile). */
function rabbit(cmd: 'start' | 'stop'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile('bash', [RABBIT, cmd], { timeout: 900_000 }, (err, _o, stderr) => {
      if (err) reject(new Error(`rabbitmq.sh ${cmd}: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

/** One publisher under test: its exporter, exchange and what its consumer received. */
interface Side {
  readonly name: string;
  readonly maxQueue: number;
  readonly exchange: string;
  exporter?: SpawnedExporter;
  consumer?: Consumer;
  /** message_id of every sample received (with repeats). */
  readonly ids: string[];
  /** Highest libvirt_publisher_queue_samples seen. */
  queuePeak: number;
  brokerUpDuringOutage: number[];
}

/** Sums a field of every JSON log line with this message (logged between `from` and `to`, epoch ms). */
function sumLog(
  output: string,
  msg: string,
  field: string,
  from = 0,
  to = Infinity,
): { sum: number; lines: number } {
  let sum = 0;
  let lines = 0;
  for (const line of output.split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    const rec = JSON.parse(line) as Record<string, unknown>;
    const time = typeof rec['time'] === 'number' ? rec['time'] : 0;
    if (time < from || time >= to) continue;
    const v = rec[field];
    if (typeof v === 'number') sum += v;
    lines += 1;
  }
  return { sum, lines };
}

describe('the broker stopped for 60 s and restarted while the publisher runs', () => {
  let dir: string;
  let conn: Connection;
  const sides: Side[] = [
    {
      name: 'room',
      maxQueue: 100_000,
      exchange: `outage-room-${RUN}`,
      ids: [],
      queuePeak: 0,
      brokerUpDuringOutage: [],
    },
    {
      name: 'small',
      maxQueue: SMALL_QUEUE,
      exchange: `outage-small-${RUN}`,
      ids: [],
      queuePeak: 0,
      brokerUpDuringOutage: [],
    },
  ];

  before(async () => {
    lab('up');
    execFileSync('bash', [RABBIT, 'start'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
    dir = mkdtempSync(join(tmpdir(), 'broker-outage-'));
    conn = new Connection({ url: `amqp://guest:guest@127.0.0.1:${PORT}`, retryLow: 200, retryHigh: 1000 });
    conn.on('error', () => undefined);
    for (const s of sides) {
      const queue = `${s.exchange}-q`;
      s.consumer = conn.createConsumer(
        {
          queue,
          queueOptions: { durable: true, autoDelete: false },
          exchanges: [{ exchange: s.exchange, type: 'topic', durable: true }],
          queueBindings: [{ exchange: s.exchange, routingKey: 'notifications.sample', queue }],
        },
        (msg) => {
          const body = Buffer.isBuffer(msg.body) ? msg.body.toString('utf8') : String(msg.body);
          const inner = JSON.parse((JSON.parse(body) as Record<string, string>)['oslo.message']!) as {
            payload: { samples: { message_id: string }[] };
          };
          for (const sample of inner.payload.samples) s.ids.push(sample.message_id);
        },
      );
      s.consumer.on('error', () => undefined);
      await new Promise<void>((resolve) =>
        s.consumer!.once('ready', () => {
          resolve();
        }),
      );
    }
  });
  after(async () => {
    for (const s of sides) {
      if (s.exporter?.alive() === true) await s.exporter.stop();
      await s.consumer?.close();
    }
    await conn.close();
    execFileSync('bash', [RABBIT, 'stop'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('no sample lost while the queue has room (by message_id), the excess dropped and counted', async () => {
    const rec = new Recorder(
      'broker-outage',
      'the broker stopped for 60 s',
      'faults',
      'test/integration/broker-outage.test.ts',
      `Two exporters publish the lab guests' samples (${METERS.join(', ')}) every second to a private RabbitMQ node: one with room for the whole outage (max_queue_length ${sides[0]!.maxQueue}), one holding ${SMALL_QUEUE} samples. After 10 s the broker is stopped (\`rabbitmq.sh stop\`, a clean shutdown) for ${OUTAGE_MS / 1000} s, then started again; once both queues are empty the exporters are stopped (SIGTERM). A consumer bound to each exchange counts the samples by message_id. Polled samples are summed from the exporters' "poll done" log lines, published and dropped totals from their "publisher stopped" line.`,
    );
    for (const s of sides) {
      const file = join(dir, `${s.name}.yaml`);
      writeFileSync(
        file,
        [
          'log:',
          '  level: debug',
          'publisher:',
          '  enabled: true',
          `  transport_url: "rabbit://guest:guest@127.0.0.1:${PORT}/"`,
          '  telemetry_secret: "broker-outage-test"',
          `  exchange: ${s.exchange}`,
          '  exchange_declare: durable',
          `  max_queue_length: ${s.maxQueue}`,
          '  send_timeout_seconds: 5',
          '  stop_timeout_seconds: 30',
          '  polling:',
          '    sources:',
          `      - { name: outage, interval: 1, meters: ${JSON.stringify(METERS)} }`,
          '',
        ].join('\n'),
      );
      s.exporter = await spawnExporter([`--config.file=${file}`]);
    }
    const scrapeAll = async (): Promise<Map<string, ReturnType<typeof sampleValue>>[]> =>
      Promise.all(
        sides.map(async (s) => {
          const r = await scrapeOnce(s.exporter!.url);
          const q = sampleValue(r.families, 'libvirt_publisher_queue_samples') ?? 0;
          s.queuePeak = Math.max(s.queuePeak, q);
          return new Map([
            ['queue', q],
            ['up', sampleValue(r.families, 'libvirt_publisher_broker_up')],
            [
              'published',
              r.families
                ?.get('libvirt_publisher_samples_published_total')
                ?.samples.reduce((n, x) => n + x.value, 0),
            ],
          ]);
        }),
      );
    await waitFor(
      async () => (await scrapeAll()).every((m) => (m.get('published') ?? 0) > 0),
      60_000,
      'both publishing',
    );
    await sleep(10_000);
    // Let the consumers catch up, so that nothing is in flight when the broker goes.
    const published0 = (await scrapeAll()).map((m) => m.get('published') ?? 0);
    await waitFor(
      () => sides.every((s, i) => new Set(s.ids).size >= published0[i]!),
      20_000,
      'consumers caught up',
    );
    const before = sides.map((s) => new Set(s.ids).size);

    const t0 = performance.now();
    await rabbit('stop');
    const stopped = performance.now();
    const stoppedAt = Date.now();
    const atStop = sides.map((s) => new Set(s.ids).size);
    const polling = (async () => {
      while (performance.now() - stopped < OUTAGE_MS) {
        const m = await scrapeAll();
        sides.forEach((s, i) => s.brokerUpDuringOutage.push(m[i]!.get('up') ?? -1));
        await sleep(2000);
      }
    })();
    await sleep(OUTAGE_MS);
    await polling;
    const startBegin = performance.now();
    const startAt = Date.now();
    const duringOutage = sides.map((s, i) => new Set(s.ids).size - atStop[i]!);
    await rabbit('start');
    const restarted = performance.now();

    // Drain: both queues empty and the broker up again, then stop (the totals come from the logs).
    await waitFor(
      async () => (await scrapeAll()).every((m) => (m.get('queue') ?? 1) === 0 && m.get('up') === 1),
      120_000,
      'both queues drained',
      500,
    );
    const drained = performance.now();
    await Promise.all(sides.map((s) => s.exporter!.stop()));
    const codes = sides.map((s) => s.exporter!.alive());
    const finals = sides.map((s) => {
      const out = s.exporter!.output();
      const stoppedLine = out.split('\n').find((l) => l.includes('"msg":"publisher stopped"'));
      const totals = stoppedLine
        ? (JSON.parse(stoppedLine) as { published: number; dropped: number })
        : { published: NaN, dropped: NaN };
      return {
        polled: sumLog(out, 'poll done', 'samples').sum,
        outage: sumLog(out, 'poll done', 'samples', stoppedAt, startAt),
        published: totals.published,
        dropped: totals.dropped,
        out,
      };
    });
    // Everything confirmed reaches the consumers (the checks below say so if it does not).
    await waitFor(
      () => sides.every((s, i) => new Set(s.ids).size >= finals[i]!.published),
      30_000,
      'every published sample consumed',
    ).catch(() => undefined);

    rec.figure('broker down (stop returned → start begun)', (startBegin - stopped) / 1000, 's');
    rec.figure(
      '`rabbitmq.sh stop` / `start` took',
      `${((stopped - t0) / 1000).toFixed(1)} s / ${((restarted - startBegin) / 1000).toFixed(1)} s`,
    );
    rec.figure('queues drained after the restart in', (drained - restarted) / 1000, 's');
    rec.check(
      'both exporters ran through and stopped on SIGTERM',
      codes.every((alive) => !alive),
      'stopped',
    );
    sides.forEach((s, i) => {
      const f = finals[i]!;
      const distinct = new Set(s.ids).size;
      const repeats = s.ids.length - distinct;
      const label = s.name === 'room' ? `queue with room (${s.maxQueue})` : `queue of ${s.maxQueue}`;
      rec.figure(`${label}: polled / published / dropped`, `${f.polled} / ${f.published} / ${f.dropped}`);
      rec.figure(`${label}: distinct samples consumed (repeats)`, `${distinct} (${repeats})`);
      rec.figure(`${label}: peak queue during the outage`, s.queuePeak, 'samples');
      rec.figure(
        `${label}: polls / samples polled while the broker was down`,
        `${f.outage.lines} / ${f.outage.sum}`,
      );
      rec.figure(`${label}: consumed while the broker was down`, duringOutage[i]!);
      rec.figure(`${label}: consumed before the stop`, before[i]!);
      rec.check(
        `${label}: polled = published + dropped`,
        f.polled > 0 && f.polled === f.published + f.dropped,
        `${f.polled} polled, ${f.published} published, ${f.dropped} dropped`,
      );
      rec.check(
        `${label}: every published sample consumed (by message_id)`,
        distinct === f.published,
        `${distinct} distinct message_ids consumed, ${f.published} published`,
      );
      rec.check(
        `${label}: broker_up 0 while the broker was down`,
        s.brokerUpDuringOutage.length > 0 && s.brokerUpDuringOutage.every((v) => v === 0),
        s.brokerUpDuringOutage.join(','),
      );
      if (s.name === 'room') {
        rec.check(
          `${label}: no sample lost (dropped 0, every polled sample consumed)`,
          f.dropped === 0 && distinct === f.polled,
          `${f.dropped} dropped, ${distinct} of ${f.polled} consumed`,
        );
        rec.check(
          `${label}: the outage was queued (peak queue > ${SMALL_QUEUE})`,
          s.queuePeak > SMALL_QUEUE,
          `peak ${s.queuePeak}`,
        );
      } else {
        const reasons = /"reason":"queue_full"/.test(f.out);
        rec.check(
          `${label}: the excess dropped and counted (dropped > 0, logged as queue_full)`,
          f.dropped > 0 && reasons,
          `${f.dropped} dropped`,
        );
        rec.check(
          `${label}: the queue never held more than ${s.maxQueue}`,
          s.queuePeak <= s.maxQueue,
          `peak ${s.queuePeak}`,
        );
      }
    });
    rec.figure('samples lost', finals[0]!.polled - new Set(sides[0]!.ids).size);
    rec.finish();
  });
});
