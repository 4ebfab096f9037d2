// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * The inspector's error taxonomy (after Ceilometer's virt inspector): consumers decide what to do by
 * class, never by message.
 */

/** Base class; `code` is stable and machine-readable. */
export class InspectorError extends Error {
  readonly code: string = 'INSPECTOR_ERROR';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** libvirt cannot be reached (socket missing, daemon down or restarting, connection lost). */
export class DisconnectedError extends InspectorError {
  override readonly code = 'DISCONNECTED';
}

/** The caller's deadline passed before libvirt answered. */
export class InspectorTimeoutError extends InspectorError {
  override readonly code = 'TIMEOUT';
}

/** libvirt answered with an error for the whole call. */
export class LibvirtCallError extends InspectorError {
  override readonly code = 'LIBVIRT_ERROR';
}

/** Whether an error means that libvirt could not be reached (as opposed to a failed call). */
export function isDisconnection(err: unknown): boolean {
  return err instanceof DisconnectedError;
}
