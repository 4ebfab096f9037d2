// SPDX-License-Identifier: Apache-2.0
import type { GuestAgentSkip } from '../inspector/guest-agent.ts';
import { valueOf } from '../meters/family.ts';
import { guestAgentFamilies } from '../meters/side.ts';
import type { CollectorDefinition } from '../scrape/collector.ts';
import { familySpecs } from './rows.ts';

const REASONS: readonly GuestAgentSkip[] = ['not_configured', 'unresponsive', 'timeout', 'error'];

/**
 * The guest_agent collector (opt-in): filesystems, hostname and OS of each running guest from its QEMU
 * guest agent, one virDomainGetGuestInfo per guest under the scrape deadline, over a read-write
 * connection (collectors.guest_agent.uri). Guests without an agent are skipped and counted.
 */
export const guestAgentCollector: CollectorDefinition<'guest_agent'> = {
  name: 'guest_agent',
  enabledByDefault: false,
  description:
    "Guest filesystems, hostname and OS from the QEMU guest agent (virDomainGetGuestInfo, one call per running guest). Needs libvirt's read-write socket: see collectors.guest_agent.uri.",
  groups: [],
  async update(ctx, sink) {
    const f = guestAgentFamilies;
    const { size, used, os, skipped } = familySpecs(f, ctx.domainLabelNames);
    for (const s of [size, used, os, skipped]) sink.declare(s);
    if (ctx.inspector.guestInfo === undefined) throw new Error('this inspector cannot read guest agents');
    const results = await ctx.inspector.guestInfo(ctx.inspection.instances, {
      uri: ctx.config.collectors.guest_agent.uri,
      signal: ctx.signal,
    });
    const counts = new Map<GuestAgentSkip, number>(REASONS.map((r) => [r, 0]));
    for (const [uuid, r] of results) {
      if (!r.ok) {
        counts.set(r.skip, (counts.get(r.skip) ?? 0) + 1);
        if (r.skip === 'error') ctx.log.debug({ uuid, err: r.message }, 'guest agent call failed');
        continue;
      }
      const labels = ctx.domainLabels(uuid);
      const info = r.info;
      sink.add(
        os,
        {
          ...labels,
          hostname: info.hostname ?? '',
          os_id: info.os.id ?? '',
          os_name: info.os.name ?? '',
          os_pretty_name: info.os.prettyName ?? '',
          os_version_id: info.os.versionId ?? '',
          kernel_release: info.os.kernelRelease ?? '',
          machine: info.os.machine ?? '',
        },
        1,
      );
      for (const fs of info.filesystems) {
        const l = {
          ...labels,
          mountpoint: fs.mountpoint,
          fstype: fs.fstype,
          device: fs.device ?? (fs.name !== '' ? `/dev/${fs.name}` : ''),
        };
        sink.add(size, l, valueOf(f.size, fs));
        sink.add(used, l, valueOf(f.used, fs));
      }
    }
    for (const [reason, n] of counts) sink.add(skipped, { reason }, n);
  },
};
