// SPDX-License-Identifier: Apache-2.0
// The whole /metrics output for a recording of the lab, compared with a golden file
// (UPDATE_GOLDEN=1 rewrites it), plus what must hold on it whatever the golden says.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../../src/app.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import { fixtureClient, loadRecording } from '../../helpers/fixture-client.ts';
import { parseExposition } from '../../helpers/exposition.ts';
import { renderMetricsDocs } from '../../tools/metrics-docs.ts';

const GOLDEN = new URL('../../golden/metrics.prom', import.meta.url);

/** Drops what changes from run to run: process and Node.js series, build info, timings. */
export function normalize(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '' && !/^(# (HELP|TYPE) )?(process_|nodejs_|libvirt_exporter_)/.test(l))
    .map((l) => l.replace(/^(libvirt_scrape_collector_duration_seconds\{[^}]*\}) .*$/, '$1 0'))
    .map((l) => `${l}\n`)
    .join('');
}

async function scrape(app: FastifyInstance, url = '/metrics'): Promise<string> {
  const r = await app.inject({ url });
  assert.equal(r.statusCode, 200);
  return r.body;
}

describe('exposition of the lab recording', () => {
  let app: FastifyInstance;
  let body: string;
  before(async () => {
    const config = loadConfig(undefined, {
      'collectors.dirtyrate.enabled': true,
      'collectors.perf.enabled': true,
      'collectors.job.enabled': true,
    });
    app = await buildApp({
      config,
      inspector: new LibvirtInspector({ client: fixtureClient() }),
      logger: pino({ level: 'silent' }),
    });
    body = await scrape(app);
  });
  after(async () => {
    await app.close();
  });

  test('matches the golden file', () => {
    const got = normalize(body);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, got);
    assert.equal(got, readFileSync(GOLDEN, 'utf8'), 'UPDATE_GOLDEN=1 rewrites test/golden/metrics.prom');
  });

  test('promtool check metrics is clean apart from the inovex compatibility aliases', () => {
    let out = '';
    try {
      execFileSync('promtool', ['check', 'metrics'], {
        input: normalize(body),
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; status?: number };
      out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
      assert.equal(e.status, 3, `promtool ran: ${out}`);
    }
    const problems = out
      .split('\n')
      .filter(Boolean)
      .filter((l) => !/^libvirt_domain_memory_stats_hugetlb_pg(alloc|fail)_total /.test(l));
    assert.deepEqual(problems, []);
  });

  test('types, units and names follow the Prometheus conventions', () => {
    for (const f of parseExposition(body).values()) {
      if (!f.name.startsWith('libvirt_')) continue;
      assert.ok(f.help.length > 10, `${f.name} has HELP`);
      if (f.type === 'counter') assert.ok(f.name.endsWith('_total'), `${f.name}: counters end in _total`);
      const alias = /hugetlb_pg(alloc|fail)_total$/.test(f.name);
      if (f.type !== 'counter' && !alias)
        assert.ok(!f.name.endsWith('_total'), `${f.name}: _total only on counters`);
      assert.ok(
        !/_(kib|kilobytes|nanoseconds|ns|ms|milliseconds|mb)(_|$)/.test(f.name),
        `${f.name}: base units`,
      );
    }
  });

  test('every inovex 2.5 metric is served with its name, type and labels', () => {
    const families = parseExposition(body);
    const tsv = readFileSync(
      new URL('../../fixtures/inovex/inovex-2.5-metrics.tsv', import.meta.url),
      'utf8',
    );
    for (const line of tsv.split('\n').slice(1).filter(Boolean)) {
      const [name, type, labels] = line.split('\t') as [string, string, string];
      const f = families.get(name);
      assert.ok(f, `${name} is served`);
      assert.equal(f.type, type.toLowerCase(), `${name} type`);
      const want = labels === '(none)' ? [] : labels.split(',').sort();
      assert.ok(f.samples.length > 0, `${name} has samples`);
      for (const s of f.samples) assert.deepEqual(Object.keys(s.labels).sort(), want, `${name} labels`);
    }
  });

  test('values are converted to base units at the edge', () => {
    const f = parseExposition(body);
    const rec = JSON.parse(
      readFileSync(new URL('../../fixtures/lab/inspection.json', import.meta.url), 'utf8'),
    ) as {
      stats: { domain: { name: string }; params: { field: string; value: string | number }[] }[];
    };
    const raw = (dom: string, field: string): number =>
      Number(rec.stats.find((s) => s.domain.name === dom)!.params.find((p) => p.field === field)!.value);
    const value = (name: string, labels: Record<string, string>): number | undefined =>
      f.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const d = 'instance-00000002';
    assert.equal(
      value('libvirt_domain_info_cpu_time_seconds_total', { domain: d }),
      raw(d, 'cpu.time') / 1e9,
    );
    assert.equal(value('libvirt_domain_memory_stats_rss_bytes', { domain: d }), raw(d, 'balloon.rss') * 1024);
    assert.equal(
      value('libvirt_domain_vcpu_delay_seconds_total', { domain: d, vcpu: '1' }),
      raw(d, 'vcpu.1.delay') / 1e9,
    );
    assert.equal(
      value('libvirt_domain_block_stats_read_bytes_total', { domain: d, target_device: 'vdb' }),
      raw(d, 'block.1.rd.bytes'),
    );
    assert.equal(
      value('libvirt_domain_interface_stats_receive_bytes_total', { domain: d, target_device: 'tap-tiny2b' }),
      raw(d, 'net.1.rx.bytes'),
    );
    const used = (raw(d, 'balloon.available') - raw(d, 'balloon.usable')) / raw(d, 'balloon.available');
    assert.equal(value('libvirt_domain_memory_stats_used_ratio', { domain: d }), used);
    assert.equal(value('libvirt_domain_memory_stats_used_percent', { domain: d }), used * 100);
    // Without a guest balloon driver, guest memory statistics are absent, never 0.
    assert.equal(value('libvirt_domain_memory_stats_usable_bytes', { domain: 'lab-plain-1' }), undefined);
    // A shut-off domain has its state and info, and no stats series.
    assert.equal(value('libvirt_domain_info_state', { domain: 'instance-00000005' }), 5);
    assert.equal(
      value('libvirt_domain_info_cpu_time_seconds_total', { domain: 'instance-00000005' }),
      undefined,
    );
  });

  test('OpenMetrics when asked for, gzip when accepted', async () => {
    const om = await app.inject({
      url: '/metrics',
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    });
    assert.match(String(om.headers['content-type']), /application\/openmetrics-text/);
    assert.match(om.body, /# EOF\n$/);
    assert.match(
      om.body,
      /^# TYPE libvirt_domain_info_cpu_time_seconds counter$/m,
      'OpenMetrics counter family without _total',
    );
    assert.match(om.body, /^libvirt_domain_info_cpu_time_seconds_total\{/m, 'samples keep _total');
    // A long-lived counter keeps its name in the Prometheus format after an OpenMetrics response.
    const after = await scrape(app);
    assert.match(after, /^# TYPE libvirt_exporter_scrapes_total counter$/m);
    assert.doesNotMatch(after, /^# TYPE libvirt_exporter_scrapes counter$/m);
    const gz = await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
  });

  test('collect[] and exclude[] choose collectors; an unknown name is a 400', async () => {
    const only = parseExposition(await scrape(app, '/metrics?collect[]=cpu'));
    assert.ok(only.has('libvirt_domain_info_cpu_time_seconds_total'));
    assert.ok(!only.has('libvirt_domain_block_stats_read_bytes_total'));
    const without = parseExposition(await scrape(app, '/metrics?exclude[]=block'));
    assert.ok(!without.has('libvirt_domain_block_stats_read_bytes_total'));
    assert.ok(without.has('libvirt_domain_vcpu_time_seconds_total'));
    const bad = await app.inject({ url: '/metrics?collect[]=nics' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /^unknown collector \(known: /);
    assert.ok(!bad.body.includes('nics'), 'the request text is not reflected');
  });
});

// Issue 15 item 14: no label value of the lab recording needs escaping, so the golden file alone would
// not notice a broken escape. Nova names are free text chosen by users: quote, backslash and line feed.
describe('label values that need escaping', () => {
  const NAME = 'web "blue" C:\\new\nline 2';
  let body: string;
  before(async () => {
    const rec = loadRecording();
    const uuid = rec.domains.find((d) => d.name === 'instance-00000004')!.uuid;
    const xml = rec.xml[uuid]!;
    assert.ok(xml.includes('<nova:name>ci-runner-1</nova:name>'));
    rec.xml[uuid] = xml.replace(
      '<nova:name>ci-runner-1</nova:name>',
      '<nova:name>web &quot;blue&quot; C:\\new&#10;line 2</nova:name>',
    );
    const app = await buildApp({
      config: loadConfig(undefined),
      inspector: new LibvirtInspector({ client: fixtureClient(rec) }),
      logger: pino({ level: 'silent' }),
    });
    body = await scrape(app);
    await app.close();
  });

  test('are written escaped as the text format says (backslash first, then quote and line feed)', () => {
    const line = body
      .split('\n')
      .find((l) => l.startsWith('libvirt_domain_openstack_info{domain="instance-00000004"'));
    assert.ok(line !== undefined);
    assert.ok(line.includes('instance_name="web \\"blue\\" C:\\\\new\\nline 2"'), line);
  });

  test('read back unchanged by a parser, and promtool accepts the exposition', () => {
    const f = parseExposition(body).get('libvirt_domain_openstack_info');
    const sample = f?.samples.find((s) => s.labels['domain'] === 'instance-00000004');
    assert.equal(sample?.labels['instance_name'], NAME);
    assert.equal(sample.labels['flavor_name'], 'ci.small', 'the labels after it are intact');
    execFileSync('promtool', ['check', 'metrics'], {
      input: body
        .split('\n')
        .filter((l) => l.includes('openstack_info'))
        .map((l) => `${l}\n`)
        .join(''),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  });
});

test('docs/metrics.md lists what the exporter serves and is up to date', async () => {
  const committed = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
  assert.equal(
    committed,
    await renderMetricsDocs(),
    'run: node --import tsx test/tools/metrics-docs.ts --write',
  );
});
