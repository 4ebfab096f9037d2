// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { emitRows } from './rows.ts';

/** The dirtyrate collector (opt-in): the last memory dirty-rate calculation (virsh domdirtyrate-calc). */
export const dirtyrateCollector: CollectorDefinition = {
  name: 'dirtyrate',
  groups: ['dirtyrate'],
  update(ctx, sink) {
    emitRows(ctx, sink, 'dirtyrate');
  },
};
