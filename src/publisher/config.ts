// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The `publisher:` section of the exporter's configuration: where the Ceilometer samples go (an
 * oslo-style transport URL), how they are signed, which meters at which intervals (a Ceilometer
 * polling.yaml), and what happens while the broker is away. Every key carries its documentation.
 */
import { z } from 'zod';

import { parseTransportUrl } from './transport-url.ts';

/** The default of Ceilometer's `[publisher] telemetry_secret` (publisher/utils.py). */
export const CEILOMETER_DEFAULT_SECRET = 'change this for valid signing';

const pollingSourceSchema = z
  .object({
    name: z.string().describe('Unique name of the source (labels the poll metrics).'),
    interval: z.union([z.number(), z.string()]).describe('Seconds between polls, integer > 0.'),
    meters: z
      .array(z.string())
      .describe("Meter patterns: '*', 'name', '!name', fnmatch wildcards ('disk.device.*')."),
    resources: z
      .array(z.unknown())
      .optional()
      .describe('Accepted and ignored (compute meters discover libvirt domains).'),
    discovery: z
      .array(z.unknown())
      .optional()
      .describe('Accepted and ignored (always the local libvirt domains).'),
  })
  .loose();

const tlsSchema = z
  .object({
    enabled: z
      .boolean()
      .optional()
      .describe('Use TLS to the broker. Also turned on by `?ssl=1` in transport_url or an `amqps://` URL.'),
    ca_file: z
      .string()
      .optional()
      .describe('PEM file of the CA(s) that signed the broker certificate (oslo ssl_ca_file).'),
    cert_file: z.string().optional().describe('PEM client certificate for mutual TLS (oslo ssl_cert_file).'),
    key_file: z.string().optional().describe('PEM private key of cert_file (oslo ssl_key_file).'),
    server_name: z
      .string()
      .optional()
      .describe('Name to verify in the broker certificate; default: the host of the URL.'),
    insecure_skip_verify: z
      .boolean()
      .default(false)
      .describe('Accept any broker certificate. For tests only: it allows a man in the middle.'),
  })
  .strict();

/**
 * Schema of the `publisher:` configuration section (snake_case keys, as in the YAML file). Cross-key
 * rules are checked only when `enabled` is true, so a disabled section may stay incomplete.
 */
