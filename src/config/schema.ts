// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The configuration schema: every key, its type, default and documentation, in one place. Unknown keys
 * are errors that name the key. docs/configuration.md is generated from this schema (and a test keeps
 * it in sync).
 */
import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { parseLibvirtUri } from '../libvirt/index.ts';
import { publisherConfigSchema } from '../publisher/config.ts';
import { COLLECTOR_NAMES, collectorRegistry } from '../collectors/index.ts';

/** A string with a default, checked by `parse` (its error message becomes the issue's). */
const parsed = (parse: (v: string) => unknown, description: string, def: string) =>
  z
    .string()
    .default(def)
    .describe(description)
    .superRefine((v, ctx) => {
      try {
        parse(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    });

/** A Prometheus duration (`500ms`, `1m30s`). */
const duration = (description: string, def: string) => parsed(parseDuration, description, def);

/** A libvirt URI, parsed as libvirt does, so that a wrong URI stops the start instead of every scrape. */
const libvirtUri = (description: string) => parsed(parseLibvirtUri, description, 'qemu:///system');

/**
 * A collector name (the union lives in src/meters/names.ts, where every family declaration names its
 * collector). Each collector is defined (default, description) in its own file of src/collectors/ and
 * registered in src/collectors/index.ts, whose registry must hold every name of this union.
 */
export type { CollectorName } from '../meters/names.ts';
import type { CollectorName } from '../meters/names.ts';

export { COLLECTOR_NAMES };

/** Collectors with options besides `enabled`. */
const collectorOptions = {
  pressure: {
    cgroup_root: z
      .string()
      .optional()
      .describe(
        "The cgroup v2 hierarchy of the host (default: the cgroup2 mount in /proc/self/mountinfo, /sys/fs/cgroup on a pure v2 host). In a container, mount the host's /sys/fs/cgroup read-only and name it here if it is elsewhere.",
      ),
  },
  guest_agent: {
    uri: libvirtUri(
      'libvirt URI for the guest agent calls, opened read-write (libvirt refuses agent calls on the read-only socket): qemu:///system uses /var/run/libvirt/libvirt-sock, which must be mounted and writable. The exporter only reads through it (virDomainGetGuestInfo).',
    ),
  },
  events: {
    retention: duration(
      'How long the event counts of a domain that disappeared (undefined, migrated away) are still served.',
      '1h',
    ),
  },
} as const;

type CollectorOptions = typeof collectorOptions;

/** The section of collector `K`: `enabled`, defaulting to its registered default, and its options. */
type CollectorSection<K extends CollectorName> = z.ZodPrefault<
  z.ZodObject<K extends keyof CollectorOptions ? Enabled & CollectorOptions[K] : Enabled, z.core.$strict>
>;
type Enabled = { enabled: z.ZodDefault<z.ZodBoolean> };

function collectorSection<K extends CollectorName>(name: K): CollectorSection<K> {
  const { enabledByDefault, description } = collectorRegistry[name];
  const options: z.ZodRawShape =
    name in collectorOptions ? collectorOptions[name as keyof CollectorOptions] : {};
  return z
    .object({
      enabled: z
        .boolean()
        .default(enabledByDefault)
        .describe(`Whether the ${name} collector runs. ${description}`),
      ...options,
    })
    .strict()
    .prefault({}) as unknown as CollectorSection<K>;
}

/** One section per registered collector, in registration order. */
const collectorsSchema = z
  .object(
    Object.fromEntries(COLLECTOR_NAMES.map((n) => [n, collectorSection(n)])) as {
      [K in CollectorName]: CollectorSection<K>;
    },
  )
  .strict()
  .prefault({})
  .describe('Which collectors run on each scrape.');

/** Identity labels that can be copied onto every per-domain series. */
export const IDENTITY_LABELS = [
  'instance_id',
  'instance_name',
  'project_id',
  'project_name',
  'user_id',
  'user_name',
  'flavor_name',
] as const;

/** The exporter's configuration file. */
export const configSchema = z
  .object({
    libvirt: z
      .object({
        uri: libvirtUri(
          "libvirt URI. A local URI finds its socket as libvirt's client does: qemu:///system uses /var/run/libvirt/virtqemud-sock-ro (modular daemons) when it exists, else libvirtd's libvirt-sock-ro; ?socket=PATH names one.",
        ),
        read_only: z
          .boolean()
          .default(true)
          .describe(
            'Open the connection read-only (VIR_CONNECT_RO). Nothing in this exporter needs write access.',
          ),
        tls_ca_file: z
          .string()
          .optional()
          .describe('CA certificate for qemu+tls:// (default: libvirt PKI layout).'),
        tls_cert_file: z.string().optional().describe('Client certificate for qemu+tls://.'),
        tls_key_file: z.string().optional().describe('Client key for qemu+tls://.'),
        connect_timeout: duration('Time allowed to connect and authenticate to libvirt.', '2s'),
        stats_shards: z
          .number()
          .int()
          .min(1)
          .max(16)
          .default(4)
          .describe(
            'Most concurrent bulk stats calls per cycle. One hung guest only delays its shard; libvirtd serves 5 calls per connection.',
          ),
        shard_timeout: duration(
          'Soft timeout of one bulk stats call; a shard slower than this is abandoned and sent again once.',
          '2s',
        ),
      })
      .strict()
      .prefault({})
      .describe('Connection to libvirt.'),
    web: z
      .object({
        listen_address: z
          .union([z.string(), z.array(z.string()).min(1)])
          .default(':9177')
          .describe(
            'Address to listen on, host:port (an empty host listens on every address), or a list of them.',
          ),
        telemetry_path: z
          .string()
          .startsWith('/')
          .default('/metrics')
          .describe('Path of the metrics endpoint. With / the metrics replace the landing page.'),
        health_path: z
          .string()
          .startsWith('/')
          .optional()
          .describe(
            "Extra path that answers 200 when libvirt answers now and 503 when it does not (inovex's --web.health-path).",
          ),
        disable_exporter_metrics: z
          .boolean()
          .default(false)
          .describe(
            'Leave out the metrics of the process itself: process_*, nodejs_* and the scrape counters (libvirt_exporter_scrapes_*).',
          ),
        config_file: z
          .string()
          .optional()
          .describe(
            'Web configuration file (TLS, basic auth, headers) in the Prometheus exporter-toolkit format.',
          ),
        max_requests_in_flight: z
          .number()
          .int()
          .min(1)
          .default(10)
          .describe('Most concurrent scrapes; more are answered 503.'),
        compression_level: z
          .number()
          .int()
          .min(0)
          .max(9)
          .default(1)
          .describe(
            "zlib level of the gzip-encoded metrics, for scrapers that accept gzip (Prometheus does): 1 is the fastest, 9 the smallest, 0 sends the metrics uncompressed. At 50 guests, level 1 makes the 325 KiB exposition 29 KiB in 0.9 ms of CPU, level 6 (zlib's default) 24 KiB in 2 ms. Read at each scrape.",
          ),
      })
      .strict()
      .prefault({})
      .describe('HTTP server.'),
    scrape: z
      .object({
        timeout: duration('Longest time a scrape may take, whatever Prometheus allows.', '10s'),
        timeout_offset: duration(
          'Subtracted from X-Prometheus-Scrape-Timeout-Seconds so that the answer arrives in time.',
          '500ms',
        ),
      })
      .strict()
      .prefault({})
      .describe('Scrape deadlines.'),
    collectors: collectorsSchema,
    metrics: z
      .object({
        inovex_compatibility: z
          .boolean()
          .default(true)
          .describe(
            'Also serve the inovex exporter names that are wrongly typed (cumulative gauges, percentages) as deprecated aliases.',
          ),
        identity_labels: z
          .array(z.enum(IDENTITY_LABELS))
          .default([])
          .describe(
            'Nova identity labels copied onto every per-domain series (more series churn; the info metric always has them).',
          ),
      })
      .strict()
      .prefault({})
      .describe('Metric naming and labels.'),
    log: z
      .object({
        level: z
          .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
          .default('info')
          .describe('Log level.'),
        format: z
          .enum(['logfmt', 'json'])
          .default('logfmt')
          .describe('Log format: logfmt (the exporter-toolkit default) or JSON lines. Read at start only.'),
      })
      .strict()
      .prefault({})
      .describe('Logging on stderr.'),
    publisher: publisherConfigSchema.prefault({}).describe('Ceilometer samples over AMQP (off by default).'),
  })
  .strict();

/** The validated configuration. */
export type Config = z.infer<typeof configSchema>;
