// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Client certificate policies (Go's crypto/tls names) checked after the handshake where OpenSSL
 * cannot enforce them alone, and the start-up warnings for settings that look safe and are not.
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { WebTlsConfig } from './types.ts';

/** The subject alternative names of a certificate, as Go prints them (IP addresses canonical). */
function subjectAltNames(cert: X509Certificate): string[] {
  const text = cert.subjectAltName ?? '';
  const out: string[] = [];
  // Node writes `DNS:a, IP Address:1.2.3.4, URI:…`, quoting (JSON style) a value with a comma or quote.
  const re = /(DNS|IP Address|email|URI):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of text.matchAll(re)) {
    const kind = m[1] ?? '';
    let value = m[2] ?? '';
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    out.push(kind === 'IP Address' ? canonicalIp(value) : value);
  }
  return out;
}

function canonicalIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

/** Why a client's certificate is refused under the policy, or undefined if it is accepted. */
export function peerProblem(socket: TLSSocket, tls: WebTlsConfig): string | undefined {
  const cert = socket.getPeerX509Certificate();
  switch (tls.clientAuthType) {
    case 'NoClientCert':
    case 'RequestClientCert':
      return undefined;
    case 'VerifyClientCertIfGiven':
      return cert !== undefined && !socket.authorized
        ? `client certificate not trusted (${String(socket.authorizationError)})`
        : undefined;
    case 'RequireAnyClientCert':
    case 'RequireAndVerifyClientCert': {
      if (cert === undefined) return 'no client certificate';
      if (tls.clientAuthType === 'RequireAndVerifyClientCert' && !socket.authorized) {
        return `client certificate not trusted (${String(socket.authorizationError)})`;
      }
      const allowed = tls.clientAllowedSans;
      if (allowed === undefined) return undefined;
      const wanted = new Set(allowed.map(canonicalIp));
      return subjectAltNames(cert).some((san) => wanted.has(san))
        ? undefined
        : 'client certificate has none of client_allowed_sans';
    }
  }
}

/**
 * One-line warnings (issue 15, item 11) for client certificate settings that exporter-toolkit accepts
 * but that do not protect what they seem to:
 * - RequireAndVerifyClientCert (or VerifyClientCertIfGiven) without client_ca_file/client_ca verifies
 *   client certificates against Node's bundled public roots: any certificate a public CA issued passes;
 * - client_allowed_sans with RequireAnyClientCert checks the names of a certificate nobody verified:
 *   a client can write any name into a certificate it signs itself.
 */
export function clientCertWarnings(tls: WebTlsConfig | undefined): string[] {
  if (tls === undefined) return [];
  const out: string[] = [];
  const verifying =
    tls.clientAuthType === 'RequireAndVerifyClientCert' || tls.clientAuthType === 'VerifyClientCertIfGiven';
  if (verifying && tls.clientCa === undefined) {
    out.push(
      `tls_server_config: client_auth_type ${tls.clientAuthType} without client_ca_file trusts every public CA that Node.js knows: any publicly issued certificate is accepted; set client_ca_file to your own CA`,
    );
  }
  if (tls.clientAuthType === 'RequireAnyClientCert' && tls.clientAllowedSans !== undefined) {
    out.push(
      'tls_server_config: client_allowed_sans with RequireAnyClientCert checks the names of an unverified (possibly self-signed) certificate: anyone can pass it; use RequireAndVerifyClientCert with client_ca_file',
    );
  }
  return out;
}
