// SPDX-License-Identifier: Apache-2.0
// `npm run package` from this tree, then the packages as an operator gets them on a compute node:
// the .deb installed with dpkg, its unit checked by systemd-analyze, the installed executable started
// the way the unit starts it (its user and group, its command line, systemd's clean environment, no
// capabilities, no new privileges) against the lab, --version, then `dpkg -P` leaving nothing behind;
// the .rpm installed and erased with rpm (--nodeps, into a private rpm database); the tarball.
//
// No systemd runs as PID 1 here, so the unit's process is reproduced with setpriv. The lab's libvirtd
// authorises its read-only socket through polkit, which does not run on this machine; a compute node's
// libvirt lets any local user read through it (polkit's org.libvirt.unix.monitor, or auth_unix_ro =
// "none"). So, in a private mount namespace of the exporter's process only, a relay socket of this test
// is mounted over /run/libvirt/libvirt-sock-ro: the exporter opens the path the unit gives it, as its
// own user, and this test (root) carries the bytes to the lab's read-only socket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/exporter.ts';
import { parseExposition } from '../helpers/exposition.ts';
import { LAB_GUESTS, lab, waitFor } from '../helpers/lab.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(REPO, 'dist', 'pkg');
const NAME = 'libvirt-exporter';
const UNIT = `/usr/lib/systemd/system/${NAME}.service`;
const RO_SOCKET = '/run/libvirt/libvirt-sock-ro';

const sh = (cmd: string, args: string[], opts: { cwd?: string } = {}): string =>
  execFileSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });

/** The [Service] settings of a unit file (the last value of a key wins, as systemd reads them). */
function unitSettings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s?.[1] !== undefined) {
      section = s[1];
      continue;
    }
    const eq = line.indexOf('=');
    if (section === 'Service' && eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

const installed = (): boolean =>
  spawnSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', NAME], { encoding: 'utf8' }).stdout.startsWith(
    'ii',
  );

