// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { labelString } from '../scrape/metric-sink.ts';

/**
 * The openstack collector: the Nova identity written into each domain's metadata, as info metrics joined
 * on `domain` (never stamped on every series unless metrics.identity_labels asks for it).
 */
export const openstackCollector: CollectorDefinition<'openstack'> = {
  name: 'openstack',
  enabledByDefault: true,
  description: 'Nova identity (project, user, flavor, image) as info metrics.',
  groups: ['state'],
  update(ctx, sink) {
    const g = (name: string, help: string, extra: readonly string[] = []) =>
      ({ name, help, type: 'gauge', labelNames: [...ctx.domainLabelNames, ...extra] }) as const;
    const info = g(
      'libvirt_domain_openstack_info',
      'OpenStack identity of the domain from Nova metadata (<nova:instance>, nova/1.1 or 1.0): value 1.',
      ['instance_name', 'instance_id', 'flavor_name', 'user_name', 'user_id', 'project_name', 'project_id'],
    );
    const flavor = g(
      'libvirt_domain_openstack_flavor_info',
      'Nova flavor of the domain (<nova:flavor>): value 1.',
      ['flavor_id', 'flavor_name'],
    );
    const image = g(
      'libvirt_domain_openstack_root_info',
      'Root disk origin of the domain (<nova:root>): value 1.',
      ['root_type', 'root_id'],
    );
    const vcpus = g(
      'libvirt_domain_openstack_flavor_vcpus',
      'vCPUs of the Nova flavor (<nova:flavor><nova:vcpus>).',
    );
    const mem = g(
      'libvirt_domain_openstack_flavor_memory_bytes',
      'Memory of the Nova flavor (<nova:flavor><nova:memory>), converted from MiB.',
    );
    const disk = g(
      'libvirt_domain_openstack_flavor_disk_bytes',
      'Root disk of the Nova flavor (<nova:flavor><nova:disk>), converted from GiB.',
    );
    const eph = g(
      'libvirt_domain_openstack_flavor_ephemeral_bytes',
      'Ephemeral disk of the Nova flavor (<nova:flavor><nova:ephemeral>), converted from GiB.',
    );
    const swap = g(
      'libvirt_domain_openstack_flavor_swap_bytes',
      'Swap of the Nova flavor (<nova:flavor><nova:swap>), converted from MiB.',
    );
    const created = g(
      'libvirt_domain_openstack_creation_timestamp_seconds',
      'When Nova created the instance (<nova:creationTime>), seconds since the epoch.',
    );
    for (const spec of [info, flavor, image, vcpus, mem, disk, eph, swap, created]) sink.declare(spec);

    const MiB = 1024 * 1024;
    const GiB = 1024 * MiB;
    const times = (v: number | undefined, f: number): number | undefined =>
      v === undefined ? undefined : v * f;
    for (const i of ctx.inspection.instances) {
      const n = i.nova;
      if (n === undefined) continue;
      const labels = ctx.domainLabels(i.uuid);
      // Everything here comes from the description: label texts cached across scrapes.
      const text = (key: string, names: readonly string[], extra?: Record<string, string>): string =>
        ctx.labelText(i.uuid, key, () => labelString(names, extra ? { ...labels, ...extra } : labels));
      const plain = text('', vcpus.labelNames);
      sink.addText(
        info,
        text('openstack_info', info.labelNames, {
          instance_name: n.displayName ?? '',
          instance_id: i.uuid,
          flavor_name: n.flavor?.name ?? '',
          user_name: n.userName ?? '',
          user_id: n.userId ?? '',
          project_name: n.projectName ?? '',
          project_id: n.projectId ?? '',
        }),
        1,
      );
      if (n.flavor !== undefined) {
        const fl = n.flavor;
        sink.addText(
          flavor,
          text('openstack_flavor', flavor.labelNames, { flavor_id: fl.id ?? '', flavor_name: fl.name ?? '' }),
          1,
        );
        sink.addText(vcpus, plain, fl.vcpus);
        sink.addText(mem, plain, times(fl.memoryMiB, MiB));
        sink.addText(disk, plain, times(fl.diskGiB, GiB));
        sink.addText(eph, plain, times(fl.ephemeralGiB, GiB));
        sink.addText(swap, plain, times(fl.swapMiB, MiB));
      }
      if (n.rootType !== undefined || n.rootUuid !== undefined) {
        sink.addText(
          image,
          text('openstack_root', image.labelNames, {
            root_type: n.rootType ?? '',
            root_id: n.rootUuid ?? '',
          }),
          1,
        );
      }
      sink.addText(created, plain, n.creationTimestampSeconds);
    }
  },
};
