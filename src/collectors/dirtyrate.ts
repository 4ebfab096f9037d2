// SPDX-License-Identifier: Apache-2.0
import type { CollectorDefinition } from '../scrape/collector.ts';
import { emitRows } from './rows.ts';

/** The dirtyrate collector (opt-in): the last memory dirty-rate calculation (virsh domdirtyrate-calc). */
export const dirtyrateCollector: CollectorDefinition<'dirtyrate'> = {
  name: 'dirtyrate',
  enabledByDefault: false,
  description: 'Memory dirty rate, when a calculation was started on the domain.',
  groups: ['dirtyrate'],
  update(ctx, sink) {
    emitRows(ctx, sink, 'dirtyrate');
  },
};
