// SPDX-License-Identifier: Apache-2.0
// Fuzzing the decoders: random, truncated and mutated input must only ever produce XdrDecodeError
// (or a value), quickly. Any other exception, or a hang, is a bug.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { XdrDecodeError } from '../../../src/libvirt/errors.ts';
import { FrameDecoder, decodeFrame } from '../../../src/libvirt/framing.ts';
import {
  decodeAuthListRet,
  decodeDomainInfo,
  decodeGetAllDomainStatsRet,
  decodeLifecycleMessage,
  decodeListAllDomainsRet,
  decodeNodeInfo,
  decodeRemoteError,
  decodeString,
} from '../../../src/libvirt/procedures.ts';
import { XdrReader } from '../../../src/libvirt/xdr.ts';
import { prng } from './prng.ts';
import { recordedFrame } from './recorded.ts';

type Decoder = (payload: Buffer) => unknown;

const DECODERS: Record<string, Decoder> = {
  getAllDomainStats: decodeGetAllDomainStatsRet,
  listAllDomains: decodeListAllDomainsRet,
  remoteError: decodeRemoteError,
  nodeInfo: decodeNodeInfo,
  domainInfo: decodeDomainInfo,
  lifecycle: decodeLifecycleMessage,
  string: decodeString,
  authList: decodeAuthListRet,
  typedParams: (b) => new XdrReader(b).array(1 << 20, (r) => r.typedParam(1 << 22), 12),
};

/** Seeds: real payloads, each fed to the decoder that understands it (and to every other one). */
const SEEDS: Buffer[] = [
  'get_all_domain_stats',
  'domain_list_get_stats',
  'list_all_domains',
  'error_no_domain',
  'error_no_metadata',
  'node_get_info',
  'domain_get_info',
  'event_lifecycle_suspended',
  'domain_get_xml_desc',
  'auth_list',
].map((name) => recordedFrame(name).payload);

let decodeCalls = 0;
function mustOnlyThrowXdr(decode: Decoder, input: Buffer, label: string): void {
  decodeCalls++;
  try {
    decode(input);
  } catch (err) {
    if (!(err instanceof XdrDecodeError)) {
      assert.fail(`${label}: threw ${String(err)} for input ${input.subarray(0, 64).toString('hex')}…`);
    }
  }
}

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** Random bytes biased towards what stresses XDR: small and huge lengths, 0/1 discriminants, valid types. */
function structuredGarbage(rand: () => number, words: number): Buffer {
  const b = Buffer.alloc(words * 4);
  const interesting = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    16,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0xfffffffc,
    1 << 20,
    4194304,
  ];
  for (let i = 0; i < words; i++) {
    const v =
      rand() < 0.6
        ? (interesting[Math.floor(rand() * interesting.length)] ?? 0)
        : Math.floor(rand() * 2 ** 32);
    b.writeUInt32BE(v >>> 0, i * 4);
  }
  return b;
}

describe('decoder fuzzing', () => {
  test('random bytes of random lengths', () => {
    const rand = prng(1);
    for (let i = 0; i < 5000; i++) {
      const input = randomBytes(rand, Math.floor(rand() * 200));
      for (const [name, decode] of Object.entries(DECODERS)) mustOnlyThrowXdr(decode, input, name);
    }
  });

  test('structured garbage (lengths, counts and discriminants that matter to XDR)', () => {
    const rand = prng(2);
    for (let i = 0; i < 5000; i++) {
      const input = structuredGarbage(rand, Math.floor(rand() * 64));
      for (const [name, decode] of Object.entries(DECODERS)) mustOnlyThrowXdr(decode, input, name);
    }
  });

  test('every truncation of every real payload', () => {
    for (const seed of SEEDS) {
      // All cut points for small payloads, a dense sample of them for the 26 KiB stats reply.
      const step = seed.length > 4096 ? 7 : 1;
      for (let cut = 0; cut < seed.length; cut += step) {
        const input = seed.subarray(0, cut);
        for (const [name, decode] of Object.entries(DECODERS)) mustOnlyThrowXdr(decode, input, name);
      }
    }
  });

  test('truncated real stats replies never decode as complete', () => {
    const seed = recordedFrame('get_all_domain_stats').payload;
    for (let cut = 0; cut < seed.length; cut += 13) {
      assert.throws(() => decodeGetAllDomainStatsRet(seed.subarray(0, cut)), XdrDecodeError);
    }
  });

  test('random mutations of real payloads', () => {
    const rand = prng(3);
    for (let i = 0; i < 4000; i++) {
      const seed = SEEDS[Math.floor(rand() * SEEDS.length)] ?? Buffer.alloc(0);
      const input = Buffer.from(seed);
      const flips = 1 + Math.floor(rand() * 6);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(rand() * input.length);
        if (rand() < 0.5) input[at] = Math.floor(rand() * 256);
        else if (at + 4 <= input.length)
          input.writeUInt32BE([0xffffffff, 0x7fffffff, 0, 1, 2, 8][f % 6] ?? 0, at & ~3);
      }
      for (const [name, decode] of Object.entries(DECODERS)) mustOnlyThrowXdr(decode, input, name);
    }
  });

  test('the frame stream decoder on random streams only throws FrameLengthError (an XdrDecodeError)', () => {
    const rand = prng(4);
    for (let i = 0; i < 3000; i++) {
      const decoder = new FrameDecoder(1 << 16);
      const stream = rand() < 0.5 ? randomBytes(rand, Math.floor(rand() * 300)) : structuredGarbage(rand, 40);
      try {
        for (let at = 0; at < stream.length; at += 1 + Math.floor(rand() * 17)) {
          for (const frame of decoder.push(stream.subarray(at, at + 1 + Math.floor(rand() * 17))))
            decodeFrame(frame);
        }
      } catch (err) {
        assert.ok(err instanceof XdrDecodeError, String(err));
      }
    }
  });

  test('ran thousands of decodes', () => {
    assert.ok(decodeCalls > 100000, `only ${decodeCalls} decodes`);
  });
});
