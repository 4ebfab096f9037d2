// SPDX-License-Identifier: Apache-2.0
/**
 * Issue 15, item 12: the broker blocks publishers (a real RabbitMQ memory alarm, `connection.blocked`)
 * for 60 s while the exporter publishes the lab guests' samples every second.
 *
 * The bug: a send that timed out was given up, but rabbitmq-client kept the message in its corked
 * socket; the publisher re-sent the batch every few seconds, and every copy was delivered when the
 * alarm cleared (duplicate message_ids), outside max_queue_length. Now the publisher does not send
 * while blocked, never gives up a send whose message the client may still deliver, and holds at most
 * max_queue_length samples. A consumer on its own connection (consumers are not blocked) counts the
 * samples by message_id. Figures go to .reliability/broker-blocked.json.
 */
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lab, waitFor } from '../helpers/lab.ts';
import {
  consumeSamples,
  publisherTestConfig,
  RabbitCluster,
  type SampleConsumer,
} from '../helpers/rabbitmq-cluster.ts';
import {
  logRecords,
  processFootprint,
  Recorder,
  sampleValue,
  scrapeOnce,
  spawnExporter,
  sumField,
  type SpawnedExporter,
} from '../helpers/reliability.ts';

const ALARM_MS = 60_000;
const MAX_QUEUE = 1000;
const RUN = `${process.pid}-${Date.now()}`;
const EXCHANGE = `blocked-${RUN}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the broker blocks publishers (memory alarm) for 60 s', () => {
  let cluster: RabbitCluster | undefined;
  let consumer: SampleConsumer | undefined;
  let exporter: SpawnedExporter | undefined;
  let dir: string;

  before(async () => {
    lab('up');
    dir = mkdtempSync(join(tmpdir(), 'broker-blocked-'));
    cluster = await RabbitCluster.start('blocked', ['a']);
  });
  after(async () => {
    if (exporter?.alive() === true) await exporter.stop();
    await consumer?.close().catch(() => undefined);
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('no duplicate message_id, at most max_queue_length held, the queued samples delivered once after the alarm', async () => {
    const node = cluster!.node('a');
    const rec = new Recorder(
      'broker-blocked',
      'the broker blocks publishers for 60 s',
      'faults',
      'test/integration/broker-blocked.test.ts',
      `An exporter publishes every meter of the lab guests every second (max_queue_length ${MAX_QUEUE}, send_timeout_seconds 5) to a private RabbitMQ node. Once it publishes, the node's memory alarm is raised (\`rabbitmqctl set_vm_memory_high_watermark 0.000001\`): RabbitMQ sends \`connection.blocked\` and stops reading from publishing connections. After ${ALARM_MS / 1000} s the watermark is set back to 0.4, the alarm clears, and once the queue is empty the exporter is stopped (SIGTERM). A consumer on its own connection counts the samples by message_id; polled and dropped counts come from the exporter's log, its memory from /proc.`,
    );
    consumer = await consumeSamples(cluster!.url(node), EXCHANGE, `${EXCHANGE}-q`);
    const file = join(dir, 'exporter.yaml');
    writeFileSync(
      file,
      publisherTestConfig({
        transportUrl: `rabbit://guest:guest@127.0.0.1:${node.amqpPort}/`,
        telemetrySecret: 'broker-blocked-test',
        exchange: EXCHANGE,
        maxQueueLength: MAX_QUEUE,
        source: 'blocked',
        meters: ['*'],
      }),
    );
    exporter = await spawnExporter([`--config.file=${file}`]);
    const ex = exporter;
    let queuePeak = 0;
    let rssPeak = 0;
    const scrape = async (): Promise<{ queue: number; blocked: number; up: number; published: number }> => {
      const r = await scrapeOnce(ex.url);
      const queue = sampleValue(r.families, 'libvirt_publisher_queue_samples') ?? -1;
      queuePeak = Math.max(queuePeak, queue);
      rssPeak = Math.max(rssPeak, processFootprint(ex.pid).rssBytes);
      return {
        queue,
        blocked: sampleValue(r.families, 'libvirt_publisher_broker_blocked') ?? -1,
        up: sampleValue(r.families, 'libvirt_publisher_broker_up') ?? -1,
        published:
          r.families
            ?.get('libvirt_publisher_samples_published_total')
            ?.samples.reduce((n, x) => n + x.value, 0) ?? 0,
      };
    };
    await waitFor(async () => (await scrape()).published > 0, 60_000, 'publishing');
    await sleep(3000);
    const published0 = (await scrape()).published;
    await waitFor(() => consumer!.distinct() >= published0, 20_000, 'consumer caught up');
    const rssBefore = processFootprint(ex.pid).rssBytes;
    rssPeak = rssBefore;
    queuePeak = 0;

    const alarmAt = Date.now();
    const tAlarm = performance.now();
    await cluster!.ctl(node, 'set_vm_memory_high_watermark', '0.000001');
    const consumedAtAlarm = consumer.received.length;
    const during: { blocked: number; up: number; queue: number }[] = [];
    while (performance.now() - tAlarm < ALARM_MS) {
      during.push(await scrape());
      await sleep(2000);
    }
    const queueAtClear = (await scrape()).queue;
    const clearAt = Date.now();
    const consumedDuringAlarm = consumer.received.length - consumedAtAlarm;
    // NOTE: counted before the command, not after it returns: RabbitMQ lifts the block as soon as the
    // watermark changes, while rabbitmqctl still takes a second or two to return, and the held samples
    // arrived meanwhile (897 of 1000 counted "after" the alarm once, the first 103 during the command).
    const consumedAtClear = consumer.received.length;
    await cluster!.ctl(node, 'set_vm_memory_high_watermark', '0.4');
    const tClear = performance.now();
    // NOTE: whether the queue emptied is what this wait saw, not a later scrape: polling goes on, and a
    // scrape taken a moment later can catch the next cycle's samples on their way out (queue 120 once).
    const drained = await waitFor(
      async () => {
        const s = await scrape();
        return s.queue === 0 && s.blocked === 0;
      },
      60_000,
      'queue drained after the alarm',
      250,
    ).then(
      () => true,
      () => false,
    );
    const drainedSeconds = (performance.now() - tClear) / 1000;
    const after = await scrape();
    const rssAfter = processFootprint(ex.pid).rssBytes;
    await ex.stop();
    const out = ex.output();
    const stopped = logRecords(out, 'publisher stopped')[0] ?? {};
    const published = typeof stopped['published'] === 'number' ? stopped['published'] : NaN;
    const dropped = typeof stopped['dropped'] === 'number' ? stopped['dropped'] : NaN;
    const polls = logRecords(out, 'poll done');
    const polled = sumField(polls, 'samples');
    const polledDuringAlarm = sumField(polls, 'samples', (r) => {
      const t = Number(r['time']);
      return t >= alarmAt && t < clearAt;
    });
    const drops = logRecords(out, 'samples dropped');
    const droppedFull = sumField(drops, 'samples', (r) => r['reason'] === 'queue_full');
    await waitFor(() => consumer!.distinct() >= published, 30_000, 'every published sample consumed').catch(
      () => undefined,
    );
    const distinct = consumer.distinct();
    const repeats = consumer.repeats();
    const afterClear = consumer.received.slice(consumedAtClear);
    const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

    rec.figure('alarm held', ALARM_MS / 1000, 's');
    rec.figure('samples polled during the alarm', polledDuringAlarm);
    rec.figure('samples consumed during the alarm', consumedDuringAlarm);
    rec.figure('peak queue during the alarm (max_queue_length)', `${queuePeak} (${MAX_QUEUE})`, 'samples');
    rec.figure('samples held when the alarm cleared', queueAtClear);
    rec.figure('queue drained after the alarm cleared in', drainedSeconds, 's');
    rec.figure(
      'polled / published / dropped (queue_full)',
      `${polled} / ${published} / ${dropped} (${droppedFull})`,
    );
    rec.figure('distinct samples consumed (repeats)', `${distinct} (${repeats})`);
    rec.figure('samples consumed after the alarm cleared', afterClear.length);
    rec.figure(
      'exporter RSS before / peak / after',
      `${mib(rssBefore)} / ${mib(rssPeak)} / ${mib(rssAfter)}`,
      'MiB',
    );
    rec.figure(
      'libvirt_publisher_broker_blocked during the alarm',
      [...new Set(during.map((d) => d.blocked))].join(', '),
    );

    rec.check(
      'no duplicate message_id downstream',
      repeats === 0,
      `${repeats} repeats in ${consumer.received.length}`,
    );
    rec.check(
      'polled = published + dropped',
      polled > 0 && polled === published + dropped,
      `${polled} polled, ${published} published, ${dropped} dropped`,
    );
    rec.check(
      'every published sample consumed exactly once',
      distinct === published && repeats === 0,
      `${distinct} distinct consumed, ${published} published`,
    );
    rec.check(
      'only the excess over max_queue_length dropped (queue_full)',
      dropped === droppedFull,
      `${dropped} dropped, ${droppedFull} as queue_full`,
    );
    rec.check(
      `the queue never held more than ${MAX_QUEUE} samples`,
      queuePeak <= MAX_QUEUE,
      `peak ${queuePeak}`,
    );
    rec.check(
      'the alarm filled the queue to its bound (the scenario did block)',
      queueAtClear >= MAX_QUEUE - 200 && droppedFull > 0,
      `${queueAtClear} held at the end of the alarm, ${droppedFull} dropped`,
    );
    rec.check(
      'the samples held during the alarm were delivered after it cleared',
      afterClear.length >= queueAtClear && drained,
      `${afterClear.length} consumed after the alarm, ${queueAtClear} held, ` +
        (drained
          ? `queue empty ${drainedSeconds.toFixed(1)} s after it cleared`
          : 'queue never empty within 60 s'),
    );
    rec.check(
      'memory bounded: RSS grew by less than 64 MiB during the alarm',
      rssPeak - rssBefore < 64 * 2 ** 20,
      `${mib(rssBefore)} → peak ${mib(rssPeak)} MiB`,
    );
    rec.check(
      'blocked shown: libvirt_publisher_broker_blocked 1 during the alarm (after the first publish), 0 after',
      during.slice(3).every((d) => d.blocked === 1) && after.blocked === 0,
      `${during.map((d) => d.blocked).join(',')} → ${after.blocked}`,
    );
    rec.check(
      'the connection stayed up (libvirt_publisher_broker_up 1) throughout',
      during.every((d) => d.up === 1),
      during.map((d) => d.up).join(','),
    );
    rec.check(
      'blocked and unblocked logged',
      logRecords(out, 'amqp connection blocked by the broker').length > 0 &&
        logRecords(out, 'amqp connection unblocked').length > 0,
      `${logRecords(out, 'amqp connection blocked by the broker').length} blocked, ${logRecords(out, 'amqp connection unblocked').length} unblocked lines`,
    );
    rec.finish();
  });
});
