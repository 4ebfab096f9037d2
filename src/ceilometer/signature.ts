// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * `message_signature` of a Ceilometer sample: HMAC-SHA256 keyed with the telemetry secret over the
 * sorted, flattened `name` + `str(value)` pairs of the sample dict (Ceilometer
 * publisher/utils.py `compute_signature` and `recursive_keypairs`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { compareCodePoints, type PyDict, PyFloat, pyStr, type PyValue } from './python-format.ts';

function isDict(v: PyValue): v is PyDict {
  return typeof v === 'object' && v !== null && !(v instanceof PyFloat) && !Array.isArray(v);
}

/**
 * The pairs the signature hashes, in order: keys sorted (by code point) at every level, nested dicts
 * flattened to `parent:child`, lists kept whole (formatted later through `decode_unicode`).
 */
export function recursiveKeypairs(d: PyDict, separator = ':'): [string, PyValue][] {
  const out: [string, PyValue][] = [];
  for (const name of Object.keys(d).sort(compareCodePoints)) {
    const value = d[name] ?? null;
    if (isDict(value)) {
      for (const [sub, subValue] of recursiveKeypairs(value, separator)) {
        out.push([`${name}${separator}${sub}`, subValue]);
      }
    } else {
      out.push([name, value]);
    }
  }
  return out;
}

/**
 * Computes the signature of a sample dict; `''` when the secret is empty, as Ceilometer does.
 * An existing `message_signature` key is skipped.
 */
export function computeSignature(message: PyDict, secret: string): string {
  if (secret === '') return '';
  const hmac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  for (const [name, value] of recursiveKeypairs(message)) {
    if (name === 'message_signature') continue;
    hmac.update(Buffer.from(name, 'utf8'));
    hmac.update(Buffer.from(pyStr(value), 'utf8'));
  }
  return hmac.digest('hex');
}

/** Checks a received sample's signature in constant time; always true with an empty secret (Ceilometer's rule). */
export function verifySignature(message: PyDict, secret: string): boolean {
  if (secret === '') return true;
  const given = message.message_signature;
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(computeSignature(message, secret), 'ascii');
  const actual = Buffer.from(given, 'ascii');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
