// SPDX-License-Identifier: Apache-2.0
// The metric sink: a series written once whatever path writes it, and the response body encoded from
// pieces as the joined text would be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Registry } from 'prom-client';
import { ExpositionWriter } from '../../../src/scrape/exposition-writer.ts';
import {
  MetricSink,
  renderRegistry,
  renderResponse,
  type FamilySpec,
} from '../../../src/scrape/metric-sink.ts';

const BYTES: FamilySpec = {
  name: 'x_bytes_total',
  help: 'Bytes … and more.',
  type: 'counter',
  labelNames: ['domain'],
};
const VDA = '{domain="a"}';
const VDB = '{domain="b"}';

test('addDistinct writes in order; a later checked write of the same labels is ignored', () => {
  const sink = new MetricSink();
  sink.addDistinct(BYTES, VDA, 1);
  sink.addDistinct(BYTES, VDB, 2);
  sink.addText(BYTES, VDA, 3);
  sink.add(BYTES, { domain: 'b' }, 4);
  sink.addDistinct(BYTES, '{domain="c"}', Number.NaN);
  assert.equal(
    sink.render('prometheus'),
    '# HELP x_bytes_total Bytes … and more.\n# TYPE x_bytes_total counter\n' +
      'x_bytes_total{domain="a"} 1\nx_bytes_total{domain="b"} 2\n',
  );
});

test('addDistinct after a checked write still refuses a repeated label set', () => {
  const sink = new MetricSink();
  sink.addText(BYTES, VDA, 1);
  sink.addDistinct(BYTES, VDA, 2);
  sink.addDistinct(BYTES, VDB, 3);
  sink.addText(BYTES, VDB, 4);
  assert.equal(
    sink.render('prometheus').split('\n').slice(2).join('\n'),
    ['x_bytes_total{domain="a"} 1', 'x_bytes_total{domain="b"} 3', ''].join('\n'),
  );
});

test('merge keeps the first sample of a label set, whichever path wrote it', () => {
  const first = new MetricSink();
  first.addDistinct(BYTES, VDA, 1);
  const second = new MetricSink();
  second.addDistinct(BYTES, VDA, 9);
  second.addDistinct(BYTES, VDB, 2);
  first.merge(second);
  assert.equal(
    first.render('openmetrics'),
    [
      '# HELP x_bytes Bytes … and more.',
      '# TYPE x_bytes counter',
      'x_bytes_total{domain="a"} 1',
      'x_bytes_total{domain="b"} 2',
      '',
    ].join('\n'),
  );
});

test('a family starts at its size in the last rendered sink and renders only what this sink wrote', () => {
  const big: FamilySpec = { ...BYTES, name: 'sized_bytes_total' };
  const lines = (n: number): string[] =>
    Array.from({ length: n }, (_, i) => `sized_bytes_total{domain="d${i}"} ${i}`);
  const head = ['# HELP sized_bytes_total Bytes … and more.', '# TYPE sized_bytes_total counter'];
  const write = (n: number, how: 'distinct' | 'checked' | 'merged'): string => {
    const sink = new MetricSink();
    const into = how === 'merged' ? new MetricSink() : sink;
    if (how === 'merged') sink.addText(big, '{domain="d0"}', 0);
    for (let i = 0; i < n; i++) {
      if (how === 'distinct') into.addDistinct(big, `{domain="d${i}"}`, i);
      else into.addText(big, `{domain="d${i}"}`, i);
    }
    if (how === 'merged') sink.merge(into);
    return sink.render('prometheus');
  };
  // 50 samples make the next sink start at 50: fewer leave no holes, more grow past it, and the
  // checked path and a merge see only the samples written.
  for (const [n, how] of [
    [50, 'distinct'],
    [3, 'distinct'],
    [80, 'checked'],
    [2, 'checked'],
    [60, 'merged'],
    [1, 'merged'],
    [0, 'distinct'],
  ] as const) {
    const expected = n === 0 ? '' : [...head, ...lines(Math.max(n, how === 'merged' ? 1 : 0)), ''].join('\n');
    assert.equal(write(n, how), expected, `${n} ${how}`);
  }
});

