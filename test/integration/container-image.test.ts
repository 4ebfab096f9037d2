// SPDX-License-Identifier: Apache-2.0
// The container image recipe without a container engine: the Dockerfile's own steps run in temporary
// directories, one per stage, on the project's Node.js (scripts/node.sh, the same major as both base
// images), with the build arguments `scripts/container.sh image` passes. The build context is made
// with the .dockerignore rules; COPY, WORKDIR, ENV and RUN are carried out as written (RUN flags such
// as cache mounts are BuildKit's business and are left out), then the ENTRYPOINT is started the way
// the image and the Helm chart start it, the base image's /nodejs/bin/node being this Node.js.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { DAEMON_NODE_OPTIONS } from '../../src/heap.ts';
import { freePort } from '../helpers/exporter.ts';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** One instruction of the Dockerfile, continuation lines joined. */
interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly line: number;
}

/** A stage: its base image and instructions. */
interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(full);
    assert.ok(m?.[1] !== undefined && m[2] !== undefined, `Dockerfile line ${start}: ${full}`);
    instructions.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start });
  });
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m?.[1] !== undefined, `FROM at line ${ins.line}`);
      stages.push({ name: m[2] ?? String(stages.length), from: expand(m[1], args), instructions: [] });
    } else if (stages.length === 0) {
      assert.equal(ins.op, 'ARG', `only ARG may come before the first FROM (line ${ins.line})`);
      const [k, v] = splitAssignment(ins.args);
      args.set(k, v ?? '');
    } else {
      stages[stages.length - 1]?.instructions.push(ins);
    }
  }
  return { args, stages };
}

function splitAssignment(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  if (eq < 0) return [text.trim(), undefined];
  return [text.slice(0, eq).trim(), unquote(text.slice(eq + 1).trim())];
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

function expand(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, a?: string, b?: string) => {
      const name = a ?? b ?? '';
      return vars.get(name) ?? all;
    },
  );
}

/** `KEY=value KEY2="value 2"` pairs (ENV, LABEL). */
function assignments(text: string, vars: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const m of text.matchAll(re)) out.set(m[1] ?? '', expand(unquote(m[2] ?? ''), vars));
  return out;
}

/** Docker's .dockerignore matching, for `*`, `?`, `**` and `!` exceptions (the last match wins). */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/');
      return { negate, re: new RegExp(`^${source}(/.*)?$`) };
    });
  return (path) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(path)) excluded = !r.negate;
    return excluded;
  };
}

/** Copies the build context: every file of the repository that .dockerignore lets through. */
function makeContext(dest: string): string[] {
  const excluded = dockerignore(readFileSync(join(REPO, '.dockerignore'), 'utf8'));
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const rel = relative(REPO, abs);
      // Big trees that no rule re-includes are not walked (the rules above still decide).
      if (name === '.git' || name === 'node_modules') {
        assert.ok(excluded(rel), `${rel} is excluded from the build context`);
        continue;
      }
      if (statSync(abs).isDirectory()) walk(abs);
      else if (!excluded(rel)) {
        mkdirSync(join(dest, dirname(rel)), { recursive: true });
        cpSync(abs, join(dest, rel));
        files.push(rel);
      }
    }
  };
  walk(REPO);
  return files.sort();
}

/** What the image's final stage declares. */
interface Image {
  readonly root: string;
  readonly workdir: string;
  readonly env: Map<string, string>;
  readonly labels: Map<string, string>;
  readonly entrypoint: string[];
  readonly user: string;
  readonly expose: string[];
  readonly from: string;
}

