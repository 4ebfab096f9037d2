// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * What the publisher reads once at start: the transport URL and the telemetry secret (inline or from
 * files), the TLS files, the polling file, and the poll groups it makes of them. Every failure is a
 * {@link PublisherConfigError} that names the key and the file, never a secret.
 */
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

import type { Logger } from 'pino';

import { CEILOMETER_DEFAULT_SECRET, type PublisherConfig } from './config.ts';
import { statsGroupsFor } from '../ceilometer/meters.ts';
import type { ComputeMeter } from '../ceilometer/types.ts';
import type { PollGroup } from './poll-scheduler.ts';
import { groupByInterval, loadPollingFile, type PollingConfig, parsePollingConfig } from './polling.ts';
import { parseTransportUrl, type TransportUrl } from './transport-url.ts';

/** A configuration the publisher cannot run with (bad key, unreadable file, bad URL); the message says which. */
export class PublisherConfigError extends Error {
  override readonly name = 'PublisherConfigError';
}

type Signal = AbortSignal | undefined;

async function readConfigFile(path: string, key: string, signal: Signal): Promise<Buffer> {
  try {
    return await readFile(path, signal ? { signal } : {});
  } catch (err) {
    throw new PublisherConfigError(
      `publisher.${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
}

async function readSecretFile(path: string, key: string, signal: Signal): Promise<string> {
  return (await readConfigFile(path, key, signal)).toString('utf8').replace(/[\r\n]+$/, '');
}

/** The transport URL, from `transport_url` or its file. */
export async function readTransportUrl(
  cfg: PublisherConfig,
  logger: Logger,
  signal: Signal,
): Promise<TransportUrl> {
  const rawUrl =
    cfg.transport_url_file !== undefined
      ? await readSecretFile(cfg.transport_url_file, 'transport_url_file', signal)
      : (cfg.transport_url ?? '');
  let url: TransportUrl;
  try {
    url = parseTransportUrl(rawUrl);
  } catch (err) {
    const where =
      cfg.transport_url_file !== undefined ? `transport_url_file ${cfg.transport_url_file}` : 'transport_url';
    throw new PublisherConfigError(`publisher.${where}: ${(err as Error).message}`, { cause: err });
  }
  if (url.otherParams.length > 0)
    logger.warn({ params: url.otherParams }, 'transport_url options other than ssl are ignored');
  return url;
}

/** The telemetry secret, from `telemetry_secret`, its file, or Ceilometer's default. */
export async function readTelemetrySecret(
  cfg: PublisherConfig,
  logger: Logger,
  signal: Signal,
): Promise<string> {
  if (cfg.telemetry_secret_file !== undefined)
    return readSecretFile(cfg.telemetry_secret_file, 'telemetry_secret_file', signal);
  if (cfg.telemetry_secret !== undefined) return cfg.telemetry_secret;
  logger.warn("no telemetry_secret configured: signing with Ceilometer's default secret");
  return CEILOMETER_DEFAULT_SECRET;
}

/** The polling.yaml, from `polling_file` or inline `polling`. */
export async function loadPolling(cfg: PublisherConfig, signal: Signal): Promise<PollingConfig> {
  try {
    if (cfg.polling_file !== undefined)
      return await loadPollingFile(cfg.polling_file, signal ? { signal } : {});
    return parsePollingConfig(cfg.polling, 'publisher.polling');
  } catch (err) {
    throw new PublisherConfigError((err as Error).message, { cause: err });
  }
}

/** Node TLS options when TLS is on (`?ssl=1`, `amqps://` or `tls.enabled`), else undefined. */
export async function tlsOptions(
  cfg: PublisherConfig,
  url: TransportUrl,
  logger: Logger,
  signal: Signal,
): Promise<TlsConnectionOptions | undefined> {
  const enabled = url.tls || cfg.tls.enabled === true;
  const files = [cfg.tls.ca_file, cfg.tls.cert_file, cfg.tls.key_file].filter((f) => f !== undefined);
  if (!enabled) {
    if (files.length > 0)
      logger.warn(
        'publisher.tls files are set but TLS is off (add ?ssl=1 to transport_url or set tls.enabled)',
      );
    return undefined;
  }
  if ((cfg.tls.cert_file === undefined) !== (cfg.tls.key_file === undefined))
    throw new PublisherConfigError('publisher.tls: cert_file and key_file go together');
  const read = async (key: 'ca_file' | 'cert_file' | 'key_file'): Promise<Buffer | undefined> => {
    const path = cfg.tls[key];
    return path === undefined ? undefined : readConfigFile(path, `tls.${key}`, signal);
  };
  const [ca, cert, key] = [await read('ca_file'), await read('cert_file'), await read('key_file')];
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(cfg.tls.server_name !== undefined ? { servername: cfg.tls.server_name } : {}),
    rejectUnauthorized: !cfg.tls.insecure_skip_verify,
  };
}

/** The poll groups (one per interval) of a polling configuration, over the meters this publisher produces. */
export function pollGroups(
  polling: PollingConfig,
  meters: readonly ComputeMeter[],
  logger: Logger,
): PollGroup[] {
  const byName = new Map(meters.map((m) => [m.name, m]));
  for (const s of polling.sources) {
    if (s.resources.length > 0 || s.discovery.length > 0) {
      logger.warn(
        { source: s.name },
        'polling source resources/discovery are ignored: the publisher always polls the local libvirt domains',
      );
    }
    // Exact names this publisher does not produce (hardware.*, central-agent meters, other releases).
    const unknown = s.meters.filter((p) => !/[*?[!]/.test(p) && !byName.has(p));
    if (unknown.length > 0)
      logger.info({ source: s.name, meters: unknown }, 'meters not produced by this publisher');
  }
  const groups = groupByInterval(
    polling,
    meters.map((m) => m.name),
  ).map((g) => {
    const selected = g.meters.map((n) => byName.get(n)).filter((m): m is ComputeMeter => m !== undefined);
    // NOTE: the real agent reads every stats group (domainListGetStats with stats=0); perf counters
    // are read only when a perf meter is polled, the inspector's default covers the rest.
    return { interval: g.interval, sources: g.sources, meters: selected, groups: statsGroupsFor(selected) };
  });
  if (groups.length === 0) logger.warn('the polling configuration selects no meter this publisher produces');
  return groups;
}
