// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { emitRows } from './rows.ts';

/** The cpu collector: its rows of the meter table. */
export const cpuCollector: CollectorDefinition = {
  name: 'cpu',
  groups: ['cpu'],
  update(ctx, sink) {
    emitRows(ctx, sink, 'cpu');
  },
};
