// SPDX-License-Identifier: Apache-2.0
import type { Instance, NovaMetadata } from '../inspector/types.ts';
import { valueOf } from '../meters/family.ts';
import { openstackFamilies } from '../meters/openstack.ts';
import type { CollectorDefinition, ScrapeContext } from '../scrape/collector.ts';
import type { FamilySpec, MetricSink } from '../scrape/metric-sink.ts';
import { type ExtraLabels, keyedText, plainText } from './texts.ts';
import { familySpecs } from './rows.ts';

type Specs = Record<keyof typeof openstackFamilies, FamilySpec>;

const FLAVOR_SIZES = ['vcpus', 'memory', 'disk', 'ephemeral', 'swap'] as const;

// The Nova identity of a domain: from its description only (src/collectors/texts.ts).
const infoLabels: ExtraLabels = (i) => {
  const n = i.nova;
  return {
    instance_name: n?.displayName ?? '',
    instance_id: i.uuid,
    flavor_name: n?.flavor?.name ?? '',
    user_name: n?.userName ?? '',
    user_id: n?.userId ?? '',
    project_name: n?.projectName ?? '',
    project_id: n?.projectId ?? '',
  };
};
const flavorLabels: ExtraLabels = (i) => ({
  flavor_id: i.nova?.flavor?.id ?? '',
  flavor_name: i.nova?.flavor?.name ?? '',
});
const rootLabels: ExtraLabels = (i) => ({
  root_type: i.nova?.rootType ?? '',
  root_id: i.nova?.rootUuid ?? '',
});

/**
 * Writes the Nova identity series of one domain, once per scrape: each text carries the domain's name,
 * unique on a host, hence `addDistinct` (see the domain collector's `emitDomain`).
 */
function emitInstance(
  ctx: ScrapeContext,
  sink: MetricSink,
  specs: Specs,
  i: Instance,
  n: NovaMetadata,
): void {
  const f = openstackFamilies;
  // Everything here comes from the description: label texts cached across scrapes.
  const t = ctx.textsOf(i);
  const plain = plainText(ctx, i, t, specs.vcpus.labelNames);
  sink.addDistinct(specs.info, keyedText(ctx, i, t, 'openstack_info', specs.info.labelNames, infoLabels), 1);
  const fl = n.flavor;
  if (fl !== undefined) {
    const flavor = keyedText(ctx, i, t, 'openstack_flavor', specs.flavor.labelNames, flavorLabels);
    sink.addDistinct(specs.flavor, flavor, 1);
    for (const k of FLAVOR_SIZES) sink.addDistinct(specs[k], plain, valueOf(f[k], fl));
  }
  if (n.rootType !== undefined || n.rootUuid !== undefined) {
    sink.addDistinct(
      specs.root,
      keyedText(ctx, i, t, 'openstack_root', specs.root.labelNames, rootLabels),
      1,
    );
  }
  sink.addDistinct(specs.created, plain, valueOf(f.created, n));
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
