// SPDX-License-Identifier: Apache-2.0
/**
 * The exporter served over TLS, for the reload tests: started until its "listening" log line (its
 * /-/healthy needs TLS), TEST-ONLY self-signed certificates, the certificate a server presents, and a
 * Kubernetes-style Secret volume whose `..data` symlink is swapped atomically (as the kubelet does when
 * cert-manager renews a certificate).
 */
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import {
  exporterCommand,
  freePort,
  loggedListening,
  whenListening,
  type ExporterProcess,
} from './exporter.ts';

/** A running exporter on 127.0.0.1:`port`. */
export interface TlsExporter extends ExporterProcess {
  readonly port: number;
}

/** Starts the exporter with `args` on a free port and waits for its "listening" log line. */
export async function startTlsExporter(args: readonly string[]): Promise<TlsExporter> {
  const port = await freePort();
  const cmd = exporterCommand([`--web.listen-address=127.0.0.1:${port}`, ...args]);
  const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return { port, ...(await whenListening(child, loggedListening, 30_000)) };
}

/** A self-signed certificate for 127.0.0.1 with this common name, and its key, in `dir` (TEST ONLY). */
export function makeCert(dir: string, cn: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ],
    { stdio: 'ignore' },
  );
}

/** The fingerprint of the certificate the server on 127.0.0.1:`port` presents on a new connection. */
export function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.once('error', reject);
    s.setTimeout(5000, () => {
      s.destroy(new Error('TLS handshake timed out'));
    });
  });
}

/** The fingerprint of the certificate in `file`. */
export const fingerprintOf = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;

/** Points `mount`/..data at `version`, atomically, as the kubelet does. */
export function swapData(mount: string, version: string): void {
  symlinkSync(version, join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
}

/**
 * A Secret volume in `mount` whose tls.crt and tls.key come from version `..v1` (a certificate for
 * `cn`): tls.crt -> ..data/tls.crt, ..data -> ..v1.
 */
export function secretVolume(mount: string, cn: string): void {
  makeCert(join(mount, '..v1'), cn);
  swapData(mount, '..v1');
  symlinkSync('..data/tls.crt', join(mount, 'tls.crt'));
  symlinkSync('..data/tls.key', join(mount, 'tls.key'));
}