/** Carries out the stages in temporary roots; returns the final stage. */
function build(
  stages: readonly Stage[],
  globalArgs: ReadonlyMap<string, string>,
  buildArgs: ReadonlyMap<string, string>,
  context: string,
  work: string,
): Image {
  const roots = new Map<string, string>();
  let image: Image | undefined;
  stages.forEach((stage, index) => {
    const root = join(work, `stage-${index}`);
    mkdirSync(root, { recursive: true });
    roots.set(stage.name, root);
    const vars = new Map([...globalArgs, ...buildArgs]);
    const env = new Map<string, string>();
    const labels = new Map<string, string>();
    const expose: string[] = [];
    let workdir = '/';
    let entrypoint: string[] = [];
    let user = 'root';
    const inRoot = (p: string): string => join(root, p.startsWith('/') ? p : join(workdir, p));
    for (const ins of stage.instructions) {
      const text = expand(ins.args, new Map([...vars, ...env]));
      switch (ins.op) {
        case 'ARG': {
          const [k, v] = splitAssignment(ins.args);
          vars.set(k, buildArgs.get(k) ?? v ?? globalArgs.get(k) ?? '');
          break;
        }
        case 'ENV':
          for (const [k, v] of assignments(ins.args, new Map([...vars, ...env]))) env.set(k, v);
          break;
        case 'LABEL':
          for (const [k, v] of assignments(ins.args, vars)) labels.set(k, v);
          break;
        case 'WORKDIR':
          workdir = text.startsWith('/') ? text : join(workdir, text);
          mkdirSync(inRoot('.'), { recursive: true });
          break;
        case 'COPY': {
          const words = text.split(/\s+/);
          const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
          const paths = words.filter((w) => !w.startsWith('--'));
          const dest = paths.pop() ?? '';
          assert.ok(paths.length > 0, `COPY at line ${ins.line}`);
          const sourceRoot = from === undefined ? context : roots.get(from);
          assert.ok(sourceRoot, `COPY --from=${from ?? ''}: no such stage`);
          for (const p of paths) {
            const src = join(sourceRoot, p);
            assert.ok(
              existsSync(src),
              `COPY ${p} (line ${ins.line}): not in the ${from === undefined ? 'build context' : `stage ${from}`}`,
            );
            const target =
              dest.endsWith('/') && !statSync(src).isDirectory()
                ? join(inRoot(dest), basename(p))
                : inRoot(dest);
            mkdirSync(dirname(target), { recursive: true });
            cpSync(src, target, { recursive: true });
          }
          break;
        }
        case 'RUN': {
          const command = text.replace(/^(--\S+\s+)+/, '');
          assert.doesNotMatch(
            command,
            /(^|\s)\//,
            `RUN at line ${ins.line} uses an absolute path, which the test cannot relocate`,
          );
          const r = spawnSync('sh', ['-c', command], {
            cwd: inRoot('.'),
            env: { ...process.env, ...Object.fromEntries(vars), ...Object.fromEntries(env) },
            encoding: 'utf8',
            timeout: 600_000,
          });
          assert.equal(r.status, 0, `RUN ${command} (line ${ins.line}) failed:\n${r.stdout}\n${r.stderr}`);
          break;
        }
        case 'USER':
          user = text;
          break;
        case 'EXPOSE':
          expose.push(...text.split(/\s+/));
          break;
        case 'ENTRYPOINT':
          entrypoint = JSON.parse(text) as string[];
          break;
        default:
          assert.fail(`Dockerfile line ${ins.line}: ${ins.op} is not handled by this test`);
      }
    }
    image = { root, workdir, env, labels, entrypoint, user, expose, from: stage.from };
  });
  assert.ok(image);
  return image;
}

