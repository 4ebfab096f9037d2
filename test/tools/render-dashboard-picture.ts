// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Draws the main panels of the compute node dashboard from real data, for the README (there is no
 * Grafana server on these machines): starts the exporter over the lab's guests and a Prometheus
 * scraping it every second, lets a few minutes of data accumulate, runs the panels' own queries
 * (from dashboards/libvirt-compute-node.json, variables resolved to this node) and plots them with
 * uPlot (Grafana's own charting library) in headless Chromium, which writes the PNG.
 *
 *   node --import tsx test/tools/render-dashboard-picture.ts [--duration=SECONDS] [--out=docs/dashboards.png]
 *
 * Needs root for `test/lab/lab.sh up` and for installing Debian's chromium when it is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startExporter } from '../helpers/exporter.ts';
import { startPrometheus, waitForSeries } from '../helpers/prometheus.ts';
import { interpolate, panelQueries, panelsOf, readDashboard } from '../unit/dashboards/promql.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const arg = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const DURATION_S = Number(arg('duration', '180'));
const OUT = join(ROOT, arg('out', 'docs/dashboards.png'));
const STEP_S = 2;
/** Most series drawn per graph. */
const MAX_SERIES = 8;
/** Grafana's $__rate_interval for a 1 s scrape at this panel width and range. */
const RATE_INTERVAL = '10s';

/** Panels drawn, by type and title, in reading order. */
const STATS = [
  'libvirt',
  'Guests by state',
  'Host CPUs',
  'vCPU overcommit',
  'Host memory',
  'Memory overcommit',
  'Failing collectors',
];
const GRAPHS = [
  'vCPUs against host CPUs',
  'Memory against host memory',
  'Top guests by CPU (host cores)',
  'Top guests by steal',
  'Top disks by latency',
  'Top guests by disk I/O',
  'Top guests by network traffic',
  'Top guests by host memory',
  'Guests by state',
];

function log(msg: string): void {
  process.stderr.write(`render-dashboard-picture: ${msg}\n`);
}

function chromium(): string {
  const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  log('installing Debian chromium');
  execFileSync(
    'apt-get',
    ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-q', '--no-install-recommends', 'chromium'],
    { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
  );
  return 'chromium';
}

/** Legend text from a Grafana legend template and a series' labels. */
function legend(template: string | undefined, labels: Record<string, string>): string {
  if (!template)
    return (
      Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || 'value'
    );
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, k: string) => labels[k] ?? '');
}

interface PanelData {
  title: string;
  unit: string;
  series: { name: string; values: (number | null)[] }[];
}

