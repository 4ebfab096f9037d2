// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

import {
  fnmatch,
  groupByInterval,
  loadPollingFile,
  parsePollingConfig,
  PollingConfigError,
  supportsMeter,
} from '../../../src/publisher/polling.ts';
import { computeMeters } from '../../../src/ceilometer/meters.ts';
import { parseRelease } from '../../../src/ceilometer/release.ts';

const fixturePath = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/ceilometer/${name}`, import.meta.url));
const known = computeMeters(parseRelease('19.0.0'), 'MB').map((m) => m.name);

describe('real polling files', () => {
  test("Debian 12's /etc/ceilometer/polling.yaml", async () => {
    const cfg = await loadPollingFile(fixturePath('polling-debian.yaml'));
    assert.equal(cfg.sources.length, 1);
    assert.equal(cfg.sources[0]?.name, 'some_pollsters');
    assert.equal(cfg.sources[0].interval, 300);
    const groups = groupByInterval(cfg, known);
    assert.equal(groups.length, 1);
    // The stale hardware.* names match nothing; cpu_l3_cache and memory.usage are known meters.
    assert.deepEqual(groups[0]?.meters, [
      'cpu',
      'memory.usage',
      'cpu_l3_cache',
      'disk.device.read.requests',
      'disk.device.read.bytes',
      'disk.device.write.requests',
      'disk.device.write.bytes',
      'network.incoming.bytes',
      'network.incoming.packets',
      'network.outgoing.bytes',
      'network.outgoing.packets',
    ]);
  });

  test('polling_all.yaml selects every meter', async () => {
    const cfg = await loadPollingFile(fixturePath('polling-all.yaml'));
    assert.deepEqual(groupByInterval(cfg, known)[0]?.meters, known);
  });

  test('unreadable or invalid files name the file', async () => {
    await assert.rejects(
      loadPollingFile('/nonexistent/polling.yaml'),
      /cannot read polling file \/nonexistent\/polling.yaml/,
    );
    await assert.rejects(
      loadPollingFile(fixturePath('README.md')),
      (err: Error) => err instanceof PollingConfigError && err.message.includes('README.md'),
    );
  });
});

describe('validation as PollingSource / Source.check_source_filtering', () => {
  const bad: [unknown, RegExp][] = [
    [{}, /sources required/],
    [{ sources: [{ interval: 60, meters: ['cpu'] }] }, /Required field name not specified/],
    [{ sources: [{ name: 's1', meters: ['cpu'] }] }, /source 's1': Missing interval value/],
    [{ sources: [{ name: 's1', interval: 60 }] }, /source 's1': Missing meters value/],
    [
      { sources: [{ name: 's1', interval: 'often', meters: ['cpu'] }] },
      /source 's1': Invalid interval value/,
    ],
    [{ sources: [{ name: 's1', interval: 0, meters: ['cpu'] }] }, /source 's1': Interval value should > 0/],
    [{ sources: [{ name: 's1', interval: 60, meters: [] }] }, /source 's1': No meters specified/],
    [
      { sources: [{ name: 'mix', interval: 60, meters: ['cpu', '!memory.usage'] }] },
      /source 'mix': Both included and excluded meters specified/,
    ],
    [
      { sources: [{ name: 'wild', interval: 60, meters: ['*', 'cpu'] }] },
      /source 'wild': Included meters specified with wildcard/,
    ],
    [
      { sources: [{ name: 's1', interval: 60, meters: ['cpu'], resources: 'x' }] },
      /Resources should be a list/,
    ],
    [
      { sources: [{ name: 's1', interval: 60, meters: ['cpu'], discovery: 'x' }] },
      /Discovery should be a list/,
    ],
    [
      {
        sources: [
          { name: 'dup', interval: 60, meters: ['cpu'] },
          { name: 'dup', interval: 30, meters: ['cpu'] },
        ],
      },
      /'dup' is defined twice/,
    ],
  ];
  for (const [doc, re] of bad) {
    test(`refuses ${JSON.stringify(doc)}`, () => {
      assert.throws(
        () => parsePollingConfig(doc, 'polling.yaml'),
        (err: Error) =>
          err instanceof PollingConfigError && re.test(err.message) && err.message.startsWith('polling.yaml'),
      );
    });
  }

  test('accepts what the real agent accepts', () => {
    const ok = parsePollingConfig({
      sources: [
        { name: 'a', interval: '60', meters: ['*', '!cpu'] },
        { name: 'b', interval: 30.9, meters: ['!disk.*', '!network.*'] },
        // '*.bytes' starts with '*', so the real check does not count it as "included".
        {
          name: 'c',
          interval: 300,
          meters: ['*.bytes', '!disk.device.read.bytes'],
          resources: ['x'],
          discovery: ['local_instances'],
        },
      ],
    });
    assert.deepEqual(
      ok.sources.map((s) => s.interval),
      [60, 30, 300],
    );
  });
});

describe('meter matching', () => {
  test('fnmatch semantics', () => {
    assert.ok(fnmatch('disk.device.read.bytes', 'disk.device.*'));
    assert.ok(!fnmatch('diskXdevice', 'disk.device*'));
    assert.ok(fnmatch('cpu', 'c?u'));
    assert.ok(fnmatch('cpu', 'c[op]u'));
    assert.ok(!fnmatch('cpu', 'c[!p]u'));
    assert.ok(fnmatch('a[b', 'a[b'));
    assert.ok(!fnmatch('CPU', 'cpu'));
  });

  test('excludes first, includes next, only-excludes means everything else', () => {
    assert.equal(supportsMeter(['*', '!cpu'], 'cpu'), false);
    assert.equal(supportsMeter(['*', '!cpu'], 'memory.usage'), true);
    assert.equal(supportsMeter(['!disk.*'], 'cpu'), true);
    assert.equal(supportsMeter(['!disk.*'], 'disk.device.read.bytes'), false);
    assert.equal(supportsMeter(['cpu', 'disk.*'], 'memory.usage'), false);
    assert.equal(supportsMeter(['*.bytes', '!disk.device.read.bytes'], 'network.incoming.bytes'), true);
    assert.equal(supportsMeter(['*.bytes', '!disk.device.read.bytes'], 'disk.device.read.bytes'), false);
  });

  test('one group per interval; a meter of two sources with one interval is polled once', () => {
    const cfg = parsePollingConfig({
      sources: [
        { name: 'cpu-fast', interval: 60, meters: ['cpu', 'memory.*'] },
        { name: 'cpu-again', interval: 60, meters: ['cpu'] },
        { name: 'disks', interval: 600, meters: ['disk.device.*', 'cpu'] },
        { name: 'nothing', interval: 5, meters: ['hardware.*'] },
      ],
    });
    const groups = groupByInterval(cfg, known);
    assert.deepEqual(
      groups.map((g) => [g.interval, g.sources]),
      [
        [60, ['cpu-fast', 'cpu-again']],
        [600, ['disks']],
      ],
    );
    assert.equal(groups[0]?.meters.filter((m) => m === 'cpu').length, 1);
    assert.ok(groups[1]?.meters.includes('cpu'));
  });
});
