// SPDX-License-Identifier: Apache-2.0
/**
 * Writes src/libvirt/generated/*.ts, the numbers of libvirt's ABI that the client uses (procedure
 * numbers, RPC limits, error codes and domains, domain states and their reasons, event ids, stats
 * groups and flags), read from libvirt's own sources: src/remote/remote_protocol.x, the RPC and
 * keepalive .x files, and the public headers. Only names and numbers are taken; each table's doc
 * comment is ours.
 *
 *   node --import tsx scripts/gen-libvirt-constants.ts <libvirt source tree | libvirt-X.Y.Z.tar.xz>
 *       [--out DIR] [--check]
 *
 * `--out` defaults to src/libvirt/generated; `--check` writes nothing and exits 1 when a file differs.
 * The output depends only on the input files: running it twice gives the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A table to write: an enum of a header or .x file, or a group of `const`s of a .x file. */
interface TableSpec {
  readonly file: string;
  /** The C or XDR enum's name, or `const` for a group of XDR constants. */
  readonly source: string;
  readonly exportName: string;
  /** Prefix stripped from each member name (members without it keep their full name). */
  readonly prefix: string;
  /** For `const` groups: which constants (by full name). */
  readonly select?: (name: string) => boolean;
  readonly doc: string;
}

/** A single value written as `export const NAME = value;`. */
interface ValueSpec {
  readonly file: string;
  readonly name: string;
  readonly doc: string;
}

interface OutputSpec {
  readonly out: string;
  readonly about: string;
  readonly values: readonly ValueSpec[];
  readonly tables: readonly TableSpec[];
}

const REMOTE_X = 'src/remote/remote_protocol.x';
const NET_X = 'src/rpc/virnetprotocol.x';
const KEEPALIVE_X = 'src/rpc/virkeepaliveprotocol.x';
const DOMAIN_H = 'include/libvirt/libvirt-domain.h';
const HOST_H = 'include/libvirt/libvirt-host.h';
const COMMON_H = 'include/libvirt/libvirt-common.h.in';
const ERROR_H = 'include/libvirt/virterror.h';
const INTERNAL_H = 'src/libvirt_internal.h';

const startsWith = (p: string) => (name: string) => name.startsWith(p);

const enumTable = (
  file: string,
  source: string,
  exportName: string,
  prefix: string,
  doc: string,
): TableSpec => ({
  file,
  source,
  exportName,
  prefix,
  doc,
});

