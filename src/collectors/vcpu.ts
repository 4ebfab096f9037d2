// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { emitRows } from './rows.ts';

/** The vcpu collector: its rows of the meter table. */
export const vcpuCollector: CollectorDefinition<'vcpu'> = {
  name: 'vcpu',
  enabledByDefault: true,
  description: 'Per-vCPU state, time, wait and delay (steal).',
  groups: ['vcpu'],
  update(ctx, sink) {
    emitRows(ctx, sink, 'vcpu');
  },
};
