// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The flags of the inovex exporter 2.5 whose meaning differs here: `--libvirt.uri` as a socket path
 * completed by `--libvirt.driver`, `--exporter.timeout` and `--exporter.max-concurrent-collects`. Each
 * maps to the nearest setting, with a one-line warning where the meaning differs (docs/migration.md).
 */
import path from 'node:path';
import { parseDuration } from '../config/duration.ts';
import { DEFAULTS } from './flag-table.ts';

/** What some flags set: configuration keys, and one warning line per meaning that differs. */
export interface FlagEffects {
  readonly overrides: Record<string, unknown>;
  readonly warnings: string[];
}

/**
 * Whether a `--libvirt.uri` value is a socket path (inovex's meaning) rather than a URI: an absolute path.
 * Anything else is parsed as a URI, so that a mistyped value is refused with the URI parser's message.
 */
export function isSocketPath(value: string): boolean {
  return value.startsWith('/');
}

/** A socket path in a URI query (the characters that would end or split the parameter are escaped). */
function socketParam(socket: string): string {
  return socket.replace(/[%&;#+]/g, (c) => encodeURIComponent(c));
}

function integer(flag: string, v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new Error(`--${flag} must be an integer, not "${v}"`);
  return Number(v);
}

/** `--libvirt.uri` is a URI, or (inovex) a socket path that `--libvirt.driver` completes. */
export function libvirtUri(uri: string | undefined, driver: string | undefined, out: FlagEffects): void {
  if (uri !== undefined && isSocketPath(uri)) {
    const socket = path.normalize(uri);
    const base = driver ?? DEFAULTS.libvirt.uri;
    if (isSocketPath(base)) throw new Error(`--libvirt.driver must be a libvirt URI, not "${base}"`);
    out.overrides['libvirt.uri'] = `${base}${base.includes('?') ? '&' : '?'}socket=${socketParam(socket)}`;
  } else if (uri !== undefined) {
    if (driver !== undefined && driver !== uri) {
      throw new Error(
        `--libvirt.driver=${driver} applies only when --libvirt.uri is a socket path; --libvirt.uri=${uri} already names the driver`,
      );
    }
    out.overrides['libvirt.uri'] = uri;
  } else if (driver !== undefined) {
    if (isSocketPath(driver)) throw new Error(`--libvirt.driver must be a libvirt URI, not "${driver}"`);
    out.overrides['libvirt.uri'] = driver;
    if (/^[^:]+:\/\/\/session\b/.test(driver)) {
      out.warnings.push(
        `--libvirt.driver=${driver} without --libvirt.uri: this exporter connects to the per-user session daemon's socket, where inovex sends ${driver} to /var/run/libvirt/libvirt-sock-ro; pass --libvirt.uri=/var/run/libvirt/libvirt-sock-ro to keep that`,
      );
    }
  }
}

/** `--exporter.timeout` and `--exporter.max-concurrent-collects`: the nearest libvirt settings. */
export function exporterLimits(
  timeout: string | undefined,
  concurrent: string | undefined,
  out: FlagEffects,
): void {
  if (timeout !== undefined) {
    try {
      parseDuration(timeout);
    } catch (err) {
      throw new Error(`--exporter.timeout: ${(err as Error).message}`, { cause: err });
    }
    out.overrides['libvirt.shard_timeout'] = timeout;
    out.warnings.push(
      `--exporter.timeout=${timeout} sets libvirt.shard_timeout: here it bounds one bulk stats call (a shard of guests), not each libvirt call of each guest; slow guests are still reported in libvirt_domain_timed_out`,
    );
  }
  if (concurrent !== undefined) {
    const n = integer('exporter.max-concurrent-collects', concurrent);
    const shards = Math.min(16, Math.max(1, n));
    out.overrides['libvirt.stats_shards'] = shards;
    out.warnings.push(
      `--exporter.max-concurrent-collects=${n} sets libvirt.stats_shards=${shards}: concurrent bulk stats calls over one connection (1 to 16), not one worker per guest`,
    );
  }
}
