// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The ceilometer collector (opt-in): the series that Ceilometer's own Prometheus exporter
 * (`[polling] enable_prometheus_exporter`, `ceilometer/polling/prom_exporter.py`, 24.0.0 / 2025.1 and
 * later) serves on a compute node, with its names, labels and values, so that what is built on them
 * (Aodh's Prometheus evaluator, Heat autoscaling queries such as
 * `rate(ceilometer_cpu{server_group=~"…"}[5m])`) works on this exporter unchanged.
 *
 * The samples are the side-publisher's (the sample model of src/ceilometer), built from this scrape's
 * inspection for every meter of `publisher.ceilometer_release` with `publisher.unit_profile`,
 * `publisher.host` and `publisher.flavor_ids` (read even when the publisher is disabled), so /metrics
 * and AMQP carry the same values. Each sample becomes one gauge, as the real exporter does:
 * - name `ceilometer_` + the meter name with `.` replaced by `_`;
 * - labels from the sample, in the order and with the Python truthiness rules of
 *   `prom_exporter._gen_labels` (see {@link ceilometerLabels});
 * - value the sample's volume, whatever the meter type (cumulative meters are gauges there too).
 *
 * Differences, on purpose:
 * - delta meters (`network.*.bytes.delta`) are not served. The real exporter shows the difference
 *   between its last two polls; a scrape-time collector has no polls, and a difference between scrapes
 *   would depend on who scrapes and how often (two Prometheus replicas would each see part of the
 *   traffic) and keep state across scrapes. `increase(ceilometer_network_incoming_bytes[5m])` gives the
 *   same quantity over a window the query chooses;
 * - the series are fresh on every scrape: a shut-off or deleted guest is gone at once (24.x/25.x kept
 *   a meter's old series through polls that produced none of its samples; 26.0.0 clears them per poll);
 * - HELP says what the meter is (the real exporter writes an empty HELP);
 * - every sample gets its own label set; the real exporter fixes a family's label names at its first
 *   sample and fails on a sample with a different count (no compute sample of this project differs).
 */
import type { CollectorDefinition, ScrapeContext } from '../scrape/collector.ts';
import type { FamilySpec, MetricSink } from '../scrape/metric-sink.ts';
import { prepareCycle } from '../ceilometer/cycle.ts';
import { discoverInstances } from '../ceilometer/discovery.ts';
import { AGENT_STATS_GROUPS, computeMeters } from '../ceilometer/meters.ts';
import { type PyDict, PyFloat, pyStr, type PyValue } from '../ceilometer/python-format.ts';
import { defaultUnitProfile, parseRelease, type Release, type UnitProfile } from '../ceilometer/release.ts';
import { meterSamples } from '../ceilometer/samples.ts';
import { STOPPED_INSTANCE_METERS, stoppedCycle } from '../ceilometer/stopped.ts';
import type { ComputeMeter, Sample } from '../ceilometer/types.ts';

/** The first Ceilometer release with the built-in exporter (24.0.0, 2025.1). */
const FIRST_EXPORTER_RELEASE = 24;
/** `flavor_id` and `flavor_name` labels: "Expose the flavor_id and flavor_name in Prometheus metrics" (25.0.0, 2025.2). */
const FLAVOR_LABELS_SINCE = 25;

/** What varies between releases of `_gen_labels` for compute samples. */
export interface LabelLayout {
  /** `flavor_id` / `flavor_name` from resource_metadata.flavor (25.0.0 and later). */
  readonly flavorLabels: boolean;
}

/**
 * The label layout of the exporter of a release. Releases before 24.0.0 have no exporter: they get
 * the layout of 24.0.0, the first one.
 */
export function labelLayout(release: Release): LabelLayout {
  const major = Math.max(release.major, FIRST_EXPORTER_RELEASE);
  return { flavorLabels: major >= FLAVOR_LABELS_SINCE };
}

/** The exporter's metric name of a meter: `ceilometer_` + the counter name with dots as underscores. */
export function ceilometerMetricName(counterName: string): string {
  return `ceilometer_${counterName.replaceAll('.', '_')}`;
}

/** Python truthiness of a metadata value (None, False, 0, 0.0, '', empty dict or list are false). */
function truthy(v: PyValue | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === 0n || v === '') return false;
  if (v instanceof PyFloat) return v.value !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') {
    for (const k in v as PyDict) if (Object.hasOwn(v, k)) return true;
    return false;
  }
  return true;
}

/** A label value as prometheus_client writes it (`str()` of what the metadata holds). */
function labelValue(v: PyValue | undefined): string {
  return typeof v === 'string' ? v : pyStr(v ?? null);
}

function dictOf(v: PyValue | undefined): PyDict | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof PyFloat)
    ? (v as PyDict)
    : undefined;
}

/**
 * The labels of one sample, in the exporter's order (`prom_exporter._gen_labels`):
 * 1. the first segment of the counter name as the label name, valued with the third segment if the
 *    name has more than two, else the resource id (`cpu` → `cpu="<uuid>"`,
 *    `disk.device.read.bytes` → `disk="read"`, `network.incoming.bytes` → `network="bytes"`);
 * 2. `publisher="ceilometer"`;
 * 3. `type`: the second segment, or the first when there is only one (`cpu` → `type="cpu"`);
 * 4. `counter`, `project`, `user`, `unit`, `resource` from the meter name, project id, user id, unit
 *    and resource id, each only when not empty (perf meters have unit '' and no `unit`);
 *    `project_name`/`user_name` exist only with Keystone name discovery, which samples here never have;
 * 5. with a resource_metadata: `vm_instance` = metadata `host` (Nova's hashed hostId, not the compute
 *    node name), `resource_name` = `display_name:name` (the tap name for vNIC samples) or whichever is
 *    set, `server_group` = user_metadata.server_group or `none`, then (layout) `flavor_id` and
 *    `flavor_name` from the flavor dict.
 * Labels of non-compute meters (alarm state, load balancer zone, Cinder service health) are left out:
 * no sample of this exporter has them.
 */
