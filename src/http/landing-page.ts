// SPDX-License-Identifier: Apache-2.0
/** The landing page at `/`: name, version, libvirt URI, collectors and links. Also the cheap probe target. */
import type { Config } from '../config/schema.ts';
import { COLLECTOR_NAMES } from '../config/schema.ts';
import { version } from '../version.ts';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Strips credentials from a URI before it is shown. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^@/]*)@/, '//<secret>@');
}

/**
 * The publisher's status without where it connects: the landing page is served to anyone who can
 * reach the port, and broker hosts and the AMQP user are for the log (issue 15, item 3).
 */
function publicStatus(status: object): object {
  return Object.fromEntries(Object.entries(status).filter(([k]) => k !== 'broker'));
}

/** Renders the landing page. */
export function landingPage(config: Config, extra: { publisher?: object } = {}): string {
  const rows = COLLECTOR_NAMES.map(
    (n) => `<tr><td>${esc(n)}</td><td>${config.collectors[n].enabled ? 'enabled' : 'disabled'}</td></tr>`,
  ).join('\n');
  const path = esc(config.web.telemetry_path);
  const publisher =
    extra.publisher === undefined
      ? ''
      : `<h2>Ceilometer publisher</h2><pre>${esc(JSON.stringify(publicStatus(extra.publisher), null, 2))}</pre>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>libvirt exporter</title>
<style>body{font-family:sans-serif;max-width:48em;margin:2em auto}td{padding:0 1em}</style></head>
<body>
<h1>libvirt exporter</h1>
<p>Prometheus exporter for the libvirt guests of this host. Version ${esc(version.version)} (revision ${esc(version.revision)}, Node.js ${esc(version.nodejsVersion)}).</p>
<p>libvirt URI: <code>${esc(redactUri(config.libvirt.uri))}</code>${config.libvirt.read_only ? ' (read-only)' : ''}</p>
<ul>
<li><a href="${path}">${path}</a>: metrics (<code>?collect[]=NAME</code> or <code>?exclude[]=NAME</code> to choose collectors)</li>
<li><a href="/-/healthy">/-/healthy</a>: the process is up</li>
<li><a href="/-/ready">/-/ready</a>: libvirt has answered</li>
</ul>
<h2>Collectors</h2>
<table>
${rows}
</table>
${publisher}
</body></html>
`;
}
