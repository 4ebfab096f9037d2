// SPDX-License-Identifier: Apache-2.0
import { type DescribedDomain, domainFamilies } from '../meters/domain.ts';
import { valueOf } from '../meters/family.ts';
import type { CollectorDefinition, ScrapeContext } from '../scrape/collector.ts';
import type { Instance } from '../inspector/types.ts';
import type { FamilySpec, MetricSink } from '../scrape/metric-sink.ts';
import { type ExtraLabels, keyedText, plainText } from './texts.ts';
import { familySpecs } from './rows.ts';

/** Reason names per state (virDomainRunningReason, virDomainPausedReason, …), from libvirt's headers. */
const REASONS: Readonly<Record<string, readonly string[]>> = {
  nostate: ['unknown'],
  running: [
    'unknown',
    'booted',
    'migrated',
    'restored',
    'from_snapshot',
    'unpaused',
    'migration_canceled',
    'save_canceled',
    'wakeup',
    'crashed',
    'postcopy',
    'postcopy_failed',
  ],
  blocked: ['unknown'],
  paused: [
    'unknown',
    'user',
    'migration',
    'save',
    'dump',
    'ioerror',
    'watchdog',
    'from_snapshot',
    'shutting_down',
    'snapshot',
    'crashed',
    'starting_up',
    'postcopy',
    'postcopy_failed',
    'api_error',
  ],
  shutdown: ['unknown', 'user'],
  shutoff: [
    'unknown',
    'shutdown',
    'destroyed',
    'crashed',
    'migrated',
    'saved',
    'failed',
    'from_snapshot',
    'daemon',
  ],
  crashed: ['unknown', 'panicked'],
  pmsuspended: ['unknown'],
};

type Specs = Record<keyof typeof domainFamilies, FamilySpec>;

const reasonOf = (i: Instance): string => REASONS[i.state]?.[i.stateReason] ?? 'unknown';
const osInfo: ExtraLabels = (i) => ({
  os_type: i.osType ?? '',
  os_type_arch: i.osArch ?? '',
  os_type_machine: i.osMachine ?? '',
});
const uuidInfo: ExtraLabels = (i) => ({ uuid: i.uuid, hypervisor_type: i.hypervisorType });
const stateLabels: ExtraLabels = (i) => ({ state_desc: i.state });
const reasonLabels: ExtraLabels = (i) => ({ state_desc: i.state, reason_desc: reasonOf(i) });

/** Cache keys of the state and reason label sets, made once (not one key string per domain and scrape). */
const STATE_KEYS = new Map(Object.keys(REASONS).map((s) => [s, `state:${s}`]));
const REASON_KEYS = new Map(
  Object.entries(REASONS).map(([s, reasons]) => [s, reasons.map((r) => `reason:${s}:${r}`)]),
);

/**
 * Writes the series of one domain (running or not).
 * NOTE: `addDistinct`, not the checked `addText`: each domain is written once per scrape and every text
 * here carries its `domain` label, a name libvirt keeps unique on a host (as the rows rely on,
 * src/collectors/rows.ts); the checked path kept a set of texts per family, promoted with the sink.
 */
function emitDomain(
  ctx: ScrapeContext,
  sink: MetricSink,
  specs: Specs,
  d: DescribedDomain,
  late: boolean,
): void {
  const i = d.instance;
  const f = domainFamilies;
  // Label texts that depend on the description (or on the state) only: cached across scrapes.
  const t = ctx.textsOf(i);
  const plain = plainText(ctx, i, t, specs.maxMemory.labelNames);
  sink.addDistinct(specs.info, keyedText(ctx, i, t, 'domain_info', specs.info.labelNames, osInfo), 1);
  sink.addDistinct(
    specs.uuidInfo,
    keyedText(ctx, i, t, 'domain_uuid', specs.uuidInfo.labelNames, uuidInfo),
    1,
  );
  const stateKey = STATE_KEYS.get(i.state) ?? `state:${i.state}`;
  const state = keyedText(ctx, i, t, stateKey, specs.state.labelNames, stateLabels);
  sink.addDistinct(specs.state, state, valueOf(f.state, d));
  const reasonKey = REASON_KEYS.get(i.state)?.[i.stateReason] ?? `reason:${i.state}:${reasonOf(i)}`;
  const reason = keyedText(ctx, i, t, reasonKey, specs.reason.labelNames, reasonLabels);
  sink.addDistinct(specs.reason, reason, valueOf(f.reason, d));
  sink.addDistinct(specs.maxMemory, plain, valueOf(f.maxMemory, d));
  sink.addDistinct(specs.memoryUsage, plain, valueOf(f.memoryUsage, d));
  sink.addDistinct(specs.vcpus, plain, valueOf(f.vcpus, d));
  if (i.id > 0) sink.addDistinct(specs.timedOut, plain, late ? 1 : 0);
}

/** The domain collector: every domain (running, paused or shut off) with its state and sizes. */
export const domainCollector: CollectorDefinition<'domain'> = {
  name: 'domain',
  enabledByDefault: true,
  description: 'Domain info, state and reason, vCPUs and memory sizes, timed-out flag.',
  // NOTE: not 'balloon' and 'vcpu': those make libvirtd ask every QEMU (guest memory statistics, halted
  // vCPUs), which doubled the libvirtd time of a scrape limited to this collector. The sizes come from
  // those groups when another collector reads them, else from the live XML (libvirt's own copy, which
  // is what virDomainGetInfo answers from), kept current by lifecycle and balloon-change events.
  groups: ['state'],
  update(ctx, sink) {
    const specs = familySpecs(domainFamilies, ctx.domainLabelNames);
    for (const spec of Object.values(specs)) sink.declare(spec);
    const { instances, stats, skipped } = ctx.inspection;
    sink.add(specs.count, {}, instances.length);
    const late = new Set(skipped.map((s) => s.uuid));
    for (const instance of instances)
      emitDomain(ctx, sink, specs, { instance, stats: stats.get(instance.uuid) }, late.has(instance.uuid));
  },
};
