// SPDX-License-Identifier: Apache-2.0
/**
 * Opening the byte stream to libvirtd (unix socket, TCP or TLS) and turning socket errors into
 * {@link LibvirtConnectionError}s whose messages say what to check.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';

import { LibvirtConnectionError, abortErrorFor } from './errors.ts';
import { describeTarget, type ConnectTarget } from './uri.ts';

/** Maps a socket error of a connect attempt or of a live connection to a LibvirtConnectionError. */
export function connectionErrorFrom(err: unknown, target: ConnectTarget): LibvirtConnectionError {
  if (err instanceof LibvirtConnectionError) return err;
  const address = describeTarget(target);
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOENT':
      return new LibvirtConnectionError(
        'ENOENT',
        target.kind === 'unix' && target.alternative !== undefined
          ? `libvirt socket ${address} does not exist, nor ${target.alternative}: is libvirtd (or virtqemud) running, and is the socket directory mounted?`
          : `libvirt socket ${address} does not exist: is libvirtd (or virtqemud) running, and is the socket path right?`,
        { cause: err, address },
      );
    case 'EACCES':
    case 'EPERM':
      return new LibvirtConnectionError(
        'EACCES',
        `permission denied connecting to ${address}: this user may not use the socket (check its mode and group, ` +
          `or use the read-only socket libvirt-sock-ro, which polkit or unix_sock_ro_perms must allow)`,
        { cause: err, address },
      );
    case 'ECONNREFUSED':
      return new LibvirtConnectionError(
        'ECONNREFUSED',
        `connection refused by ${address}: nothing is listening (libvirtd stopped, or its listener is disabled)`,
        { cause: err, address },
      );
    case 'ECONNRESET':
    case 'EPIPE':
      return new LibvirtConnectionError(
        'CLOSED',
        `connection to ${address} was reset by the peer (${detail})`,
        {
          cause: err,
          address,
        },
      );
    default:
      // OpenSSL verification codes (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...) and Node's TLS codes.
      if (
        typeof code === 'string' &&
        /^ERR_(TLS|SSL)|CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|HOSTNAME_MISMATCH/.test(code)
      ) {
        return new LibvirtConnectionError('TLS', `TLS failure with ${address}: ${detail}`, {
          cause: err,
          address,
        });
      }
      return new LibvirtConnectionError('SOCKET', `socket error on ${address}: ${detail}`, {
        cause: err,
        address,
      });
  }
}

async function readPkiFile(file: string, what: string, address: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new LibvirtConnectionError(
      'TLS',
      `cannot read the TLS ${what} ${file} for ${address}: ${(err as Error).message}`,
      {
        cause: err,
        address,
      },
    );
  }
}

/** Reads the PKI files of a TLS target, then starts the TLS connection. */
async function connectTls(
  target: Extract<ConnectTarget, { kind: 'tls' }>,
  address: string,
  signal: AbortSignal | undefined,
): Promise<tls.TLSSocket> {
  // Read together, reported in a fixed order (CA, certificate, key): the same error for the same files.
  const read = await Promise.allSettled([
    readPkiFile(target.caFile, 'CA certificate', address),
    readPkiFile(target.certFile, 'client certificate', address),
    readPkiFile(target.keyFile, 'client key', address),
  ]);
  const files: Buffer[] = [];
  for (const r of read) {
    if (r.status === 'rejected') throw r.reason;
    files.push(r.value);
  }
  const [ca, cert, key] = files;
  signal?.throwIfAborted();
  return tls.connect({
    host: target.host,
    port: target.port,
    ca,
    cert,
    key,
    rejectUnauthorized: target.verify,
    ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
  });
}

/**
 * Opens a connected socket to the target. Rejects with LibvirtConnectionError on failure, or with the
 * abort error when the signal fires first (the half-open socket is destroyed).
 */
export async function openSocket(
  target: ConnectTarget,
  { signal }: { signal?: AbortSignal } = {},
): Promise<net.Socket> {
  signal?.throwIfAborted();
  const address = describeTarget(target);
  let socket: net.Socket;
  let readyEvent: 'connect' | 'secureConnect' = 'connect';
  if (target.kind === 'unix') {
    socket = net.createConnection({ path: target.path });
  } else if (target.kind === 'tcp') {
    socket = net.createConnection({ host: target.host, port: target.port });
  } else {
    socket = await connectTls(target, address, signal);
    readyEvent = 'secureConnect';
  }
  const opened = await new Promise<net.Socket>((resolve, reject) => {
    const cleanup = (): void => {
      socket.off(readyEvent, onReady);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onReady = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(connectionErrorFrom(err, target));
    };
    const onClose = (): void => {
      cleanup();
      reject(
        new LibvirtConnectionError('CLOSED', `connection to ${address} closed while opening`, { address }),
      );
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(signal === undefined ? new Error('aborted') : abortErrorFor(signal, `connecting to ${address}`));
    };
    socket.once(readyEvent, onReady);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  if (readyEvent === 'secureConnect') await tlsConfirmation(opened, target, signal);
  return opened;
}

/**
 * libvirtd checks the client certificate after the TLS handshake and confirms with one byte, 1
 * (virNetServerClientCheckAccess); on refusal it closes the connection instead. Reads that byte.
 */
function tlsConfirmation(
  socket: net.Socket,
  target: ConnectTarget,
  signal: AbortSignal | undefined,
): Promise<void> {
  const address = describeTarget(target);
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onReadable = (): void => {
      const byte = socket.read(1) as Buffer | null;
      if (byte === null) return;
      if (byte[0] === 1) {
        cleanup();
        resolve();
        return;
      }
      fail(
        new LibvirtConnectionError(
          'TLS',
          `${address} did not confirm the TLS session (byte ${byte[0] ?? 'none'} instead of 1)`,
          { address },
        ),
      );
    };
    const onError = (err: Error): void => {
      fail(connectionErrorFrom(err, target));
    };
    const onClose = (): void => {
      fail(
        new LibvirtConnectionError(
          'CLOSED',
          `${address} closed the connection after the TLS handshake: libvirtd refused this client certificate (its tls_allowed_dn_list, or the certificate's host name or address)`,
          { address },
        ),
      );
    };
    const onAbort = (): void => {
      fail(signal === undefined ? new Error('aborted') : abortErrorFor(signal, `connecting to ${address}`));
    };
    socket.on('readable', onReadable);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
