// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config/load.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import type { Inspection, Inspector, Instance } from '../../../src/inspector/types.ts';
import { collectorRegistry as registry } from '../../../src/collectors/index.ts';
import { runScrape } from '../../../src/scrape/scraper.ts';
import { LabelTextCache } from '../../../src/scrape/label-texts.ts';
import { fixtureClient } from '../../helpers/fixture-client.ts';
import { parseExposition } from '../../helpers/exposition.ts';

const log = pino({ level: 'silent' });

/** An inspector that serves a given inspection (the real one, changed between scrapes). */
function serving(inspection: Inspection): Inspector {
  return {
    inspectAll: () => Promise.resolve(inspection),
    listInstances: () => Promise.resolve(inspection.instances),
    hostInfo: () => Promise.reject(new Error('not used')),
    connected: true,
    close: () => Promise.resolve(),
  };
}

async function scrape(inspection: Inspection, overrides: Record<string, unknown> = {}) {
  const sink = await runScrape({
    inspector: serving(inspection),
    config: loadConfig(undefined, overrides),
    log,
    registry,
    collectors: ['domain', 'block', 'openstack'],
    // A signal that never aborts: a 5 s real deadline here made the result depend on the machine's load.
    signal: new AbortController().signal,
  });
  return parseExposition(sink.render('prometheus'));
}

const domainsOf = (f: ReturnType<typeof parseExposition>, family: string): string[] =>
  (f.get(family)?.samples ?? []).map((s) => s.labels['domain'] ?? '').sort();

// Label texts are cached across scrapes per domain description: a rename, a new description (the XML
// read again) or other identity labels must show in the very next scrape.
test('cached label texts follow a rename, a new description and the identity labels', async () => {
  const inspector = new LibvirtInspector({ client: fixtureClient() });
  const real = await inspector.inspectAll({});
  const target = real.instances.find((i) => i.id > 0 && i.disks.length > 0 && i.nova !== undefined)!;
  assert.ok(target, 'a running recorded guest with disks and Nova metadata');
  const replace = (i: Instance): Inspection => ({
    ...real,
    instances: real.instances.map((x) => (x.uuid === i.uuid ? i : x)),
  });

  const first = await scrape(real);
  assert.ok(domainsOf(first, 'libvirt_domain_block_stats_read_bytes_total').includes(target.name));

  // Renamed (the same description object otherwise, as a balloon event leaves it).
  const renamed = await scrape(replace({ ...target, name: 'renamed-guest' }));
  for (const family of [
    'libvirt_domain_block_stats_read_bytes_total',
    'libvirt_domain_block_stats_info',
    'libvirt_domain_info',
    'libvirt_domain_openstack_info',
  ]) {
    const d = domainsOf(renamed, family);
    assert.ok(d.includes('renamed-guest'), family);
    assert.ok(!d.includes(target.name), family);
  }

  // A new description (XML read again): its disks' labels are rendered again.
  const disks = target.disks.map((d) => ({ ...d, serial: 'new-serial' }));
  const redescribed = await scrape(replace({ ...target, disks, osArch: 'aarch64' }));
  const info = redescribed
    .get('libvirt_domain_block_stats_info')!
    .samples.filter((s) => s.labels['domain'] === target.name);
  assert.ok(info.length > 0 && info.every((s) => s.labels['serial'] === 'new-serial'));
  const os = redescribed.get('libvirt_domain_info')!.samples.find((s) => s.labels['domain'] === target.name);
  assert.equal(os?.labels['os_type_arch'], 'aarch64');

  // Identity labels on every series: a different configuration, a different rendering.
  const withProject = await scrape(real, { metrics: { identity_labels: ['project_id'] } });
  const s = withProject
    .get('libvirt_domain_block_stats_read_bytes_total')!
    .samples.find((x) => x.labels['domain'] === target.name);
  assert.equal(s?.labels['project_id'], target.nova?.projectId);
  const without = await scrape(real);
  const t = without
    .get('libvirt_domain_block_stats_read_bytes_total')!
    .samples.find((x) => x.labels['domain'] === target.name);
  assert.equal(t?.labels['project_id'], undefined);
  await inspector.close();
});

// The cache behind ctx.textsOf (src/scrape/label-texts.ts): bounded by the last
// inspection's domains, and new texts whenever the description, the name or the identity labels change.
test('LabelTextCache: drops vanished domains and renews a changed domain', () => {
  const base = { disks: [], vnics: [], nova: undefined, name: 'a' };
  const a = { ...base, uuid: 'u-a' } as unknown as Instance;
  const b = { ...base, uuid: 'u-b', name: 'b' } as unknown as Instance;
  const cache = new LabelTextCache();
  const ta = cache.of(a, '');
  ta.plain = '{domain="a"}';
  ta.vcpu[0] = '{domain="a",vcpu="0"}';
  cache.of(b, '');
  assert.equal(cache.size, 2);
  // The same description again: the same texts.
  assert.equal(cache.of(a, ''), ta);
  assert.equal(cache.of(a, '').plain, '{domain="a"}');
  // A guest that vanished from the inspection leaves nothing behind.
  cache.retain(new Map([[a.uuid, a]]));
  assert.equal(cache.size, 1);
  // Each of the inputs of a text renews the domain's texts: name, disks, vNICs, Nova metadata, identity.
  const changed: Instance[] = [
    { ...a, name: 'renamed' },
    { ...a, disks: [] },
    { ...a, vnics: [] },
    { ...a, nova: { displayName: 'x' } } as unknown as Instance,
  ];
  for (const i of changed) {
    // Each change on its own, against texts made for `a` as it was.
    const before = cache.of(a, '');
    before.plain = '{domain="a"}';
    const t = cache.of(i, '');
    assert.notEqual(t, before);
    assert.equal(t.plain, undefined);
    assert.equal(t.vcpu.length, 0);
  }
  const last = changed[changed.length - 1]!;
  assert.notEqual(cache.of(last, 'project_id'), cache.of(last, ''));
  assert.equal(cache.size, 1);
  cache.retain(new Map());
  assert.equal(cache.size, 0);
});