/** Everything generated: which file gets which tables. */
export const OUTPUTS: readonly OutputSpec[] = [
  {
    out: 'remote-protocol.ts',
    about: 'the remote program: its procedure numbers, authentication types and size limits',
    values: [
      { file: REMOTE_X, name: 'REMOTE_PROGRAM', doc: 'Program number of the remote (driver) protocol.' },
      { file: REMOTE_X, name: 'REMOTE_PROTOCOL_VERSION', doc: 'Version of the remote protocol.' },
    ],
    tables: [
      enumTable(REMOTE_X, 'remote_procedure', 'Proc', 'REMOTE_PROC_', 'Remote procedure numbers.'),
      enumTable(
        REMOTE_X,
        'remote_auth_type',
        'AuthType',
        'REMOTE_AUTH_',
        'Authentication types of AUTH_LIST.',
      ),
      {
        file: REMOTE_X,
        source: 'const',
        exportName: 'RemoteMax',
        prefix: 'REMOTE_',
        select: (n) => n.startsWith('REMOTE_') && n.endsWith('_MAX'),
        doc: 'Upper bounds of the remote protocol’s variable-length arrays and strings.',
      },
    ],
  },
  {
    out: 'rpc-protocol.ts',
    about: 'the RPC framing and the keepalive program',
    values: [
      { file: KEEPALIVE_X, name: 'KEEPALIVE_PROGRAM', doc: 'Program number of the keepalive protocol.' },
      { file: KEEPALIVE_X, name: 'KEEPALIVE_PROTOCOL_VERSION', doc: 'Version of the keepalive protocol.' },
    ],
    tables: [
      {
        file: NET_X,
        source: 'const',
        exportName: 'NetMessageLimit',
        prefix: 'VIR_NET_MESSAGE_',
        select: startsWith('VIR_NET_MESSAGE_'),
        doc: 'Sizes of RPC messages, in bytes.',
      },
      enumTable(NET_X, 'virNetMessageType', 'MessageType', 'VIR_NET_', 'Message types of the RPC header.'),
      enumTable(
        NET_X,
        'virNetMessageStatus',
        'MessageStatus',
        'VIR_NET_',
        'Status values of the RPC header.',
      ),
      enumTable(
        KEEPALIVE_X,
        'keepalive_procedure',
        'KEEPALIVE_PROC',
        'KEEPALIVE_PROC_',
        'Keepalive procedures.',
      ),
    ],
  },
  {
    out: 'errors.ts',
    about: 'libvirt error codes, the subsystems that raise them, and error levels',
    values: [],
    tables: [
      enumTable(ERROR_H, 'virErrorNumber', 'VIR_ERR', 'VIR_ERR_', 'Error codes.'),
      enumTable(ERROR_H, 'virErrorDomain', 'VIR_FROM', 'VIR_FROM_', 'Subsystems raising errors.'),
      enumTable(ERROR_H, 'virErrorLevel', 'ErrorLevel', 'VIR_ERR_', 'Error levels.'),
    ],
  },
  {
    out: 'domain.ts',
    about:
      'domain states and their reasons, events, stats groups and the flags of the calls the client makes',
    values: [],
    tables: [
      enumTable(DOMAIN_H, 'virDomainState', 'DomainState', 'VIR_DOMAIN_', 'Domain states.'),
      enumTable(
        DOMAIN_H,
        'virDomainNostateReason',
        'DomainNostateReason',
        'VIR_DOMAIN_NOSTATE_',
        'Reasons of NOSTATE.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainRunningReason',
        'DomainRunningReason',
        'VIR_DOMAIN_RUNNING_',
        'Reasons of RUNNING.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainBlockedReason',
        'DomainBlockedReason',
        'VIR_DOMAIN_BLOCKED_',
        'Reasons of BLOCKED.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainPausedReason',
        'DomainPausedReason',
        'VIR_DOMAIN_PAUSED_',
        'Reasons of PAUSED.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainShutdownReason',
        'DomainShutdownReason',
        'VIR_DOMAIN_SHUTDOWN_',
        'Reasons of SHUTDOWN.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainShutoffReason',
        'DomainShutoffReason',
        'VIR_DOMAIN_SHUTOFF_',
        'Reasons of SHUTOFF.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainCrashedReason',
        'DomainCrashedReason',
        'VIR_DOMAIN_CRASHED_',
        'Reasons of CRASHED.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainPMSuspendedReason',
        'DomainPmSuspendedReason',
        'VIR_DOMAIN_PMSUSPENDED_',
        'Reasons of PMSUSPENDED.',
      ),
      enumTable(DOMAIN_H, 'virDomainEventID', 'DomainEventId', 'VIR_DOMAIN_EVENT_ID_', 'Domain event ids.'),
      enumTable(
        DOMAIN_H,
        'virDomainEventType',
        'DomainEventType',
        'VIR_DOMAIN_EVENT_',
        'Lifecycle event types.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainEventWatchdogAction',
        'DomainEventWatchdogAction',
        'VIR_DOMAIN_EVENT_WATCHDOG_',
        'Actions of a watchdog event.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainEventIOErrorAction',
        'DomainEventIoErrorAction',
        'VIR_DOMAIN_EVENT_IO_ERROR_',
        'Actions of an I/O error event.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainStatsTypes',
        'DomainStatsTypes',
        'VIR_DOMAIN_STATS_',
        'Stats groups (bits).',
      ),
      enumTable(
        DOMAIN_H,
        'virConnectGetAllDomainStatsFlags',
        'GetAllDomainStatsFlags',
        'VIR_CONNECT_GET_ALL_DOMAINS_STATS_',
        'Flags of the bulk stats call (bits).',
      ),
      enumTable(
        DOMAIN_H,
        'virConnectListAllDomainsFlags',
        'ListAllDomainsFlags',
        'VIR_CONNECT_LIST_DOMAINS_',
        'Flags of the domain listing (bits).',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainXMLFlags',
        'DomainXmlFlags',
        'VIR_DOMAIN_XML_',
        'Flags of the XML description.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainMetadataType',
        'DomainMetadataType',
        'VIR_DOMAIN_METADATA_',
        'Metadata kinds.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainModificationImpact',
        'DomainModificationImpact',
        'VIR_DOMAIN_AFFECT_',
        'Which definition a call reads or changes.',
      ),
      enumTable(
        DOMAIN_H,
        'virDomainGuestInfoTypes',
        'GuestInfoTypes',
        'VIR_DOMAIN_GUEST_INFO_',
        'Guest info groups.',
      ),
      enumTable(DOMAIN_H, 'virDomainJobType', 'DomainJobType', 'VIR_DOMAIN_JOB_', 'Domain job types.'),
    ],
  },
  {
    out: 'host.ts',
    about: 'connection flags, driver features and typed parameters',
    values: [
      {
        file: COMMON_H,
        name: 'VIR_TYPED_PARAM_FIELD_LENGTH',
        doc: 'Size of a typed parameter name, NUL included.',
      },
      { file: HOST_H, name: 'VIR_UUID_BUFLEN', doc: 'Bytes of a raw UUID.' },
    ],
    tables: [
      enumTable(HOST_H, 'virConnectFlags', 'ConnectFlags', 'VIR_CONNECT_', 'Flags of CONNECT_OPEN.'),
      enumTable(INTERNAL_H, 'virDrvFeature', 'DrvFeature', 'VIR_DRV_FEATURE_', 'Driver features.'),
      enumTable(
        COMMON_H,
        'virTypedParameterType',
        'TypedParamType',
        'VIR_TYPED_PARAM_',
        'Typed parameter types.',
      ),
    ],
  },
];

