// SPDX-License-Identifier: Apache-2.0
/**
 * Closing a retired connection (one pinned by abandoned calls) once its calls have settled, or after a
 * grace period at the latest.
 *
 * @packageDocumentation
 */
import type { Clock } from './clock.ts';
import type { LibvirtConnection } from './connection.ts';

/** Closes `conn` when no call is in flight any more (at once if none is), or after `graceMs`; then `done()`. */
export function closeWhenIdle(
  conn: LibvirtConnection,
  clock: Clock,
  graceMs: number,
  done: () => void,
): void {
  if (conn.inFlight === 0) {
    done();
    void conn.close();
    return;
  }
  const finish = (): void => {
    cancel();
    conn.off('idle', finish);
    done();
    void conn.close();
  };
  const cancel = clock.setTimer(finish, graceMs);
  conn.on('idle', finish);
}
