// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The options of the libvirt inspector, and the client it builds from them when none is given.
 */
import { LibvirtClient, type Clock, type ConnectionAnomaly } from '../libvirt/index.ts';

/** Options of the libvirt inspector (`createLibvirtInspector`). */
export interface LibvirtInspectorOptions {
  /** libvirt URI; default `qemu:///system` over the read-only socket. */
  readonly uri?: string;
  /** Open read-write (never needed by this project). Default false. */
  readonly readWrite?: boolean;
  /** TLS file overrides for `qemu+tls://`. */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** Connect timeout in ms (default 2000). */
  readonly connectTimeoutMs?: number;
  /** Most concurrent bulk stats calls per cycle (default 4; libvirtd serves 5 calls per connection). */
  readonly maxShards?: number;
  /** Soft timeout of a stats shard before it is abandoned and retried, in ms (default 2000). */
  readonly shardTimeoutMs?: number;
  /** An existing client (tests); otherwise one is created from the options above. */
  readonly client?: LibvirtClient;
  /**
   * The read-write client for guest agent calls (tests); otherwise `client` when given, else one is
   * created for the guest_agent collector's URI on first use.
   */
  readonly agentClient?: LibvirtClient;
  /** Where libvirt writes QEMU pid files and where /proc is (tests); see `CgroupReader` in cgroups.ts. */
  readonly cgroupPaths?: { readonly pidDir?: string; readonly proc?: string };
  /** Clock for event retention (tests); default the `clock`'s. */
  readonly now?: () => number;
  /**
   * Time for the shard timeouts, the deadlines of the shared host-info and pool reads, and the
   * freshness of late stats answers (tests drive it by hand). Default: the system clock.
   */
  readonly clock?: Clock;
  /**
   * Called for each anomaly of the client built from these options (a dropped message, a listener that
   * threw): where the exporter logs them. Not used with `client`, which has its own.
   */
  readonly onAnomaly?: (anomaly: ConnectionAnomaly) => void;
}

/** The client of `options`: the one given, else one for its URI (read-only unless `readWrite`). */
export function clientFor(options: LibvirtInspectorOptions): LibvirtClient {
  return (
    options.client ??
    new LibvirtClient({
      ...(options.uri !== undefined ? { uri: options.uri } : {}),
      readOnly: options.readWrite !== true,
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      ...(options.onAnomaly !== undefined ? { onAnomaly: options.onAnomaly } : {}),
    })
  );
}
