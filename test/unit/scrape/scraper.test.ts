// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config/load.ts';
import type { CollectorName } from '../../../src/config/schema.ts';
import { DisconnectedError } from '../../../src/inspector/errors.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import type { HostInfo, Inspector } from '../../../src/inspector/types.ts';
import { collectorRegistry as registry } from '../../../src/collectors/index.ts';
import type { CollectorDefinition, CollectorRegistry, ScrapeContext } from '../../../src/scrape/collector.ts';
import { runScrape } from '../../../src/scrape/scraper.ts';
import { LibvirtConnectionError } from '../../../src/libvirt/index.ts';
import { fixtureClient, loadRecording } from '../../helpers/fixture-client.ts';
import { parseExposition } from '../../helpers/exposition.ts';

const log = pino({ level: 'silent' });

async function scrapeWith(
  inspector: Inspector,
  overrides: Record<string, unknown> = {},
  collectors: readonly CollectorName[] = ['domain', 'cpu', 'host', 'openstack'],
) {
  const sink = await runScrape({
    inspector,
    config: loadConfig(undefined, overrides),
    log,
    registry,
    collectors: [...collectors],
    // A signal that never aborts: a 5 s real deadline here made the result depend on the machine's load.
    signal: new AbortController().signal,
  });
  return parseExposition(sink.render('prometheus'));
}

const value = (f: ReturnType<typeof parseExposition>, name: string, labels: Record<string, string> = {}) =>
  f.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('runScrape', () => {
  test('one failing collector fails alone: success 0 for it, 1 for the others, libvirt_up 1', async () => {
    const inspector = new LibvirtInspector({ client: fixtureClient() });
    const broken: Inspector = {
      inspectAll: (o) => inspector.inspectAll(o),
      listInstances: (o) => inspector.listInstances(o),
      hostInfo: (): Promise<HostInfo> => Promise.reject(new Error('host info unavailable')),
      connected: true,
      close: () => inspector.close(),
    };
    const f = await scrapeWith(broken);
    assert.equal(value(f, 'libvirt_up'), 1);
    assert.equal(value(f, 'libvirt_scrape_collector_success', { collector: 'host' }), 0);
    assert.equal(value(f, 'libvirt_scrape_collector_success', { collector: 'cpu' }), 1);
    assert.equal(value(f, 'libvirt_scrape_collector_success', { collector: 'domain' }), 1);
    assert.ok((f.get('libvirt_domain_info_cpu_time_seconds_total')?.samples.length ?? 0) > 0);
  });

  test('libvirt down: libvirt_up 0, every collector unsuccessful, no domain series', async () => {
    const fail = new LibvirtConnectionError('ENOENT', 'no socket');
    const f = await scrapeWith(new LibvirtInspector({ client: fixtureClient(loadRecording(), { fail }) }));
    assert.equal(value(f, 'libvirt_up'), 0);
    for (const c of ['domain', 'cpu', 'host', 'openstack'])
      assert.equal(value(f, 'libvirt_scrape_collector_success', { collector: c }), 0, c);
    assert.equal(f.get('libvirt_domain_info_state'), undefined);
    assert.ok(new DisconnectedError('x') instanceof Error);
  });

  test('identity labels are copied onto per-domain series when asked for', async () => {
    const f = await scrapeWith(new LibvirtInspector({ client: fixtureClient() }), {
      'metrics.identity_labels': ['project_name', 'instance_name'],
    });
    const s = f
      .get('libvirt_domain_info_cpu_time_seconds_total')!
      .samples.find((x) => x.labels['domain'] === 'instance-00000001')!;
    assert.deepEqual(Object.keys(s.labels).sort(), ['domain', 'instance_name', 'project_name']);
    assert.equal(s.labels['project_name'], 'demo');
    const plain = f
      .get('libvirt_domain_info_cpu_time_seconds_total')!
      .samples.find((x) => x.labels['domain'] === 'lab-plain-1')!;
    assert.equal(plain.labels['project_name'], '', 'a guest without Nova metadata has empty identity labels');
  });

  test('inovex compatibility aliases are served by default and switched off by one key', async () => {
    const insp = new LibvirtInspector({ client: fixtureClient() });
    const on = await scrapeWith(insp, {}, ['memory']);
    assert.ok(on.has('libvirt_domain_memory_stats_used_percent'));
    assert.ok(on.has('libvirt_domain_memory_stats_swap_in_bytes'));
    const off = await scrapeWith(insp, { 'metrics.inovex_compatibility': false }, ['memory']);
    assert.ok(!off.has('libvirt_domain_memory_stats_used_percent'));
    assert.ok(!off.has('libvirt_domain_memory_stats_swap_in_bytes'));
    assert.ok(off.has('libvirt_domain_memory_stats_swap_in_bytes_total'));
    assert.ok(off.has('libvirt_domain_memory_stats_used_ratio'));
  });

  test('collector contexts: their own logger each, the same functions from one scrape to the next', async () => {
    // The functions a collector calls per guest are the same objects in every scrape (methods, not closures
    // made per scrape, whose optimised code V8 dropped at each full collection), and still answer for
    // this scrape's inspection.
    const seen: ScrapeContext[] = [];
    const spy = (name: 'cpu' | 'memory'): CollectorDefinition => ({
      ...registry[name],
      update(ctx) {
        seen.push(ctx);
      },
    });
    const spied = { ...registry, cpu: spy('cpu'), memory: spy('memory') } as CollectorRegistry;
    const inspector = new LibvirtInspector({ client: fixtureClient() });
    for (let i = 0; i < 2; i++)
      await runScrape({
        inspector,
        config: loadConfig(undefined, {}),
        log,
        registry: spied,
        collectors: ['cpu', 'memory'],
        signal: new AbortController().signal,
      });
    assert.equal(seen.length, 4);
    const [a, b, c] = seen as [ScrapeContext, ScrapeContext, ScrapeContext];
    assert.notEqual(a.log, b.log, 'a logger per collector');
    assert.equal(a.instanceOf, c.instanceOf);
    assert.equal(a.textsOf, c.textsOf);
    assert.equal(a.domainLabels, c.domainLabels);
    assert.notEqual(a.inspection, c.inspection, 'each scrape its own inspection');
    const uuid = c.inspection.instances[0]?.uuid ?? '';
    assert.equal(c.instanceOf(uuid), c.inspection.instances[0]);
    assert.equal(c.domainLabels(uuid)['domain'], c.inspection.instances[0]?.name);
    assert.deepEqual(c.domainLabelNames, ['domain']);
  });
});
