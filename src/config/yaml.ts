// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The one YAML loader of every file the exporter reads (the configuration, the web configuration,
 * polling.yaml). Those files hold secrets (a transport URL with its password, a telemetry secret,
 * bcrypt hashes, inline keys), so a syntax error is reported by line, column and error code only:
 * never the offending source line, and never the library's message, which may quote a name from the
 * file (an unresolved alias, a tag).
 */
import { LineCounter, parseDocument } from 'yaml';

/** A file that is not valid YAML; `message` gives the file and, per problem, line, column and code. */
export class YamlSyntaxError extends Error {
  override readonly name = 'YamlSyntaxError';
  /** One `line L, column C: code` per problem. */
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`cannot parse ${source} (YAML):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/**
 * Parses YAML text (duplicate keys are errors). Returns what the document holds, `undefined` for an
 * empty document.
 *
 * @throws YamlSyntaxError naming `source`, with line, column and code of each problem and no text of the file.
 */
export function parseYamlSafely(text: string, source: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    throw new YamlSyntaxError(
      source,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return `line ${pos.line}, column ${pos.col}: ${e.code.toLowerCase().replaceAll('_', ' ')}`;
      }),
    );
  }
  try {
    return doc.toJS() ?? undefined;
  } catch (err) {
    // toJS() fails on alias bombs and the like; its message is a fixed text, but stay on the safe side.
    throw new YamlSyntaxError(source, [`cannot be converted (${(err as Error).name})`]);
  }
}