export function ceilometerLabels(
  sample: Sample,
  layout: LabelLayout,
): { names: string[]; labels: Record<string, string> } {
  const names: string[] = [];
  const labels: Record<string, string> = {};
  const add = (name: string, value: PyValue | undefined): void => {
    names.push(name);
    labels[name] = labelValue(value);
  };
  const shards = sample.name.split('.');
  add(shards[0] ?? '', shards.length > 2 ? shards[2] : sample.resourceId);
  add('publisher', 'ceilometer');
  add('type', shards.length > 1 ? shards[1] : shards[0]);
  if (sample.name !== '') add('counter', sample.name);
  if (sample.projectId !== '') add('project', sample.projectId);
  if (sample.userId !== '') add('user', sample.userId);
  if (sample.unit !== '') add('unit', sample.unit);
  if (sample.resourceId !== '') add('resource', sample.resourceId);
  const md = sample.metadata;
  if (truthy(md)) {
    if (truthy(md.host)) add('vm_instance', md.host);
    if (truthy(md.display_name)) {
      add(
        'resource_name',
        truthy(md.name) ? `${labelValue(md.display_name)}:${labelValue(md.name)}` : md.display_name,
      );
    } else if (truthy(md.name)) {
      add('resource_name', md.name);
    }
    const group = dictOf(md.user_metadata)?.server_group;
    add('server_group', truthy(group) ? group : 'none');
    const flavor = dictOf(md.flavor);
    if (layout.flavorLabels && flavor && truthy(flavor)) {
      if (truthy(flavor.id)) add('flavor_id', flavor.id);
      if (truthy(flavor.name)) add('flavor_name', flavor.name);
    }
  }
  return { names, labels };
}

/** What the collector serves for a configuration: the meters and the label layout. */
interface Plan {
  readonly meters: readonly ComputeMeter[];
  readonly layout: LabelLayout;
}

// NOTE: computeMeters builds closures over the table; the result only depends on these two
// settings, so it is built once per configuration instead of on every scrape.
const plans = new Map<string, Plan>();

function planFor(releaseText: string, profile: UnitProfile | undefined): Plan {
  const key = `${releaseText}/${profile ?? ''}`;
  let plan = plans.get(key);
  if (plan === undefined) {
    const release = parseRelease(releaseText);
    const meters = computeMeters(release, profile ?? defaultUnitProfile(release)).filter(
      (m) => m.type !== 'delta',
    );
    plan = { meters, layout: labelLayout(release) };
    plans.set(key, plan);
  }
  return plan;
}

function help(meter: ComputeMeter): string {
  const unit = meter.unit === '' ? 'no unit' : meter.unit;
  return (
    `Ceilometer meter ${meter.name} (${meter.type}, ${unit}) of each sample the compute agent would poll now, ` +
    "as Ceilometer's Prometheus exporter serves it (always a gauge)."
  );
}

/** Writes one gauge per sample of every meter. */
async function update(ctx: ScrapeContext, sink: MetricSink): Promise<void> {
  const cfg = ctx.config.publisher;
  const { meters, layout } = planFor(cfg.ceilometer_release, cfg.unit_profile);
  // [DEFAULT] host: the input of the hashed `vm_instance`; libvirt's hostname unless configured.
  const host = cfg.host ?? (await ctx.inspector.hostInfo({ signal: ctx.signal })).hostname;
  const { discovered } = discoverInstances(ctx.inspection, { host, flavorIds: cfg.flavor_ids });
  if (discovered.length === 0) return;
  // No delta tracker: delta meters are not served (see the file comment).
  const cycle = prepareCycle(ctx.inspection, discovered, undefined, 0);
  const stopped = await stoppedCycle(cfg.report_stopped_instance_metrics, ctx.inspector, cycle, ctx.signal);
  for (const meter of meters) {
    // The samples of a meter nearly always share one label set: one spec per set, not per sample.
    const specs = new Map<string, FamilySpec>();
    const from = stopped && STOPPED_INSTANCE_METERS.has(meter.name) ? stopped : cycle;
    for (const sample of meterSamples(meter, from)) {
      const { names, labels } = ceilometerLabels(sample, layout);
      const key = names.join(',');
      let spec = specs.get(key);
      if (spec === undefined) {
        spec = {
          name: ceilometerMetricName(meter.name),
          help: help(meter),
          type: 'gauge',
          labelNames: names,
        };
        specs.set(key, spec);
      }
      sink.add(spec, labels, sample.volume);
    }
  }
}

/** The ceilometer collector (opt-in): Ceilometer's own Prometheus names and labels, one gauge per sample. */
export const ceilometerCollector: CollectorDefinition<'ceilometer'> = {
  name: 'ceilometer',
  enabledByDefault: false,
  description:
    "Ceilometer's own Prometheus exporter series (ceilometer_cpu, \u2026): one gauge per sample, its names and labels (publisher.ceilometer_release decides the meters).",
  // Every group the real agent reads (domainListGetStats with stats=0), perf included for perf.*.
  groups: AGENT_STATS_GROUPS,
  update,
};
