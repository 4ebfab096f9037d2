// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { emitRows } from './rows.ts';

/** The cpu collector: its rows of the meter table. */
export const cpuCollector: CollectorDefinition<'cpu'> = {
  name: 'cpu',
  enabledByDefault: true,
  description: 'Cumulative CPU time of each domain (total, user, system).',
  groups: ['cpu'],
  update(ctx, sink) {
    emitRows(ctx, sink, 'cpu');
  },
};
