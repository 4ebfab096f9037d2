// SPDX-License-Identifier: Apache-2.0
/**
 * Renders docs/configuration.md from the configuration schema (src/config/schema.ts), in the Prometheus
 * exporter-toolkit notation. `node --import tsx scripts/config-docs.ts --write` rewrites the file; a unit
 * test fails when the committed file differs from what the schema gives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../src/config/schema.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
}

function typeName(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return s.anyOf.map(typeName).join(' | ');
  if (s.type === 'array') return `[ ${s.items ? typeName(s.items) : 'any'}, ... ]`;
  if (s.type === 'object' && !s.properties) return '<mapping>';
  const t = Array.isArray(s.type) ? s.type.join('|') : (s.type ?? 'any');
  return `<${t === 'number' ? 'number' : t}>`;
}

function render(props: Record<string, JsonSchema>, indent: string): string[] {
  const out: string[] = [];
  for (const [key, s] of Object.entries(props)) {
    const doc = (s.description ?? '').split(/(?<=\.) /);
    for (const line of doc) if (line) out.push(`${indent}# ${line}`);
    if (s.type === 'object' && s.properties) {
      out.push(`${indent}${key}:`);
      out.push(...render(s.properties, `${indent}  `));
    } else {
      const def = s.default === undefined ? '' : ` | default = ${JSON.stringify(s.default)}`;
      out.push(`${indent}[ ${key}: ${typeName(s)}${def} ]`);
    }
    out.push('');
  }
  return out;
}

/** The whole document. */
export function renderConfigDocs(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const sections = Object.entries(schema.properties ?? {}).map(([name, s]) => {
    const body = s.properties ? render({ [name]: s }, '') : render({ [name]: s }, '');
    return `## \`${name}\`\n\n${s.description ?? ''}\n\n\`\`\`yaml\n${body.join('\n').trimEnd()}\n\`\`\`\n`;
  });
  return `# Configuration

<!-- Generated from src/config/schema.ts by \`node --import tsx scripts/config-docs.ts --write\`; do not edit. -->

The exporter reads one YAML file (\`--config.file\`); every key is optional and an unknown key is an
error that names it. Flags (\`libvirt-exporter --help\`) override the file. \`--config.check\` validates
the file and exits. Secrets are best given through the \`*_file\` keys. Durations are Prometheus
durations (\`500ms\`, \`10s\`, \`1m30s\`). Notation: \`[ key: <type> | default = value ]\`.

The file, the web configuration file and the TLS files it names are watched: when one of them changes on
disk (a cert-manager renewal in a mounted Secret included), the configuration is loaded again as SIGHUP
does, about a second after the last change (unless a SIGHUP has already loaded those contents); an invalid
file is logged and the running configuration kept. A reload does not close the listening socket unless the
listen address, a path or the server side of the web configuration changed (README, "Signals").
Flags, and how inovex's map onto these keys: [migration.md](migration.md).

A complete example is in [\`examples/config.yaml\`](../examples/config.yaml).

${sections.join('\n')}`;
}

const OUT = new URL('../docs/configuration.md', import.meta.url);
if (process.argv.includes('--write')) {
  writeFileSync(OUT, renderConfigDocs());
} else if (process.argv.includes('--check')) {
  // What CI runs (through test/unit/config/load.test.ts): exit 1 when the committed file differs.
  if (readFileSync(OUT, 'utf8') !== renderConfigDocs()) {
    process.stderr.write(
      'docs/configuration.md differs from src/config/schema.ts: run node --import tsx scripts/config-docs.ts --write\n',
    );
    process.exitCode = 1;
  }
}