describe('npm run package, and the packages installed as on a compute node', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const deb = join(OUT, `${NAME}_${pkg.version}_amd64.deb`);
  const rpm = join(OUT, `${NAME}-${pkg.version}-1.x86_64.rpm`);
  const tarball = join(OUT, `${NAME}-${pkg.version}-linux-x64.tar.gz`);
  let work: string;
  let buildSeconds = 0;

  before(() => {
    assert.ok(!installed(), `${NAME} is not installed on this machine before the test`);
    work = mkdtempSync(join(tmpdir(), 'package-test-'));
    const t0 = Date.now();
    execFileSync('sh', ['scripts/package.sh'], { cwd: REPO, stdio: 'inherit', timeout: 600_000 });
    buildSeconds = (Date.now() - t0) / 1000;
    lab('up');
  });
  after(() => {
    // Whatever happened above, the machine is left without the package.
    if (installed()) spawnSync('dpkg', ['-P', NAME]);
    // The rpm's user, when a failure came before the rpm test's own clean-up (the packages' comment).
    if (
      spawnSync('getent', ['passwd', NAME], { encoding: 'utf8' }).stdout.includes('(Prometheus exporter of')
    ) {
      spawnSync('userdel', [NAME]);
      spawnSync('groupdel', [NAME]);
    }
    rmSync(work, { recursive: true, force: true });
  });

  test('writes the executable, the .deb, the .rpm and the tarball, with checksums and sizes', () => {
    const files = readdirSync(OUT).sort();
    for (const f of [NAME, `${NAME}_${pkg.version}_amd64.deb`, `${NAME}-${pkg.version}-1.x86_64.rpm`]) {
      assert.ok(files.includes(f), `${f} in dist/pkg (${files.join(' ')})`);
    }
    assert.ok(files.includes(`${NAME}-${pkg.version}-linux-x64.tar.gz`));
    sh('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: OUT });
    assert.match(readFileSync(join(OUT, 'SIZES.md'), 'utf8'), /\| `libvirt-exporter` .* \| \d+\.\d MiB \|/);
    process.stdout.write(`# npm run package took ${buildSeconds.toFixed(0)} s\n`);
  });

  test('the tarball holds the executable, the unit, the example configuration, the licences and checksums', () => {
    const list = sh('tar', ['-tzf', tarball]).split('\n').filter(Boolean).sort();
    const dir = `${NAME}-${pkg.version}-linux-x64/`;
    for (const f of [NAME, `${NAME}.service`, 'config.yaml', 'LICENSE', 'SHA256SUMS']) {
      assert.ok(list.includes(dir + f), `${dir}${f} in the tarball`);
    }
    sh('tar', ['-xzf', tarball, '-C', work]);
    sh('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: join(work, dir) });
    assert.equal(
      readFileSync(join(work, dir, `${NAME}.service`), 'utf8'),
      readFileSync(join(REPO, 'packaging', `${NAME}.service`), 'utf8'),
    );
  });

  test('the .deb installs: executable, unit, conffile, dashboards and rules, its own user', () => {
    sh('dpkg', ['-i', deb]);
    assert.ok(installed());
    assert.equal(sh('dpkg-query', ['-W', '-f=${Version}', NAME]), pkg.version);
    assert.match(
      sh('dpkg-query', ['-W', '-f=${Conffiles}', NAME]),
      /^ \/etc\/libvirt-exporter\/config\.yaml [0-9a-f]{32}$/m,
    );
    for (const f of [
      '/usr/bin/libvirt-exporter',
      UNIT,
      '/usr/share/libvirt-exporter/dashboards/libvirt-compute-node.json',
      '/usr/share/libvirt-exporter/rules/libvirt-exporter.rules.yml',
      '/usr/share/libvirt-exporter/rules/libvirt-exporter.alerts.yml',
      '/usr/share/doc/libvirt-exporter/LICENSE',
      '/usr/share/doc/libvirt-exporter/copyright',
    ]) {
      assert.ok(existsSync(f), f);
    }
    assert.match(sh('getent', ['passwd', NAME]), /^libvirt-exporter:x:\d+:\d+:.*:\/:\/usr\/sbin\/nologin$/m);
    // The configuration may hold a broker password: readable by root and the service only.
    assert.equal(
      sh('stat', ['-c', '%a %U %G', '/etc/libvirt-exporter/config.yaml']).trim(),
      '640 root libvirt-exporter',
    );
  });

  test('systemd-analyze verify accepts the unit, which is hardened', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    // Without systemd as PID 1 it may complain about the bus; nothing about this unit.
    const about = (r.stderr + r.stdout).split('\n').filter((l) => l.includes(NAME));
    assert.deepEqual(about, [], r.stderr);
    assert.equal(r.status, 0, r.stderr);
    const s = unitSettings(readFileSync(UNIT, 'utf8'));
    assert.equal(s.get('User'), NAME);
    assert.equal(s.get('Group'), NAME);
    assert.equal(s.get('NoNewPrivileges'), 'yes');
    assert.equal(s.get('CapabilityBoundingSet'), '', 'no capabilities');
    assert.equal(s.get('AmbientCapabilities'), '');
    assert.equal(s.get('ProtectSystem'), 'strict');
    assert.equal(s.get('ProtectHome'), 'yes');
    assert.match(s.get('ReadOnlyPaths') ?? '', /\/run\/libvirt/);
    assert.equal(s.get('Restart'), 'on-failure');
    assert.equal(s.get('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(
      s.get('ExecStart'),
      '/usr/bin/libvirt-exporter --config.file=/etc/libvirt-exporter/config.yaml',
    );
  });

  test('--version prints the package version', () => {
    const out = sh('/usr/bin/libvirt-exporter', ['--version']);
    assert.match(
      out,
      new RegExp(`^libvirt-exporter ${pkg.version.replace(/\./g, '\\.')} \\(revision \\w+, Node\\.js v24\\.`),
    );
  });

  test('started as the unit starts it, the installed executable serves every lab guest and reloads on SIGHUP', async () => {
    const s = unitSettings(readFileSync(UNIT, 'utf8'));
    const argv = (s.get('ExecStart') ?? '').split(/\s+/);
    const user = s.get('User') ?? '';
    const group = s.get('Group') ?? '';
    // The relay socket over the read-only socket path (see the top of this file).
    const relayDir = join(work, 'relay');
    mkdirSync(relayDir);
    chmodSync(relayDir, 0o755);
    const relayPath = join(relayDir, 'libvirt-sock-ro');
    const relay: Server = createServer((c) => {
      const up = connect(RO_SOCKET);
      c.pipe(up).pipe(c);
      const end = (): void => {
        c.destroy();
        up.destroy();
      };
      c.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => relay.listen(relayPath, resolve));
    chmodSync(relayPath, 0o777);
    // The conffile as an operator edits it: another port, since 9177 may be taken on a shared machine.
    const port = await freePort();
    const config = join(work, 'config.yaml');
    writeFileSync(
      config,
      readFileSync('/etc/libvirt-exporter/config.yaml', 'utf8').replace(
        /listen_address: .*/,
        `listen_address: "127.0.0.1:${port}"`,
      ),
    );
    const gid = Number(sh('getent', ['group', group]).split(':')[2]);
    chownSync(config, 0, gid);
    chmodSync(config, 0o640);
    const setup =
      'mount --bind "$1" /run/libvirt/libvirt-sock-ro && mount --bind "$2" /etc/libvirt-exporter/config.yaml && shift 2 && exec "$@"';
    const child = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        setup,
        'sh',
        relayPath,
        config,
        'setpriv',
        `--reuid=${user}`,
        `--regid=${group}`,
        '--init-groups',
        '--no-new-privs',
        '--bounding-set=-all',
        '--inh-caps=-all',
        '--',
        ...argv,
      ],
      {
        // systemd's environment for a system service.
        env: {
          PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin',
          LANG: 'C.UTF-8',
          USER: user,
          LOGNAME: user,
          HOME: '/',
          SHELL: '/usr/sbin/nologin',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => {
        resolve(code);
      });
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        async () =>
          (await fetch(`${url}/-/healthy`).then(
            (r) => r.ok,
            () => false,
          )) || child.exitCode !== null,
        30_000,
        'the installed exporter to listen',
      );
      assert.equal(child.exitCode, null, out);
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const uid = sh('id', ['-u', user]).trim();
      assert.match(
        status,
        new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'),
        'runs as the unit user',
      );
      assert.match(status, /^CapEff:\s+0+$/m, 'with no capabilities');
      assert.match(status, /^NoNewPrivs:\s+1$/m);
      const body = await (await fetch(`${url}/metrics`)).text();
      const f = parseExposition(body);
      assert.equal(f.get('libvirt_up')?.samples[0]?.value, 1, out);
      const served = new Set(f.get('libvirt_domain_info_state')?.samples.map((x) => x.labels['domain']));
      for (const g of [...LAB_GUESTS.running, ...LAB_GUESTS.paused, ...LAB_GUESTS.shutoff])
        assert.ok(served.has(g), `${g} is served`);
      const info = f.get('libvirt_exporter_build_info')?.samples[0]?.labels;
      assert.equal(info?.['version'], pkg.version);
      child.kill('SIGHUP');
      await waitFor(() => out.includes('configuration reloaded'), 15_000, 'the reload (ExecReload: SIGHUP)');
      assert.equal(child.exitCode, null, 'still running after the reload');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      relay.close();
    }
  });

  test('dpkg -P removes it and leaves nothing behind', () => {
    sh('dpkg', ['-P', NAME]);
    assert.ok(!installed());
    for (const f of [
      '/usr/bin/libvirt-exporter',
      UNIT,
      '/etc/libvirt-exporter',
      '/usr/share/libvirt-exporter',
      '/usr/share/doc/libvirt-exporter',
    ]) {
      assert.ok(!existsSync(f), `${f} is gone`);
    }
    assert.equal(spawnSync('getent', ['passwd', NAME]).status, 2, 'the user is gone');
    assert.equal(spawnSync('getent', ['group', NAME]).status, 2, 'the group is gone');
  });

  test('the .rpm: same files, scriptlets and conffile; installs with rpm -i --nodeps and erases cleanly', () => {
    const db = join(work, 'rpmdb');
    mkdirSync(db);
    const rpmq = (...args: string[]): string => sh('rpm', ['--dbpath', db, ...args]);
    rpmq('--initdb');
    assert.equal(
      rpmq('-qp', '--qf', '%{NAME} %{VERSION} %{LICENSE}', rpm),
      `${NAME} ${pkg.version} Apache-2.0`,
    );
    assert.match(rpmq('-qp', '--configfiles', rpm), /^\/etc\/libvirt-exporter\/config\.yaml$/m);
    assert.match(rpmq('-qp', '--scripts', rpm), /useradd --system/);
    // (--force-debian: Debian's rpm otherwise warns that rpm is not its package manager.)
    rpmq('-i', '--force-debian', '--nodeps', rpm);
    try {
      assert.match(
        sh('/usr/bin/libvirt-exporter', ['--version']),
        new RegExp(`^libvirt-exporter ${pkg.version.replace(/\./g, '\\.')} `),
      );
      assert.equal(rpmq('-V', '--nodeps', NAME), '', 'rpm -V: every installed file as packaged');
      assert.equal(
        sh('stat', ['-c', '%a %U %G', '/etc/libvirt-exporter/config.yaml']).trim(),
        '640 root libvirt-exporter',
      );
    } finally {
      rpmq('-e', '--force-debian', '--nodeps', NAME);
    }
    for (const f of [
      '/usr/bin/libvirt-exporter',
      UNIT,
      '/etc/libvirt-exporter',
      '/usr/share/libvirt-exporter',
    ]) {
      assert.ok(!existsSync(f), `${f} is gone`);
    }
    // RPM keeps system users on erase (Fedora's packaging guidelines); this machine does not.
    spawnSync('userdel', [NAME]);
    spawnSync('groupdel', [NAME]);
  });
});
