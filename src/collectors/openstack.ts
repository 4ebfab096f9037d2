// SPDX-License-Identifier: Apache-2.0
import type { Instance, NovaMetadata } from '../inspector/types.ts';
import { valueOf } from '../meters/family.ts';
import { openstackFamilies } from '../meters/openstack.ts';
import type { CollectorDefinition, ScrapeContext } from '../scrape/collector.ts';
import { type FamilySpec, labelString, type MetricSink } from '../scrape/metric-sink.ts';
import { familySpecs } from './rows.ts';

type Specs = Record<keyof typeof openstackFamilies, FamilySpec>;

/** Writes the Nova identity series of one domain. */
function emitInstance(
  ctx: ScrapeContext,
  sink: MetricSink,
  specs: Specs,
  i: Instance,
  n: NovaMetadata,
): void {
  const f = openstackFamilies;
  const labels = ctx.domainLabels(i.uuid);
  // Everything here comes from the description: label texts cached across scrapes.
  const text = (key: string, names: readonly string[], extra?: Record<string, string>): string =>
    ctx.labelText(i.uuid, key, () => labelString(names, extra ? { ...labels, ...extra } : labels));
  const plain = text('', specs.vcpus.labelNames);
  sink.addText(
    specs.info,
    text('openstack_info', specs.info.labelNames, {
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
  const fl = n.flavor;
  if (fl !== undefined) {
    const ids = { flavor_id: fl.id ?? '', flavor_name: fl.name ?? '' };
    sink.addText(specs.flavor, text('openstack_flavor', specs.flavor.labelNames, ids), 1);
    for (const k of ['vcpus', 'memory', 'disk', 'ephemeral', 'swap'] as const)
      sink.addText(specs[k], plain, valueOf(f[k], fl));
  }
  if (n.rootType !== undefined || n.rootUuid !== undefined) {
    const root = { root_type: n.rootType ?? '', root_id: n.rootUuid ?? '' };
    sink.addText(specs.root, text('openstack_root', specs.root.labelNames, root), 1);
  }
  sink.addText(specs.created, plain, valueOf(f.created, n));
}

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
    const specs = familySpecs(openstackFamilies, ctx.domainLabelNames);
    for (const spec of Object.values(specs)) sink.declare(spec);
    for (const i of ctx.inspection.instances)
      if (i.nova !== undefined) emitInstance(ctx, sink, specs, i, i.nova);
  },
};