async function main(): Promise<void> {
  const browser = chromium();
  execFileSync('bash', [join(ROOT, 'test/lab/lab.sh'), 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exporter = await startExporter(['--log.level=warn']);
  const prom = await startPrometheus({
    jobs: [{ jobName: 'libvirt', targets: [`127.0.0.1:${exporter.port}`] }],
    scrapeInterval: '1s',
  });
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-picture-'));
  try {
    await waitForSeries(prom, 'libvirt_up == 1');
    log(`collecting ${DURATION_S} s of data`);
    await new Promise((r) => setTimeout(r, DURATION_S * 1000));

    const d = readDashboard('dashboards/libvirt-compute-node.json');
    const values = { cluster: '.*', job: '.+', node: `127.0.0.1:${exporter.port}`, datasource: 'prometheus' };
    const end = Math.floor(Date.now() / 1000);
    const start = end - DURATION_S + 15;
    const times: number[] = [];
    for (let t = start; t <= end; t += STEP_S) times.push(t);
    const panels = panelsOf(d) as {
      type?: string;
      title?: string;
      fieldConfig?: { defaults?: { unit?: string } };
      targets?: { legendFormat?: string }[];
    }[];
    const queries = panelQueries(d);

    const stats: { title: string; unit: string; items: { name: string; value: number }[] }[] = [];
    for (const title of STATS) {
      const p = panels.find((x) => x.type === 'stat' && x.title === title);
      if (!p) throw new Error(`no stat panel ${title}`);
      const items: { name: string; value: number }[] = [];
      for (const [i, q] of queries.filter((x) => x.panel === title && x.panelType === 'stat').entries()) {
        for (const s of await prom.query(interpolate(q.expr, values, RATE_INTERVAL))) {
          items.push({
            name: legend(p.targets?.[i]?.legendFormat, s.metric),
            value: Number(s.values[0]?.[1]),
          });
        }
      }
      stats.push({ title, unit: p.fieldConfig?.defaults?.unit ?? '', items });
    }

    const graphs: PanelData[] = [];
    let points = 0;
    for (const title of GRAPHS) {
      const p = panels.find((x) => x.type === 'timeseries' && x.title === title);
      if (!p) throw new Error(`no time series panel ${title}`);
      const series: PanelData['series'] = [];
      for (const [i, q] of queries
        .filter((x) => x.panel === title && x.panelType === 'timeseries')
        .entries()) {
        for (const s of await prom.queryRange(
          interpolate(q.expr, values, RATE_INTERVAL),
          start,
          end,
          STEP_S,
        )) {
          const byTime = new Map(s.values.map(([t, v]) => [Math.round(t), Number(v)]));
          const vals = times.map((t) => {
            const v = byTime.get(t);
            return v === undefined || !Number.isFinite(v) ? null : v;
          });
          points += vals.filter((v) => v !== null).length;
          series.push({ name: legend(p.targets?.[i]?.legendFormat, s.metric), values: vals });
        }
      }
      if (series.length === 0) throw new Error(`panel ${title} has no data`);
      // topk() picks its ten per step, so a busy node gives many series over minutes: like a legend
      // limit, draw the ones with the highest mean.
      const mean = (v: (number | null)[]): number =>
        v.reduce<number>((a, x) => a + (x ?? 0), 0) / Math.max(1, v.filter((x) => x !== null).length);
      const shown = [...series].sort((a, b) => mean(b.values) - mean(a.values)).slice(0, MAX_SERIES);
      graphs.push({
        title: series.length > MAX_SERIES ? `${title} · top ${MAX_SERIES} of ${series.length} series` : title,
        unit: p.fieldConfig?.defaults?.unit ?? '',
        series: shown,
      });
    }
    log(
      `${graphs.length} graphs, ${graphs.reduce((n, g) => n + g.series.length, 0)} series, ${points} points; ${stats.length} stats`,
    );

    const html = join(dir, 'picture.html');
    writeFileSync(
      html,
      page({ times, stats, graphs, node: values.node, minutes: Math.round((end - start) / 60) }),
    );
    const r = spawnSync(
      browser,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--hide-scrollbars',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--window-size=1600,1130',
        '--virtual-time-budget=10000',
        `--screenshot=${OUT}`,
        `file://${html}`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (r.status !== 0 || !existsSync(OUT)) throw new Error(`chromium failed (${r.status}):\n${r.stderr}`);
    log(`wrote ${OUT}`);
  } finally {
    await prom.stop();
    await exporter.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The HTML page: a dark, Grafana-like grid of stat tiles and uPlot charts, data inline. */
function page(data: {
  times: number[];
  stats: { title: string; unit: string; items: { name: string; value: number }[] }[];
  graphs: PanelData[];
  node: string;
  minutes: number;
}): string {
  const uplot = readFileSync(join(ROOT, 'node_modules/uplot/dist/uPlot.iife.min.js'), 'utf8');
  const css = readFileSync(join(ROOT, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8');
  return `<!doctype html><html><head><meta charset="utf-8"><style>${css}
body{margin:0;padding:12px 14px;background:#111217;color:#ccccdc;font:13px Inter,Helvetica,Arial,sans-serif}
h1{font-size:17px;font-weight:500;margin:0 0 10px}h1 span{color:#8e8e9e;font-weight:400;font-size:13px;margin-left:10px}
.stats{display:grid;grid-template-columns:repeat(7,1fr);gap:8px;margin-bottom:8px}
.panel{background:#181b1f;border:1px solid #2c2e33;border-radius:3px;padding:6px 8px}
.title{font-weight:500;margin-bottom:4px;color:#d8d9da}.big{font-size:26px;font-weight:500;color:#73bf69}
.small{font-size:15px;color:#d8d9da}.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:8px}
.u-legend{font-size:11px;text-align:left}.u-legend .u-marker{width:10px;height:3px}.u-legend th{font-weight:400}
.u-legend tr{margin-right:8px}</style></head><body>
<h1>libvirt / Compute node<span>${data.node} · lab guests · last ${data.minutes} min · real exporter → Prometheus (1 s scrapes)</span></h1>
<div class="stats" id="stats"></div><div class="grid" id="graphs"></div>
<script>${uplot}</script><script>
const data = ${JSON.stringify(data)};
const palette = ['#73bf69','#f2cc0c','#8ab8ff','#ff780a','#f2495c','#5794f2','#b877d9','#705da0','#37872d','#fade2a'];
function fmt(unit, v) {
  if (v == null || !isFinite(v)) return '–';
  const si = (x, units, base) => { let i = 0; while (Math.abs(x) >= base && i < units.length - 1) { x /= base; i++; } return (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)) + ' ' + units[i]; };
  switch (unit) {
    case 'bytes': return si(v, ['B','KiB','MiB','GiB','TiB'], 1024);
    case 'Bps': return si(v, ['B/s','KiB/s','MiB/s','GiB/s'], 1024);
    case 'percentunit': return (v * 100).toFixed(Math.abs(v) < 0.1 ? 1 : 0) + '%';
    case 's': return Math.abs(v) < 1 ? (v * 1000).toFixed(v < 0.01 ? 2 : 1) + ' ms' : v.toFixed(2) + ' s';
    case 'pps': return v.toFixed(2) + ' p/s';
    case 'suffix:×': return v.toFixed(2) + '×';
    default: return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : Number(v.toFixed(3)).toString();
  }
}
for (const s of data.stats) {
  const el = document.createElement('div'); el.className = 'panel';
  const mapped = s.title === 'libvirt' ? s.items.map(i => ({ name: '', value: i.value === 1 ? 'UP' : 'DOWN' })) : s.items.map(i => ({ name: i.name === 'value' ? '' : i.name, value: fmt(s.unit, i.value) }));
  el.innerHTML = '<div class="title">' + s.title + '</div>' + (mapped.length > 1
    ? mapped.map(i => '<div class="small">' + i.name + ' <b>' + i.value + '</b></div>').join('')
    : '<div class="big">' + (mapped[0] ? mapped[0].value : '–') + '</div>');
  document.getElementById('stats').appendChild(el);
}
for (const g of data.graphs) {
  const el = document.createElement('div'); el.className = 'panel';
  el.innerHTML = '<div class="title">' + g.title + '</div>';
  document.getElementById('graphs').appendChild(el);
  const series = [{}].concat(g.series.map((s, i) => ({ label: s.name, stroke: palette[i % palette.length], width: 1.5, fill: palette[i % palette.length] + '1a', value: (u, v) => fmt(g.unit, v), points: { show: false } })));
  const axis = { stroke: '#8e8e9e', grid: { stroke: '#2c2e33', width: 1 }, ticks: { stroke: '#2c2e33' }, font: '11px Helvetica' };
  new uPlot({ width: 505, height: 215, series, legend: { live: false },
    cursor: { show: false }, scales: { x: { time: true } },
    axes: [ { ...axis }, { ...axis, size: 74, values: (u, vals) => vals.map(v => fmt(g.unit, v)) } ] },
    [data.times].concat(g.series.map(s => s.values)), el);
}
</script></body></html>`;
}

await main();
