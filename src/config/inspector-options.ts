// SPDX-License-Identifier: Apache-2.0
/**
 * The libvirt inspector's options from the configuration: one builder for the server (src/main.ts) and
 * the `inspect` command (src/cli/inspect.ts), so that both reach libvirt the same way (TLS files
 * included).
 */
import type { LibvirtInspectorOptions } from '../inspector/libvirt-inspector.ts';
import { parseDuration } from './duration.ts';
import type { Config } from './schema.ts';

/** The inspector options of a configuration's `libvirt` section. */
export function inspectorOptions(config: Pick<Config, 'libvirt'>): LibvirtInspectorOptions {
  const l = config.libvirt;
  return {
    uri: l.uri,
    readWrite: !l.read_only,
    tls: {
      ...(l.tls_ca_file !== undefined ? { caFile: l.tls_ca_file } : {}),
      ...(l.tls_cert_file !== undefined ? { certFile: l.tls_cert_file } : {}),
      ...(l.tls_key_file !== undefined ? { keyFile: l.tls_key_file } : {}),
    },
    connectTimeoutMs: parseDuration(l.connect_timeout),
    maxShards: l.stats_shards,
    shardTimeoutMs: parseDuration(l.shard_timeout),
  };
}