describe('container image recipe (Dockerfile steps without a container engine)', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const dockerfile = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  const nodeVersion = spawnSync('sh', [join(REPO, 'scripts', 'node.sh'), 'version'], {
    encoding: 'utf8',
  }).stdout.trim();
  const REVISION = '0123456789ab';
  // What `scripts/container.sh image` passes, with a known revision.
  const buildArgs = new Map(
    spawnSync('sh', [join(REPO, 'scripts', 'container.sh'), 'build-args'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map((l): [string, string] => {
        const [k, v] = splitAssignment(l.replace(/^--build-arg=/, ''));
        return [k, k === 'REVISION' ? REVISION : (v ?? '')];
      }),
  );
  let work: string;
  let contextFiles: string[];
  let image: Image;
  /** The entrypoint's command line, the image's /nodejs/bin/node being this test's Node.js. */
  const argv = (args: string[]): [string, string[]] => {
    const [cmd, ...rest] = image.entrypoint;
    assert.equal(cmd, '/nodejs/bin/node', "the distroless image's Node.js");
    // The image's absolute paths (/app/...) live in the stage's root here.
    return [
      process.execPath,
      [...rest.map((a) => (a.startsWith('/app/') ? join(image.root, a) : a)), ...args],
    ];
  };
  const run = (args: string[], env: Record<string, string> = {}): ReturnType<typeof spawnSync> => {
    const [cmd, rest] = argv(args);
    return spawnSync(cmd, rest, {
      cwd: join(image.root, image.workdir),
      env: { ...Object.fromEntries(image.env), ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  };

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'image-test-'));
    const context = join(work, 'context');
    contextFiles = makeContext(context);
    image = build(dockerfile.stages, dockerfile.args, buildArgs, context, join(work, 'stages'));
  });
  after(() => {
    rmSync(work, { recursive: true, force: true });
  });

  test('the build context is only what the image needs', () => {
    assert.ok(contextFiles.includes('package-lock.json'));
    assert.ok(contextFiles.includes('src/main.ts'));
    assert.ok(contextFiles.includes('scripts/container.sh'));
    const outside = contextFiles.filter(
      (f) => !/^(src\/|package(-lock)?\.json$|tsconfig\.json$|scripts\/(container\.sh|bundle\.ts)$)/.test(f),
    );
    assert.deepEqual(outside, []);
  });

  test('two stages on Node.js images of the supported major (scripts/node.sh), pinned by digest', () => {
    const major = nodeVersion.split('.')[0];
    assert.match(nodeVersion, /^\d+\.\d+\.\d+$/);
    assert.equal(process.versions.node, nodeVersion, 'this test runs on the pinned Node.js');
    assert.equal(dockerfile.stages.length, 2);
    assert.equal(dockerfile.stages[0]?.name, 'build');
    const [buildFrom, runtimeFrom] = dockerfile.stages.map((s) => s.from);
    assert.match(buildFrom ?? '', new RegExp(`^node:${major}-bookworm-slim@sha256:[0-9a-f]{64}$`));
    assert.match(
      runtimeFrom ?? '',
      new RegExp(`^gcr\\.io/distroless/nodejs${major}-debian12@sha256:[0-9a-f]{64}$`),
    );
    assert.equal(image.from, runtimeFrom);
  });

  test('the runtime stage is the bundle alone: no npm, no node_modules, no package manager run', () => {
    const runtime = dockerfile.stages[1];
    assert.deepEqual(
      runtime?.instructions.filter((i) => i.op === 'RUN'),
      [],
      'nothing runs in the runtime stage (the distroless base has no shell, npm or apt)',
    );
    const files = (dir: string): string[] =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => relative(image.root, join(d.parentPath, d.name)))
        .sort();
    assert.deepEqual(files(image.root), ['app/THIRD-PARTY-LICENSES.txt', 'app/libvirt-exporter.cjs']);
    const bytes = statSync(join(image.root, 'app', 'libvirt-exporter.cjs')).size;
    process.stdout.write(
      `# the image's own layer: ${(bytes / 1048576).toFixed(1)} MiB on top of ${image.from.split('@')[0] ?? ''}\n`,
    );
  });

  test('labels, user and port; the version and revision come from package.json and git', () => {
    for (const k of ['title', 'description', 'licenses', 'version', 'revision', 'base.name']) {
      assert.ok(image.labels.get(`org.opencontainers.image.${k}`), `org.opencontainers.image.${k}`);
    }
    assert.ok(image.labels.has('org.opencontainers.image.source'), 'org.opencontainers.image.source');
    assert.equal(image.labels.get('org.opencontainers.image.source'), buildArgs.get('SOURCE'));
    assert.equal(image.labels.get('org.opencontainers.image.version'), pkg.version);
    assert.equal(image.labels.get('org.opencontainers.image.revision'), REVISION);
    assert.equal(image.labels.get('org.opencontainers.image.base.name'), image.from);
    assert.equal(image.labels.get('org.opencontainers.image.licenses'), 'Apache-2.0');
    assert.equal(image.user, '65532:65532', 'non-root by default');
    assert.deepEqual(image.expose, ['9177']);
    assert.deepEqual(
      image.entrypoint,
      ['/nodejs/bin/node', ...DAEMON_NODE_OPTIONS, '/app/libvirt-exporter.cjs'],
      "exec form: PID 1, with the launchers' Node.js options",
    );
    const gitRevision = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    assert.equal(
      spawnSync('sh', [join(REPO, 'scripts', 'container.sh'), 'build-args'], {
        encoding: 'utf8',
      }).stdout.split('\n')[1],
      `--build-arg=REVISION=${gitRevision.stdout.trim()}`,
    );
  });

  test('the entrypoint prints the version and the revision written in at build time', () => {
    const r = run(['--version']);
    assert.equal(r.status, 0, String(r.stderr));
    assert.equal(
      String(r.stdout),
      `libvirt-exporter ${pkg.version} (revision ${REVISION}, Node.js ${process.version})\n`,
    );
  });

  test('the entrypoint checks a configuration: the example passes, an unknown key fails', () => {
    const ok = run(['--config.check', `--config.file=${join(REPO, 'examples', 'config.yaml')}`]);
    assert.equal(ok.status, 0, String(ok.stderr));
    assert.match(String(ok.stdout), /is valid/);
    const bad = run([
      '--config.check',
      `--config.file=${join(REPO, 'test', 'fixtures', 'config', 'unknown-top.bad.yaml')}`,
    ]);
    assert.equal(bad.status, 1);
    assert.match(String(bad.stderr), /unknown key/);
  });

  test('the exporter serves, then stops by itself on SIGTERM (no init needed)', async () => {
    const port = await freePort();
    // No libvirt needed for the health endpoint: point the exporter at a socket that does not exist.
    const [cmd, rest] = argv([
      `--web.listen-address=127.0.0.1:${port}`,
      '--libvirt.uri=qemu:///system?socket=/nonexistent/libvirt-sock-ro',
    ]);
    const child = spawn(cmd, rest, {
      cwd: join(image.root, image.workdir),
      env: Object.fromEntries(image.env),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => {
        resolve({ code, signal });
      });
    });
    try {
      let healthy = false;
      for (let i = 0; i < 100 && !healthy; i++) {
        healthy = await fetch(`http://127.0.0.1:${port}/-/healthy`).then(
          (r) => r.ok,
          () => false,
        );
        if (!healthy) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(healthy, `the exporter answers /-/healthy\n${stderr}`);
      const landing = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(landing.status, 200, 'the landing page (liveness probe) answers');
      const started = Date.now();
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      assert.equal(signal, null, 'the process handled SIGTERM instead of being killed by it');
      assert.equal(code, 0, stderr);
      assert.ok(Date.now() - started < 10_000, 'it stops within the chart grace period');
      assert.match(stderr, /shutting down/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
