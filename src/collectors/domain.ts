// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { labelString } from '../scrape/metric-sink.ts';

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
    const names = ctx.domainLabelNames;
    const g = (name: string, help: string, extra: readonly string[] = []) =>
      ({ name, help, type: 'gauge', labelNames: [...names, ...extra] }) as const;
    const count = {
      name: 'libvirt_domains',
      help: 'Number of domains libvirt knows, running or not (virConnectListAllDomains).',
      type: 'gauge',
      labelNames: [],
    } as const;
    const info = g('libvirt_domain_info', 'Domain identity from its XML (<os><type>): value 1.', [
      'os_type',
      'os_type_arch',
      'os_type_machine',
    ]);
    const uuidInfo = g('libvirt_domain_uuid_info', 'Domain UUID and hypervisor type from its XML: value 1.', [
      'uuid',
      'hypervisor_type',
    ]);
    const state = g(
      'libvirt_domain_info_state',
      'Domain state code, libvirt state.state (0 nostate, 1 running, 2 blocked, 3 paused, 4 shutdown, 5 shutoff, 6 crashed, 7 pmsuspended).',
      ['state_desc'],
    );
    const reason = g(
      'libvirt_domain_state_reason',
      'Reason of the domain state, libvirt state.reason (meaning depends on the state; reason_desc names it).',
      ['state_desc', 'reason_desc'],
    );
    const maxMem = g(
      'libvirt_domain_info_maximum_memory_bytes',
      'Maximum memory of the domain, libvirt balloon.maximum (or <memory> of the domain XML), converted from KiB.',
    );
    const memUsage = g(
      'libvirt_domain_info_memory_usage_bytes',
      'Memory currently assigned to the domain, libvirt balloon.current (or <currentMemory> of the domain XML, updated by balloon-change events), converted from KiB.',
    );
    const vcpus = g(
      'libvirt_domain_info_virtual_cpus',
      'Number of vCPUs of the domain, libvirt vcpu.current (or the current <vcpu> of the domain XML).',
    );
    const timedOut = g(
      'libvirt_domain_timed_out',
      'Whether the stats of this running domain are partial or missing this scrape (1): its QEMU did not answer in time or its job is busy.',
    );
    for (const spec of [count, info, uuidInfo, state, reason, maxMem, memUsage, vcpus, timedOut])
      sink.declare(spec);

    const { instances, stats, skipped } = ctx.inspection;
    sink.add(count, {}, instances.length);
    const late = new Set(skipped.map((s) => s.uuid));
    for (const i of instances) {
      const labels = ctx.domainLabels(i.uuid);
      const s = stats.get(i.uuid);
      // Label texts that depend on the description (or on the state) only: cached across scrapes.
      const text = (key: string, names: readonly string[], extra?: Record<string, string>): string =>
        ctx.labelText(i.uuid, key, () => labelString(names, extra ? { ...labels, ...extra } : labels));
      const plain = text('', maxMem.labelNames);
      sink.addText(
        info,
        text('domain_info', info.labelNames, {
          os_type: i.osType ?? '',
          os_type_arch: i.osArch ?? '',
          os_type_machine: i.osMachine ?? '',
        }),
        1,
      );
      sink.addText(
        uuidInfo,
        text('domain_uuid', uuidInfo.labelNames, { uuid: i.uuid, hypervisor_type: i.hypervisorType }),
        1,
      );
      sink.addText(state, text(`state:${i.state}`, state.labelNames, { state_desc: i.state }), i.stateCode);
      const reasonDesc = REASONS[i.state]?.[i.stateReason] ?? 'unknown';
      sink.addText(
        reason,
        text(`reason:${i.state}:${reasonDesc}`, reason.labelNames, {
          state_desc: i.state,
          reason_desc: reasonDesc,
        }),
        i.stateReason,
      );
      const kib = (v: number | undefined): number | undefined => (v === undefined ? undefined : v * 1024);
      sink.addText(maxMem, plain, kib(s?.balloon?.maximumKiB ?? i.maxMemoryKiB));
      sink.addText(memUsage, plain, kib(s?.balloon?.currentKiB ?? i.currentMemoryKiB));
      sink.addText(vcpus, plain, s?.vcpuCurrent ?? i.vcpus);
      if (i.id > 0) sink.addText(timedOut, plain, late.has(i.uuid) ? 1 : 0);
    }
  },
};
