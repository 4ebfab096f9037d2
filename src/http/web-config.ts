// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The web configuration file of the Prometheus exporter-toolkit (`--web.config.file`), one
 * responsibility per file under web-config/: loading and validation (load.ts, schema.ts), TLS
 * (tls.ts), client certificate policy (client-cert.ts), basic auth with bcrypt (basic-auth.ts),
 * request budgets (rate-limit.ts) and the Fastify hook (hook.ts).
 */
export { loadWebConfig } from './web-config/load.ts';
export { webServerOptions } from './web-config/tls.ts';
export { registerWebSecurity } from './web-config/hook.ts';
export { BasicAuth, MAX_BCRYPT_COST, type AuthOutcome } from './web-config/basic-auth.ts';
export { clientCertWarnings } from './web-config/client-cert.ts';
export { FailureBudget, tokenBucket } from './web-config/rate-limit.ts';
export type { WebConfig } from './web-config/types.ts';
