// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The `--help` text, generated from the flag table.
 */
import { FLAGS, SECTIONS } from './flag-table.ts';

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line !== '' && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '') lines.push(line);
  return lines.join(`\n${indent}`);
}

/** The help text, generated from {@link FLAGS}. */
export function usage(): string {
  const col = 40;
  const out: string[] = [
    'usage: libvirt-exporter [inspect] [flags]',
    '',
    'Prometheus exporter for the libvirt guests of this host (and Ceilometer samples over AMQP).',
    '',
    'commands:',
    `  ${'(none)'.padEnd(col - 2)}serve the metrics`,
    `  ${'inspect'.padEnd(col - 2)}print a table of the local guests and exit`,
  ];
  for (const [section, title] of Object.entries(SECTIONS)) {
    const flags = FLAGS.filter((f) => f.section === section && f.hidden !== true);
    if (flags.length === 0) continue;
    out.push('', `${title}:`);
    for (const f of flags) {
      const names = `${f.short !== undefined ? `-${f.short}, ` : ''}--${f.name}${f.value !== undefined ? `=${f.value}` : ''}`;
      let help = f.help;
      if (f.default !== undefined) help += ` (default ${f.default})`;
      if (f.kind === 'boolean' && section !== 'general') help += `; --no-${f.name} turns it off`;
      const left = `  ${names}`;
      const pad = left.length + 2 > col ? `\n${' '.repeat(col)}` : ' '.repeat(col - left.length);
      out.push(`${left}${pad}${wrap(help, 100 - col, ' '.repeat(col))}`);
    }
  }
  return `${out.join('\n')}\n`;
}