/** Every input file, in the order their symbols are defined (later files may use earlier names). */
export const INPUTS = [NET_X, KEEPALIVE_X, REMOTE_X, COMMON_H, HOST_H, ERROR_H, DOMAIN_H, INTERNAL_H];

interface Member {
  readonly name: string;
  readonly expr: string | undefined;
  readonly previous: string | undefined;
}

/** Names and expressions of every enum member, `const` and numeric `#define` in the inputs. */
class Symbols {
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

function key(name: string, prefix: string): string {
  const k = name.startsWith(prefix) ? name.slice(prefix.length) : name.replace(/^VIR_/, '');
  return /^[A-Za-z_]\w*$/.test(k) ? k : `'${k}'`;
}

/** The value as a literal: in hex when the source wrote it so (program numbers), else in decimal. */
function literal(symbols: Symbols, name: string): string {
  const v = symbols.value(name);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new Error(`${name} = ${v} is not a safe integer`);
  }
  return /^0x[0-9a-f]+$/i.test(symbols.expression(name) ?? '') ? `0x${v.toString(16)}` : v.toString();
}

function renderTable(symbols: Symbols, t: TableSpec): string {
  let names: string[];
  if (t.source === 'const') {
    names = (symbols.consts.get(t.file) ?? []).filter((n) => t.select?.(n) ?? true);
  } else {
    const members = symbols.enums.get(`${t.file}:${t.source}`);
    if (members === undefined) throw new Error(`${t.file}: enum ${t.source} not found`);
    names = members.map((m) => m.name);
  }
  if (names.length === 0) throw new Error(`${t.file}: no member for ${t.exportName}`);
  const lines = names.map((n) => `  ${key(n, t.prefix)}: ${literal(symbols, n)},`);
  const from = t.source === 'const' ? `constants of ${t.file}` : `\`${t.source}\` of ${t.file}`;
  return `/** ${t.doc} From ${from}. */\nexport const ${t.exportName} = {\n${lines.join('\n')}\n} as const;\n`;
}

/** Renders every output file from the input texts (path → content) of libvirt `version`. */
export function render(inputs: ReadonlyMap<string, string>, version: string): Map<string, string> {
  const symbols = new Symbols();
  for (const file of INPUTS) {
    const text = inputs.get(file);
    if (text === undefined) throw new Error(`missing input ${file}`);
    symbols.add(file, text);
  }
  const result = new Map<string, string>();
  for (const o of OUTPUTS) {
    const files = [...new Set([...o.values.map((v) => v.file), ...o.tables.map((t) => t.file)])];
    const head = [
      '// SPDX-License-Identifier: Apache-2.0',
      `// DO NOT EDIT: generated by scripts/gen-libvirt-constants.ts from libvirt ${version}`,
      `// (${files.join(', ')}).`,
      `/** libvirt ${version}: ${o.about}. @packageDocumentation */`,
      '',
    ];
    const values = o.values.map(
      (v) => `/** ${v.doc} */\nexport const ${v.name} = ${literal(symbols, v.name)};\n`,
    );
    const tables = o.tables.map((t) => renderTable(symbols, t));
    result.set(o.out, [...head, ...values, ...tables].join('\n').replace(/\n+$/, '\n'));
  }
  return result;
}

/** Reads the inputs and the version from a source tree or a release tarball. */
function readSource(path: string): { inputs: Map<string, string>; version: string } {
  const wanted = [...INPUTS, 'meson.build'];
  const inputs = new Map<string, string>();
  if (statSync(path).isDirectory()) {
    for (const f of wanted) inputs.set(f, readFileSync(join(path, f), 'utf8'));
  } else {
    const listing = execFileSync('tar', ['-tf', path], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const top = listing.split('\n')[0]?.split('/')[0] ?? '';
    for (const f of wanted) {
      inputs.set(
        f,
        execFileSync('tar', ['-xOf', path, `${top}/${f}`], { encoding: 'utf8', maxBuffer: 1 << 28 }),
      );
    }
  }
  const version = /^\s*version:\s*'([^']+)'/m.exec(inputs.get('meson.build') ?? '')?.[1];
  if (version === undefined) throw new Error(`${path}: no version in meson.build`);
  return { inputs, version };
}

function main(argv: readonly string[]): number {
  const args = [...argv];
  const check = args.includes('--check');
  const outAt = args.indexOf('--out');
  const outDir = resolve(
    outAt >= 0
      ? (args[outAt + 1] ?? '')
      : fileURLToPath(new URL('../src/libvirt/generated', import.meta.url)),
  );
  const source = args.find((a, i) => !a.startsWith('--') && (outAt < 0 || i !== outAt + 1));
  if (source === undefined) {
    process.stderr.write(
      'usage: gen-libvirt-constants.ts <libvirt source tree | tarball> [--out DIR] [--check]\n',
    );
    return 2;
  }
  const { inputs, version } = readSource(source);
  let stale = 0;
  for (const [name, text] of render(inputs, version)) {
    const target = join(outDir, name);
    const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${target} is out of date (libvirt ${version})\n`);
      stale++;
    } else {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(target, text);
      process.stdout.write(`wrote ${target} (libvirt ${version})\n`);
    }
  }
  return stale === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
