// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { emitRows } from './rows.ts';

/** The vcpu collector: its rows of the meter table. */
export const vcpuCollector: CollectorDefinition = {
  name: 'vcpu',
  groups: ['vcpu'],
  update(ctx, sink) {
    emitRows(ctx, sink, 'vcpu');
  },
};