export const publisherConfigSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe('Publish Ceilometer samples over AMQP, as ceilometer-polling on a compute node does.'),
    transport_url: z
      .string()
      .optional()
      .describe(
        'oslo.messaging transport URL: rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost[?ssl=1]. ' +
          'Same value as [oslo_messaging_notifications] transport_url (or [DEFAULT] transport_url) in ceilometer.conf. ' +
          'Holds a password: prefer transport_url_file.',
      ),
    transport_url_file: z
      .string()
      .optional()
      .describe(
        'File holding the transport URL (read at start, trailing newline removed). Exclusive with transport_url.',
      ),
    telemetry_secret: z
      .string()
      .optional()
      .describe(
        "Key of the samples' HMAC message_signature ([publisher] telemetry_secret). Empty: no signature. " +
          `Unset (and no file): Ceilometer's default '${CEILOMETER_DEFAULT_SECRET}'. Prefer telemetry_secret_file.`,
      ),
    telemetry_secret_file: z
      .string()
      .optional()
      .describe(
        'File holding the telemetry secret (read at start, trailing newline removed). Exclusive with telemetry_secret.',
      ),
    polling_file: z
      .string()
      .optional()
      .describe(
        'Path of a Ceilometer polling.yaml, used as is (e.g. /etc/ceilometer/polling.yaml). Exclusive with polling.',
      ),
    polling: z
      .object({ sources: z.array(pollingSourceSchema).describe('Polling sources, as in polling.yaml.') })
      .loose()
      .optional()
      .describe('Inline polling.yaml content ({sources: [...]}). Exclusive with polling_file.'),
    batch_size: z
      .number()
      .int()
      .min(0)
      .default(50)
      .describe('Most samples per notification ([polling] batch_size); 0 sends one sample per notification.'),
    max_queue_length: z
      .number()
      .int()
      .min(1)
      .default(10000)
      .describe(
        'Most samples held while the broker is unreachable; beyond it the oldest are dropped and counted. ' +
          'Counted in samples (Ceilometer counts notifications), so the memory bound (~1.5 KiB a sample) does not depend on batch_size.',
      ),
    policy: z
      .enum(['queue', 'drop'])
      .default('queue')
      .describe(
        "While the broker is unreachable: 'queue' keeps samples (up to max_queue_length) and sends them in order later; 'drop' discards them.",
      ),
    report_stopped_instance_metrics: z
      .boolean()
      .default(false)
      .describe(
        "Ceilometer master's [compute] report_stopped_instance_metrics: also send power.state, vcpus, memory, disk.device.capacity, disk.device.allocation and disk.device.usage for stopped (shut-off) instances (one virDomainGetBlockInfo per disk of each). Applies to the ceilometer collector too.",
      ),
    ceilometer_release: z
      .string()
      .regex(/^\d+(\.\d+){0,2}$/, 'a Ceilometer version such as 19.0.0 or 24')
      .default('19.0.0')
      .describe(
        'Version of the Ceilometer compute agent this publisher stands in for (e.g. 19.0.0 = Zed on Debian 12, 24.0.0 = 2025.1). ' +
          'Decides which meters exist and the name of the outgoing bytes delta meter (19.0.0 and older unfixed releases publish it as network.outgoing.packets.delta).',
      ),
    unit_profile: z
      .enum(['MB', 'MiB'])
      .optional()
      .describe(
        'Units of the memory and size meters: MB/GB (Ceilometer up to 25.x) or MiB/GiB (26.0.0, 2026.1, and later). Default: from ceilometer_release.',
      ),
    exchange: z
      .string()
      .min(1)
      .default('ceilometer')
      .describe("AMQP exchange (oslo control_exchange of Ceilometer: 'ceilometer')."),
    topic: z
      .string()
      .min(1)
      .default('notifications')
      .describe(
        "Notification topic ([oslo_messaging_notifications] topics); the routing key is '<topic>.sample'.",
      ),
    exchange_declare: z
      .enum(['passive', 'durable', 'transient'])
      .default('passive')
      .describe(
        "How the exchange is declared: 'passive' only checks it exists (never conflicts with the deployment); " +
          "'durable'/'transient' create it as a topic exchange with that durability, which must match the deployment's " +
          '(amqp_durable_queues) or the broker refuses it (406 PRECONDITION_FAILED).',
      ),
    source: z.string().min(1).default('openstack').describe("The samples' source ([DEFAULT] sample_source)."),
    host: z
      .string()
      .min(1)
      .optional()
      .describe(
        "This compute node's name as Nova knows it ([DEFAULT] host): instance_host, and the hash in host. Default: libvirt's hostname.",
      ),
    flavor_ids: z
      .record(z.string(), z.string())
      .default({})
      .describe(
        'Flavor name → flavor id, for domains whose Nova metadata has no flavor id (Nova before 2025.2). ' +
          'The real agent asks the Nova API; a name missing here is sent as its own id, as the agent does when Nova does not know it.',
      ),
    tls: tlsSchema
      .default({ insecure_skip_verify: false })
      .describe('TLS to the broker (the [oslo_messaging_rabbit] ssl_* options of ceilometer.conf).'),
    send_timeout_seconds: z
      .number()
      .positive()
      .default(30)
      .describe(
        'How long one notification may wait for the connection, and for its publisher confirm while the broker is connected and not blocking, before the connection is dropped and the notification sent again. ' +
          'While the broker blocks publishers (a memory or disk alarm) nothing is sent and the notification in flight is waited for, not sent twice.',
      ),
    stop_timeout_seconds: z
      .number()
      .min(0)
      .default(5)
      .describe(
        'At shutdown, how long queued samples may take to go out before the rest is dropped and counted.',
      ),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.enabled) return;
    const exclusive = (a: keyof typeof c, b: keyof typeof c, required: boolean): void => {
      const has = (k: keyof typeof c): boolean => c[k] !== undefined;
      if (has(a) && has(b))
        ctx.addIssue({ code: 'custom', path: [b], message: `set ${a} or ${b}, not both` });
      if (required && !has(a) && !has(b)) {
        ctx.addIssue({ code: 'custom', path: [a], message: `${a} or ${b} is required when enabled` });
      }
    };
    exclusive('transport_url', 'transport_url_file', true);
    exclusive('telemetry_secret', 'telemetry_secret_file', false);
    exclusive('polling_file', 'polling', true);
    if (c.transport_url !== undefined) {
      try {
        parseTransportUrl(c.transport_url);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['transport_url'], message: (err as Error).message });
      }
    }
  });

/** The validated `publisher:` section. */
export type PublisherConfig = z.infer<typeof publisherConfigSchema>;
