// SPDX-License-Identifier: Apache-2.0
/** Parsing of the Prometheus text exposition for tests (families with TYPE, HELP and samples). */

/** One family of an exposition. */
export interface Family {
  name: string;
  type: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null)
    // One pass, so that an escaped backslash followed by `n` stays a backslash and an `n`.
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return out;
}

/** Parses a text exposition (version 0.0.4) into families by name. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (meta[1] === 'TYPE') f.type = meta[3]!;
      else f.help = meta[3]!;
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    family(m[1]!).samples.push({ labels: parseLabels(m[3] ?? ''), value: Number(m[4]) });
  }
  return families;
}

/**
 * The sample lines of `domain` in a text exposition, apart from its event counters, which the events
 * collector keeps on purpose after the domain is gone (a crash must not vanish with the guest).
 */
export function linesOfGoneDomain(body: string, domain: string): string[] {
  return body
    .split('\n')
    .filter((l) => l.includes(`domain="${domain}"`) && !l.startsWith('libvirt_domain_events_total{'));
}
