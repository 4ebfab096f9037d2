// SPDX-License-Identifier: Apache-2.0
/** Parses a Prometheus-style duration (`500ms`, `10s`, `1m30s`, `2h`) into milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  const factors: Readonly<Record<string, number>> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
  };
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * (factors[m[2] ?? ''] ?? 0);
    matched = re.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw new Error(`invalid duration "${text}" (expected for example 500ms, 10s, 1m30s)`);
  }
  return total;
}