test('a released sink hands its arrays to the next sink of the same family, never to two sinks at once', () => {
  const spec: FamilySpec = { ...BYTES, name: 'kept_bytes_total' };
  const body = (sink: MetricSink): string => sink.render('prometheus').split('\n').slice(2).join('\n');
  const first = new MetricSink();
  for (let i = 0; i < 40; i++) first.addDistinct(spec, `{domain="d${i}"}`, i + 0.5);
  assert.equal(body(first).split('\n').length, 41);
  first.release();
  assert.equal(first.render('prometheus'), '', 'a released sink is empty');
  // Two sinks alive at once (concurrent scrapes): one takes the kept arrays, the other makes its own,
  // and neither sees the other's samples or the first sink's tail.
  const a = new MetricSink();
  const b = new MetricSink();
  a.addDistinct(spec, VDA, 1);
  b.addDistinct(spec, VDB, 2);
  a.addText(spec, VDB, 3);
  b.addText(spec, VDB, 4);
  assert.equal(body(a), 'kept_bytes_total{domain="a"} 1\nkept_bytes_total{domain="b"} 3\n');
  assert.equal(body(b), 'kept_bytes_total{domain="b"} 2\n');
  a.release();
  b.release();
  const next = new MetricSink();
  next.addText(spec, VDA, 7);
  next.addText(spec, VDA, 8);
  assert.equal(
    body(next),
    'kept_bytes_total{domain="a"} 7\n',
    'a reused family starts empty, with no set of texts',
  );
});

test('ExpositionWriter.text gives the UTF-8 bytes of the joined pieces, non-ASCII included', () => {
  const parts = ['# HELP a µs …\n', 'a{name="ä😀"} 1\n', '', 'b 2\n'];
  const out = new ExpositionWriter(parts.reduce((n, p) => n + p.length, 0));
  for (const p of parts) out.text(p);
  assert.deepEqual(out.finish(), Buffer.from(parts.join(''), 'utf8'));
});

test('renderResponse: registries in turn as one merged registry, the sink, then # EOF', async () => {
  const a = new Registry();
  const b = new Registry();
  new Gauge({ name: 'own_info', help: 'Info.', labelNames: ['v'], registers: [a] }).set({ v: '1' }, 1);
  new Counter({ name: 'own_total', help: 'Count.', registers: [b] }).inc(3);
  const sink = new MetricSink();
  sink.addDistinct(BYTES, VDA, 5);
  for (const format of ['prometheus', 'openmetrics'] as const) {
    const merged = await renderRegistry(Registry.merge([a, b]), format);
    const want = `${merged}${sink.render(format)}${format === 'openmetrics' ? '# EOF\n' : ''}`;
    const got = await renderResponse([a, b], sink, format);
    assert.equal(got.toString('utf8'), want, format);
    assert.match(want, /^# HELP own_info Info\.\n# TYPE own_info gauge\nown_info\{v="1"\} 1\n/);
  }
  assert.equal(
    (await renderResponse(a, sink, 'prometheus')).toString(),
    `${await renderRegistry(a, 'prometheus')}${sink.render('prometheus')}`,
  );
});

test('renderResponse: UTF-8 label values past the ASCII size bound, in both formats', async () => {
  const sink = new MetricSink();
  const names = ['ä', '😀', 'µs…', '\u00ff', 'plain'];
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const domain = `${names[i % 5] ?? ''}${i}`;
    sink.add(BYTES, { domain }, i * 1e6);
    lines.push(`{domain="${domain}"} ${String(i * 1e6)}\n`);
  }
  const registry = new Registry();
  for (const format of ['prometheus', 'openmetrics'] as const) {
    const family = format === 'openmetrics' ? 'x_bytes' : 'x_bytes_total';
    const head = `# HELP ${family} Bytes … and more.\n# TYPE ${family} counter\n`;
    const text = head + lines.map((l) => `x_bytes_total${l}`).join('');
    assert.equal(sink.render(format), text, format);
    const want = Buffer.from(`${text}${format === 'openmetrics' ? '# EOF\n' : ''}`, 'utf8');
    assert.deepEqual(await renderResponse(registry, sink, format), want, format);
    assert.ok(sink.byteBound() < want.length, 'the bound assumed ASCII: the writer grew');
  }
});
