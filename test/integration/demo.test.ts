// SPDX-License-Identifier: Apache-2.0
// The quick start is safe on a machine whose libvirtd is not the lab's: `npm run demo` serves that
// libvirt as it is, and defines no guest in it, writes none of its configuration, restarts nothing.
//
// The "production" libvirtd here is a second libvirtd of this test's own, started outside the lab in
// private namespaces (unshare: its own mount namespace with tmpfs over /run, /var/lib/libvirt,
// /var/cache/libvirt, /var/log/libvirt and the lab's state directory, a copy of /etc/libvirt holding a
// qemu.conf that is not the lab's, its own PID namespace so that neither it nor the demo sees the lab's
// daemons, and its own network namespace so that no guest of it could take the lab guests' tap
// devices). The shared lab libvirtd is never touched, and everything started in the namespaces dies
// with them when the script ends. The demo script runs inside, as a user would run it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/exporter.ts';
import { parseExposition } from '../helpers/exposition.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LAB_STATE = '/var/lib/libvirt-exporter-lab';
const GUEST = 'demo-test-foreign-1';

/**
 * Runs in fresh namespaces. `help`: the demo's --help with no libvirtd running. `foreign`: a private
 * libvirtd with one guest, the demo run against it, the state recorded before and after.
 */
const SCRIPT = String.raw`
set -euo pipefail
mode=$1 t=$2 port=$3 repo=$4 state=$5 guest=$6
unset LAB_STATE_DIR LAB
ip link set lo up
# A private view of everything libvirtd and the lab read or write.
mount -t tmpfs tmpfs /run
mkdir -p /run/libvirt /run/lock
for d in /var/lib/libvirt /var/cache/libvirt /var/log/libvirt "$state"; do
  mkdir -p "$d"
  mount -t tmpfs tmpfs "$d"
done
mkdir -p "$t/etc-libvirt/qemu"
for f in /etc/libvirt/*.conf; do cp "$f" "$t/etc-libvirt/"; done
printf '%s\n' '# The qemu.conf of a compute node (not written by the lab): the demo must leave it alone.' \
  'user = "root"' 'group = "root"' 'security_driver = "none"' 'cgroup_controllers = [ ]' >"$t/etc-libvirt/qemu.conf"
mount --bind "$t/etc-libvirt" /etc/libvirt

if [ "$mode" = help ]; then
  # --help answers without bringing anything up (no libvirtd runs in this PID namespace).
  sh "$repo/scripts/demo.sh" --help >"$t/help.out" 2>&1 || echo "help-exit $?" >>"$t/help.out"
  pgrep -x libvirtd >"$t/help-daemons" || true
  ls -A "$state" >"$t/help-state" || true
  exit 0
fi

# The machine's own libvirtd, started outside the lab, with one guest defined.
libvirtd -d
for i in $(seq 1 600); do
  virsh -q -r -c qemu:///system list >/dev/null 2>&1 && break
  sleep 0.1
done
cat >"$t/guest.xml" <<XML
<domain type='qemu'><name>$guest</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices><memballoon model='none'/></devices></domain>
XML
virsh -q -c qemu:///system define "$t/guest.xml" >/dev/null
snapshot() {
  virsh -q -r -c qemu:///system list --all --name | sed '/^$/d' | sort
  echo "--- qemu.conf"
  sha256sum </etc/libvirt/qemu.conf
  echo "--- /etc/libvirt/qemu"
  ls -A /etc/libvirt/qemu
  echo "--- libvirtd"
  cat /run/libvirtd.pid
}
snapshot >"$t/before"

sh "$repo/scripts/demo.sh" "--web.listen-address=127.0.0.1:$port" --log.level=warn >"$t/demo.out" 2>&1 &
demo=$!
ok=0
for i in $(seq 1 900); do
  if curl -sf "http://127.0.0.1:$port/metrics" -o "$t/metrics" 2>/dev/null; then ok=1; break; fi
  kill -0 "$demo" 2>/dev/null || break
  sleep 0.1
done
kill -TERM "$demo" 2>/dev/null || true
wait "$demo" || true
echo "$ok" >"$t/served"
snapshot >"$t/after"
`;

describe('npm run demo on a machine whose libvirtd the lab did not start', () => {
  let t: string;
  const runs: Record<string, ReturnType<typeof spawnSync>> = {};
  const read = (f: string): string => readFileSync(join(t, f), 'utf8');
  const inNamespaces = (mode: string, port: number): ReturnType<typeof spawnSync> =>
    spawnSync(
      'unshare',
      [
        '--mount',
        '--net',
        '--pid',
        '--fork',
        '--mount-proc',
        '--propagation',
        'private',
        '--kill-child',
        'bash',
        join(t, 'script.sh'),
        mode,
        t,
        String(port),
        REPO,
        LAB_STATE,
        GUEST,
      ],
      { encoding: 'utf8', timeout: 240_000 },
    );

  before(async () => {
    t = mkdtempSync(join(tmpdir(), 'demo-test-'));
    writeFileSync(join(t, 'script.sh'), SCRIPT);
    const port = await freePort();
    runs['help'] = inNamespaces('help', port);
    runs['foreign'] = inNamespaces('foreign', port);
  });
  after(() => {
    rmSync(t, { recursive: true, force: true });
  });

  test('the namespace scripts ran to their end', () => {
    for (const [mode, run] of Object.entries(runs)) {
      assert.equal(run.status, 0, `${mode}: ${String(run.stdout)}\n${String(run.stderr)}`);
    }
  });

  test('--help answers without bringing anything up', () => {
    const help = read('help.out');
    assert.doesNotMatch(help, /help-exit/, help);
    assert.match(help, /LAB=0 npm run demo/);
    assert.match(help, /--web\.listen-address/, 'the exporter flags are listed too');
    assert.equal(read('help-daemons'), '', 'no libvirtd was started');
    assert.equal(read('help-state'), '', 'the lab was not brought up');
  });

  test('it serves that libvirt as it is and says why in one line', () => {
    const out = read('demo.out');
    assert.equal(read('served').trim(), '1', `the demo served /metrics:\n${out}`);
    const reason = out.split('\n').filter((l) => l.startsWith('demo: '));
    assert.equal(reason.length, 1, out);
    assert.match(reason[0] ?? '', /the lab did not start .* serving it as it is, without lab guests/);
    assert.doesNotMatch(out, /^lab: /m, 'the lab script did not run');
    const f = parseExposition(read('metrics'));
    assert.equal(f.get('libvirt_up')?.samples[0]?.value, 1);
    const domains = f.get('libvirt_domain_info_state')?.samples.map((s) => s.labels['domain']);
    assert.deepEqual(domains, [GUEST], 'exactly the guest of that libvirtd');
  });

  test('the domain list, qemu.conf, the persistent definitions and the daemon are unchanged', () => {
    const before = read('before');
    assert.match(before, new RegExp(`^${GUEST}$`, 'm'));
    assert.equal(read('after'), before);
  });
});
