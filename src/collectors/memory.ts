// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { emitRows } from './rows.ts';

/** The memory collector: its rows of the meter table. */
export const memoryCollector: CollectorDefinition<'memory'> = {
  name: 'memory',
  enabledByDefault: true,
  description: 'Balloon and guest memory statistics.',
  groups: ['balloon'],
  update(ctx, sink) {
    emitRows(ctx, sink, 'memory');
  },
};
