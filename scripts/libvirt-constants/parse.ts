// SPDX-License-Identifier: Apache-2.0
/**
 * Reading libvirt's C headers and XDR (.x) files for scripts/gen-libvirt-constants.ts: enums (with
 * implicit values), `const`s and `#define`s, and the integer expressions that define them.
 */

interface Member {
  readonly name: string;
  readonly expr: string | undefined;
  readonly previous: string | undefined;
}

/** Names and expressions of every enum member, `const` and numeric `#define` in the inputs. */
export class Symbols {
  readonly enums = new Map<string, Member[]>();
  readonly consts = new Map<string, string[]>();
  private readonly members = new Map<string, Member>();
  private readonly defines = new Map<string, string>();
  private readonly values = new Map<string, bigint>();

  add(file: string, text: string): void {
    const uncommented = stripComments(text);
    for (const m of uncommented.matchAll(/^\s*#\s*define\s+(\w+)[ \t]+([^\n]+)$/gm)) {
      this.defines.set(m[1] as string, (m[2] as string).trim());
    }
    const code = stripPreprocessor(uncommented);
    const consts: string[] = [];
    for (const m of code.matchAll(/^\s*const\s+(\w+)\s*=\s*([^;]+);/gm)) {
      this.defines.set(m[1] as string, m[2] as string);
      consts.push(m[1] as string);
    }
    this.consts.set(file, consts);
    const enumRe = /(?:typedef\s+)?enum\s*(\w+)?\s*\{([^}]*)\}\s*(\w+)?\s*;/g;
    for (const m of code.matchAll(enumRe)) {
      const name = m[3] ?? m[1];
      if (name === undefined) continue;
      const list: Member[] = [];
      for (const raw of (m[2] as string).split(',')) {
        const entry = raw.trim();
        if (entry === '') continue;
        const [, member, expr] = /^(\w+)\s*(?:=\s*([\s\S]+))?$/.exec(entry) ?? [];
        if (member === undefined) throw new Error(`${file}: cannot read enum ${name} member "${entry}"`);
        const item = { name: member, expr: expr?.trim(), previous: list.at(-1)?.name };
        list.push(item);
        this.members.set(member, item);
      }
      this.enums.set(`${file}:${name}`, list);
    }
  }

  /** The expression written for `name`, if any. */
  expression(name: string): string | undefined {
    return this.members.get(name)?.expr ?? this.defines.get(name);
  }

  value(name: string): bigint {
    const known = this.values.get(name);
    if (known !== undefined) return known;
    const member = this.members.get(name);
    const define = this.defines.get(name);
    let v: bigint;
    if (member !== undefined) {
      if (member.expr !== undefined) v = evaluate(member.expr, (n) => this.value(n));
      else v = member.previous === undefined ? 0n : this.value(member.previous) + 1n;
    } else if (define !== undefined) {
      v = evaluate(define, (n) => this.value(n));
    } else {
      throw new Error(`unknown name ${name}`);
    }
    this.values.set(name, v);
    return v;
  }
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
}

/** Drops preprocessor lines, `%` pass-through lines of .x files, and the enum sentinels (`*_LAST`). */
function stripPreprocessor(text: string): string {
  const out: string[] = [];
  let sentinel = 0;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (/^#\s*if(def)?\s+VIR_ENUM_SENTINELS/.test(t)) sentinel++;
    else if (sentinel > 0 && /^#\s*if/.test(t)) sentinel++;
    else if (sentinel > 0 && /^#\s*endif/.test(t)) sentinel--;
    else if (sentinel === 0 && !t.startsWith('#') && !t.startsWith('%')) out.push(line);
  }
  return out.join('\n');
}

/** Evaluates a C/XDR integer constant expression: literals, names, parentheses, unary and binary operators. */
export function evaluate(expr: string, lookup: (name: string) => bigint): bigint {
  const tokens = expr.match(/0x[0-9a-fA-F]+|\d+|\w+|<<|>>|[-+~|&()]/g) ?? [];
  let at = 0;
  const peek = (): string | undefined => tokens[at];
  const primary = (): bigint => {
    const t = tokens[at++];
    if (t === undefined) throw new Error(`incomplete expression "${expr}"`);
    if (t === '(') {
      const v = binary(0);
      if (tokens[at++] !== ')') throw new Error(`missing ) in "${expr}"`);
      return v;
    }
    if (t === '-') return -primary();
    if (t === '+') return primary();
    if (t === '~') return ~primary();
    if (/^(0x[0-9a-fA-F]+|\d+)$/.test(t)) {
      if (/^[uUlL]+$/.test(peek() ?? '')) at++;
      return BigInt(t);
    }
    if (/^\w+$/.test(t)) return lookup(t);
    throw new Error(`unexpected "${t}" in "${expr}"`);
  };
  const levels = [['|'], ['&'], ['<<', '>>'], ['+', '-'], ['*']];
  const binary = (level: number): bigint => {
    if (level === levels.length) return primary();
    let v = binary(level + 1);
    while (levels[level]?.includes(peek() ?? '') === true) {
      const op = tokens[at++];
      const r = binary(level + 1);
      v =
        op === '|'
          ? v | r
          : op === '&'
            ? v & r
            : op === '<<'
              ? v << r
              : op === '>>'
                ? v >> r
                : op === '+'
                  ? v + r
                  : op === '-'
                    ? v - r
                    : v * r;
    }
    return v;
  };
  const v = binary(0);
  if (at !== tokens.length) throw new Error(`trailing tokens in "${expr}"`);
  return v;
}
