// SPDX-License-Identifier: Apache-2.0
/**
 * Domain UUIDs between their 16 bytes on the wire (`remote_uuid`) and their text form.
 *
 * @packageDocumentation
 */

/** Formats 16 UUID bytes as the canonical lower-case 8-4-4-4-12 string. */
export function uuidToString(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Parses a UUID (with or without dashes, any case, as libvirt's virUUIDParse accepts) into 16 bytes.
 * Throws RangeError for anything else.
 */
export function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a UUID: ${JSON.stringify(uuid)}`);
  return Buffer.from(hex, 'hex');
}
