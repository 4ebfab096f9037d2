// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Families read outside libvirt's bulk stats: the guest's cgroup v2 files (pressure), the QEMU guest
 * agent (guest_agent) and libvirt's domain events (events).
 */
import type { GuestPressure } from '../inspector/cgroups.ts';
import type { GuestFilesystem } from '../inspector/guest-agent.ts';
import { family, info, familyByKey, type Family } from './family.ts';

/** A family of the pressure, guest_agent or events collector. */
export type SideFamily = Family<GuestPressure> | Family<GuestFilesystem> | Family;

const CGROUP = "in the guest's cgroup v2 directory";

function psi(resource: 'cpu' | 'memory' | 'io', kind: 'some' | 'full'): Family<GuestPressure> {
  const what = { cpu: 'CPU', memory: 'memory', io: 'I/O' }[resource];
  const waiting = kind === 'some';
  return family<GuestPressure>({
    key: `pressure_${resource}_${waiting ? 'waiting' : 'stalled'}`,
    collector: 'pressure',
    source: `PSI "${kind}" total of ${resource}.pressure ${CGROUP}`,
    rawUnit: 'us',
    name: `libvirt_domain_pressure_${resource}_${waiting ? 'waiting' : 'stalled'}_seconds_total`,
    type: 'counter',
    help: {
      about: waiting
        ? `Time at least one task of the guest's QEMU waited for ${what} on the host`
        : `Time all non-idle tasks of the guest's QEMU were stalled on ${what} at once`,
      cite: 'paren',
    },
    read: (p) => (waiting ? p[resource].someUs : p[resource].fullUs),
  });
}

/** Families of the pressure collector, read from each running guest's cgroup. */
export const pressureFamilies: readonly Family<GuestPressure>[] = [
  psi('cpu', 'some'),
  psi('cpu', 'full'),
  psi('memory', 'some'),
  psi('memory', 'full'),
  psi('io', 'some'),
  psi('io', 'full'),
  family<GuestPressure>({
    key: 'cpu_throttled',
    collector: 'pressure',
    source: 'cpu.stat throttled_usec',
    rawUnit: 'us',
    name: 'libvirt_domain_cpu_throttled_seconds_total',
    type: 'counter',
    help: {
      template:
        "Time the guest's QEMU was throttled by its CPU quota ({source} of its cgroup v2 directory, when cpu.max sets a quota), {converted}.",
    },
    read: (p) => p.throttledUs,
  }),
  family<GuestPressure>({
    key: 'cpu_throttled_periods',
    collector: 'pressure',
    source: 'cpu.stat nr_throttled',
    rawUnit: 'count',
    name: 'libvirt_domain_cpu_throttled_periods_total',
    type: 'counter',
    help: {
      template:
        "Quota periods in which the guest's QEMU was throttled ({source} of its cgroup v2 directory, when cpu.max sets a quota).",
    },
    read: (p) => p.throttledPeriods,
  }),
];

const AGENT = 'from the QEMU guest agent';
const FS_LABELS = ['mountpoint', 'fstype', 'device'];

/** Families of the guest_agent collector, in the order they are served. */
export const guestAgentFamilies = {
  size: family<GuestFilesystem>({
    key: 'filesystem_size',
    collector: 'guest_agent',
    source: 'virDomainGetGuestInfo fs.<n>.total-bytes',
    rawUnit: 'bytes',
    name: 'libvirt_domain_filesystem_size_bytes',
    type: 'gauge',
    help: { about: `Size of a filesystem mounted in the guest, ${AGENT}`, cite: 'paren' },
    extraLabels: FS_LABELS,
    read: (fs) => fs.totalBytes,
  }),
  used: family<GuestFilesystem>({
    key: 'filesystem_used',
    collector: 'guest_agent',
    source: 'virDomainGetGuestInfo fs.<n>.used-bytes',
    rawUnit: 'bytes',
    name: 'libvirt_domain_filesystem_used_bytes',
    type: 'gauge',
    help: { about: `Space used on a filesystem mounted in the guest, ${AGENT}`, cite: 'paren' },
    extraLabels: FS_LABELS,
    read: (fs) => fs.usedBytes,
  }),
  os: info({
    key: 'guest_os_info',
    collector: 'guest_agent',
    source:
      'virDomainGetGuestInfo hostname, os.id, os.name, os.pretty-name, os.version-id, os.kernel-release, os.machine',
    name: 'libvirt_domain_guest_os_info',
    help: { template: `The guest's own hostname and OS, ${AGENT} ({source}): value 1.` },
    extraLabels: [
      'hostname',
      'os_id',
      'os_name',
      'os_pretty_name',
      'os_version_id',
      'kernel_release',
      'machine',
    ],
  }),
  skipped: family({
    key: 'guest_agent_skipped',
    collector: 'guest_agent',
    source: 'virDomainGetGuestInfo errors',
    rawUnit: 'count',
    name: 'libvirt_guest_agent_skipped_domains',
    type: 'gauge',
    help: {
      template:
        'Running guests whose agent was not read this scrape, by reason: not_configured (no agent channel), unresponsive (agent not running or not answering), timeout (scrape deadline), error.',
    },
    domainLabels: 'none',
    extraLabels: ['reason'],
  }),
} as const;

/** The family of the events collector. */
export const eventsFamily = family({
  key: 'domain_events',
  collector: 'events',
  source:
    'libvirt domain events: lifecycle (detail as named by libvirt), io-error-reason (detail: reason), watchdog (detail: action)',
  rawUnit: 'count',
  name: 'libvirt_domain_events_total',
  type: 'counter',
  help: {
    template:
      "Domain events since the exporter started: lifecycle events (event started, suspended, resumed, stopped, shutdown, crashed, defined, undefined, pmsuspended, with libvirt's detail: booted, ioerror, watchdog, destroyed, crashed, failed, migrated, …), io_error (detail: QEMU's reason, e.g. enospc) and watchdog (detail: the action). Kept for collectors.events.retention after the domain disappears.",
  },
  domainLabels: 'domain',
  extraLabels: ['event', 'detail'],
});

/** Families of the pressure, guest_agent and events collectors. */
export const sideFamilies: readonly SideFamily[] = [
  ...pressureFamilies,
  ...Object.values(guestAgentFamilies),
  eventsFamily,
];

/** The side family of `key`; throws for an unknown key (a programming error). */
export function sideFamily(key: string): SideFamily {
  return familyByKey(sideFamilies, key);
}
