// SPDX-License-Identifier: Apache-2.0
/**
 * Issue 15, item 13: broker failover on a real two-node RabbitMQ cluster. Both nodes run on loopback
 * with private ports, node names and epmd (test/helpers/rabbitmq-cluster.ts), the second joined to
 * the first with `rabbitmqctl join_cluster`. The exporter publishes the lab guests' samples every second
 * through a transport URL that lists both nodes, first node first; once it publishes, the node it is
 * connected to is stopped (`rabbitmqctl shutdown`). It must reconnect to the other node within the
 * stated time and lose and repeat nothing.
 *
 * Where the samples wait downstream: a classic durable queue declared by the consumer on the second
 * node, which lives on that node. The exchange and the binding are cluster metadata, on both nodes. A
 * quorum queue would not do on two nodes: it needs a majority of its replicas (2 of 2) and stops taking
 * messages when either node goes. Figures go to .reliability/broker-failover.json.
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

/** The failover must take less than this, from the lost connection to the publisher's new one. */
const FAILOVER_LIMIT_S = 15;
const MAX_QUEUE = 10_000;
const METERS = ['cpu', 'memory.usage', 'disk.device.read.bytes', 'network.incoming.bytes'];
const RUN = `${process.pid}-${Date.now()}`;
const EXCHANGE = `failover-${RUN}`;
const CONNECTION_NAME = 'libvirt-exporter ceilometer publisher';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('broker failover on a two-node RabbitMQ cluster', () => {
  let cluster: RabbitCluster | undefined;
  let consumer: SampleConsumer | undefined;
  let exporter: SpawnedExporter | undefined;
  let dir: string;

  before(async () => {
    lab('up');
    dir = mkdtempSync(join(tmpdir(), 'broker-failover-'));
    cluster = await RabbitCluster.start('failover', ['a', 'b']);
  });
  after(async () => {
    if (exporter?.alive() === true) await exporter.stop();
    await consumer?.close().catch(() => undefined);
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the node the publisher uses stops: it fails over to the other within the limit, 0 lost, 0 repeated', async () => {
    const c = cluster!;
    const [a, b] = [c.node('a'), c.node('b')];
    const rec = new Recorder(
      'broker-failover',
      'broker failover on a two-node cluster',
      'faults',
      'test/integration/broker-failover.test.ts',
      `Two RabbitMQ nodes on loopback, clustered with \`rabbitmqctl join_cluster\`. An exporter publishes the lab guests' samples (${METERS.join(', ')}) every second through \`rabbit://…@node-a,…@node-b/\` (max_queue_length ${MAX_QUEUE}); a consumer on node b reads a durable classic queue declared there (a quorum queue needs a majority, 2 of 2 nodes, and would stop with either node). Once the publisher is seen connected to node a, node a is stopped (\`rabbitmqctl shutdown\`); after 10 s more of publishing through node b the exporter is stopped (SIGTERM). Failover time is from the stop command, and from the publisher's "amqp connection error" (node a closing its connections), to its next "amqp connected" log line; samples are counted by message_id.`,
    );
    consumer = await consumeSamples(c.url(b), EXCHANGE, `${EXCHANGE}-q`);
    const file = join(dir, 'exporter.yaml');
    writeFileSync(
      file,
      publisherTestConfig({
        transportUrl: `rabbit://guest:guest@127.0.0.1:${a.amqpPort},guest:guest@127.0.0.1:${b.amqpPort}/`,
        telemetrySecret: 'broker-failover-test',
        exchange: EXCHANGE,
        maxQueueLength: MAX_QUEUE,
        source: 'failover',
        meters: METERS,
      }),
    );
    exporter = await spawnExporter([`--config.file=${file}`]);
    const ex = exporter;
    let rssPeak = 0;
    const scrape = async (): Promise<{ queue: number; up: number; published: number }> => {
      const r = await scrapeOnce(ex.url);
      rssPeak = Math.max(rssPeak, processFootprint(ex.pid).rssBytes);
      return {
        queue: sampleValue(r.families, 'libvirt_publisher_queue_samples') ?? -1,
        up: sampleValue(r.families, 'libvirt_publisher_broker_up') ?? -1,
        published:
          r.families
            ?.get('libvirt_publisher_samples_published_total')
            ?.samples.reduce((n, x) => n + x.value, 0) ?? 0,
      };
    };
    await waitFor(async () => (await scrape()).published > 0, 60_000, 'publishing');
    await sleep(3000);
    // Which node serves the publisher's connection: the AMQP port of its server side.
    // NOTE: rabbitmqctl 3.10 has no user_provided_name column; the name is in client_properties.
    const connections = JSON.parse(
      await c.ctl(a, 'list_connections', 'client_properties', 'port', '--formatter', 'json'),
    ) as { port: number }[];
    const ports = connections.filter((x) => JSON.stringify(x).includes(CONNECTION_NAME)).map((x) => x.port);
    const before = consumer.distinct();

    const stopAt = Date.now();
    const t0 = performance.now();
    const polling = (async () => {
      while (performance.now() - t0 < 20_000) {
        await scrape();
        await sleep(1000);
      }
    })();
    await c.stopNode(a);
    const stopSeconds = (performance.now() - t0) / 1000;
    await waitFor(
      () => consumer!.received.some((r) => r.at > t0 + stopSeconds * 1000),
      30_000,
      'samples through node b',
    ).catch(() => undefined);
    const firstAfter = consumer.received.find((r) => r.at > t0 + stopSeconds * 1000);
    await sleep(10_000);
    await polling;
    await waitFor(async () => (await scrape()).queue === 0, 30_000, 'queue drained').catch(() => undefined);
    await ex.stop();
    const out = ex.output();
    const connectedAfter = logRecords(out, 'amqp connected').find((r) => Number(r['time']) >= stopAt);
    const failoverSeconds = connectedAfter ? (Number(connectedAfter['time']) - stopAt) / 1000 : NaN;
    // The publisher's own part: from losing node a (the node closes its connections while it shuts
    // down) to its connection to node b.
    const lost = logRecords(out, 'amqp connection error').find((r) => Number(r['time']) >= stopAt);
    const reconnectSeconds =
      lost && connectedAfter ? (Number(connectedAfter['time']) - Number(lost['time'])) / 1000 : NaN;
    const stopped = logRecords(out, 'publisher stopped')[0] ?? {};
    const published = typeof stopped['published'] === 'number' ? stopped['published'] : NaN;
    const dropped = typeof stopped['dropped'] === 'number' ? stopped['dropped'] : NaN;
    const polled = sumField(logRecords(out, 'poll done'), 'samples');
    await waitFor(() => consumer!.distinct() >= published, 30_000, 'every published sample consumed').catch(
      () => undefined,
    );
    const distinct = consumer.distinct();
    const repeats = consumer.repeats();

    rec.figure('`rabbitmqctl shutdown` of node a took', stopSeconds, 's');
    rec.figure('failover: stop command → publisher connected to node b', failoverSeconds, 's');
    rec.figure('failover: connection to node a lost → connected to node b', reconnectSeconds, 's');
    rec.figure(
      'first sample through node b after the stop command',
      firstAfter ? (firstAfter.at - t0) / 1000 : NaN,
      's',
    );
    rec.figure('samples polled / published / dropped', `${polled} / ${published} / ${dropped}`);
    rec.figure('samples consumed before the stop / in all (distinct)', `${before} / ${distinct}`);
    rec.figure('duplicates (samples received twice)', repeats);
    rec.figure('samples lost', polled - distinct);
    rec.figure('peak exporter RSS', Math.round((rssPeak / 2 ** 20) * 10) / 10, 'MiB');

    rec.check(
      'the publisher was connected to node a, the node stopped',
      ports.length === 1 && ports[0] === a.amqpPort,
      `publisher connections on ports ${ports.join(', ') || 'none'} (node a ${a.amqpPort}, node b ${b.amqpPort})`,
    );
    rec.check(
      `failover within ${FAILOVER_LIMIT_S} s of losing node a`,
      reconnectSeconds >= 0 && reconnectSeconds < FAILOVER_LIMIT_S,
      `${reconnectSeconds.toFixed(1)} s (${failoverSeconds.toFixed(1)} s from the stop command)`,
    );
    rec.check(
      'samples published after the failover',
      firstAfter !== undefined && distinct > before,
      `${distinct - before} samples after the stop`,
    );
    rec.check(
      '0 samples lost (every polled sample consumed, none dropped)',
      polled > 0 && dropped === 0 && distinct === polled,
      `${distinct} of ${polled} consumed, ${dropped} dropped`,
    );
    rec.check('no duplicates', repeats === 0, `${repeats} repeats in ${consumer.received.length}`);
    rec.check(
      'polled = published + dropped',
      polled === published + dropped,
      `${polled} polled, ${published} published, ${dropped} dropped`,
    );
    rec.finish();
  });
});
