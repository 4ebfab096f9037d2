// SPDX-License-Identifier: Apache-2.0
// Fuzzing the decoders: random, truncated and mutated input must only ever produce XdrDecodeError
// (or a value), quickly. Any other exception, or a hang, is a bug: every suite has a timeout, so a hang
// fails the run instead of stalling CI (issue 15, item 14).
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';

import { LibvirtConnection } from '../../../src/libvirt/connection.ts';
import {
  KEEPALIVE_PROGRAM,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
} from '../../../src/libvirt/constants.ts';
import { LibvirtConnectionError, LibvirtError, XdrDecodeError } from '../../../src/libvirt/errors.ts';
import { FrameDecoder, decodeFrame, encodeFrame, type FrameHeader } from '../../../src/libvirt/framing.ts';
import {
  decodeDomainJobInfo,
  decodeListAllStoragePoolsRet,
  decodeStoragePoolInfo,
} from '../../../src/libvirt/pools-and-jobs.ts';
import { Proc } from '../../../src/libvirt/constants.ts';
import {
  decodeAuthListRet,
  decodeBalloonChangeMessage,
  decodeDomainInfo,
  decodeGetAllDomainStatsRet,
  decodeLifecycleMessage,
  decodeListAllDomainsRet,
  decodeNodeInfo,
  decodeRemoteError,
  decodeString,
  writeDomain,
} from '../../../src/libvirt/procedures.ts';
import { XdrReader, XdrWriter } from '../../../src/libvirt/xdr.ts';
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
  balloon: decodeBalloonChangeMessage,
  storagePools: decodeListAllStoragePoolsRet,
  storagePoolInfo: decodeStoragePoolInfo,
  jobInfo: decodeDomainJobInfo,
};

const DOM = { name: 'instance-00000001', uuid: '11111111-2222-3333-4444-555555555501', id: 6 };

/** Well-formed payloads of the decoders that have no recorded frame. */
const SYNTHETIC_SEEDS: Buffer[] = [
  // Balloon change (proc 331) as captured on the lab: callback 5, instance-00000001, 112640 KiB.
  Buffer.from(
    '0000000500000011696e7374616e63652d3030303030303031000000111111112222333344445555555555010000000b000000000001b800',
    'hex',
  ),
  // Two storage pools and the count.
  (() => {
    const w = new XdrWriter().u32(2);
    for (const name of ['default', 'images']) {
      w.string(name).opaqueFixed(Buffer.alloc(16, name.length), 16);
    }
    return w.u32(2).finish();
  })(),
  // Pool info: running, 10 GiB, 4 GiB used, 6 GiB free.
  new XdrWriter()
    .u32(2)
    .u64(10n << 30n)
    .u64(4n << 30n)
    .u64(6n << 30n)
    .finish(),
  // Job info: a migration with every counter set.
  (() => {
    const w = new XdrWriter().i32(2);
    for (let i = 0; i < 11; i++) w.u64(BigInt(i) * 1000n + 1n);
    return w.finish();
  })(),
  // A domain reference alone (the start of most event payloads).
  (() => {
    const w = new XdrWriter();
    writeDomain(w, DOM);
    return w.finish();
  })(),
];

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
]
  .map((name) => recordedFrame(name).payload)
  .concat(SYNTHETIC_SEEDS);

let decodeCalls = 0;
const callsPerDecoder = new Map<string, number>();

/**
 * Lets timers run every `every` iterations, so that the suite's timeout can end a fuzz loop that has
 * become slow (a decoder gone quadratic) instead of the run stalling until it is done.
 */
async function breather(i: number, every = 250): Promise<void> {
  if (i % every === 0) await new Promise((r) => setImmediate(r));
}

function mustOnlyThrowXdr(decode: Decoder, input: Buffer, label: string): void {
  decodeCalls++;
  callsPerDecoder.set(label, (callsPerDecoder.get(label) ?? 0) + 1);
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

describe('decoder fuzzing', { timeout: 60_000 }, () => {
  test('random bytes of random lengths', async () => {
    const rand = prng(1);
    for (let i = 0; i < 5000; i++) {
      await breather(i);
      const input = randomBytes(rand, Math.floor(rand() * 200));
      for (const [name, decode] of Object.entries(DECODERS)) mustOnlyThrowXdr(decode, input, name);
    }
  });

  test('structured garbage (lengths, counts and discriminants that matter to XDR)', async () => {
    const rand = prng(2);
    for (let i = 0; i < 5000; i++) {
      await breather(i);
      const input = structuredGarbage(rand, Math.floor(rand() * 64));
      for (const [name, decode] of Object.entries(DECODERS)) mustOnlyThrowXdr(decode, input, name);
    }
  });

  test('every truncation of every real payload', async () => {
    for (const [i, seed] of SEEDS.entries()) {
      await breather(i, 1);
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

  test('random mutations of real payloads', async () => {
    const rand = prng(3);
    for (let i = 0; i < 4000; i++) {
      await breather(i);
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
      const chunks = partition(rand, stream, 17);
      assert.equal(Buffer.concat(chunks).compare(stream), 0, 'the chunks are the stream, no more, no less');
      try {
        for (const chunk of chunks) for (const frame of decoder.push(chunk)) decodeFrame(frame);
      } catch (err) {
        assert.ok(err instanceof XdrDecodeError, String(err));
      }
    }
  });

  test('valid frames split at random points come out whole, in order, byte for byte', () => {
    const rand = prng(5);
    for (let i = 0; i < 500; i++) {
      const frames: Buffer[] = [];
      const count = 1 + Math.floor(rand() * 6);
      for (let f = 0; f < count; f++) {
        frames.push(
          encodeFrame(
            { prog: REMOTE_PROGRAM, vers: 1, proc: f, type: 1, serial: i, status: 0 },
            randomBytes(rand, Math.floor(rand() * 64) * 4),
          ),
        );
      }
      const stream = Buffer.concat(frames);
      const decoder = new FrameDecoder(1 << 16);
      const out: Buffer[] = [];
      for (const chunk of partition(rand, stream, 1 + Math.floor(rand() * 40)))
        out.push(...decoder.push(chunk));
      assert.deepEqual(
        out.map((b) => b.toString('hex')),
        frames.map((b) => b.toString('hex')),
      );
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  test('ran thousands of decodes (every decoder among them)', () => {
    assert.ok(decodeCalls > 100000, `only ${decodeCalls} decodes`);
    for (const name of Object.keys(DECODERS)) {
      const n = callsPerDecoder.get(name) ?? 0;
      assert.ok(n > 10000, `${name}: only ${n} decodes`);
    }
  });
});

/** Splits `data` into consecutive chunks of 1..maxChunk bytes: a partition, no overlap, no gap. */
function partition(rand: () => number, data: Buffer, maxChunk: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const len = 1 + Math.floor(rand() * maxChunk);
    out.push(data.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** A socket whose writes vanish and whose reads are what the test pushes. */
class LoopSocket extends Duplex {
  override _read(): void {
    // the test pushes the daemon's bytes
  }
  override _write(_chunk: Buffer, _enc: BufferEncoding, callback: () => void): void {
    callback();
  }
}

const CALLS = [
  { proc: Proc.CONNECT_GET_HOSTNAME, call: (c: LibvirtConnection) => c.connectGetHostname() },
  { proc: Proc.CONNECT_GET_URI, call: (c: LibvirtConnection) => c.connectGetUri() },
  { proc: Proc.CONNECT_GET_TYPE, call: (c: LibvirtConnection) => c.connectGetType() },
];
const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;

describe(
  'dispatch fuzzing: forged serials, procedures, programs, versions and types',
  { timeout: 60_000 },
  () => {
    test('a call only ever resolves with a reply of its own serial, program, version and procedure', async () => {
      const rand = prng(6);
      let resolved = 0;
      let rejected = 0;
      for (let i = 0; i < 400; i++) {
        const sock = new LoopSocket();
        const conn = new LibvirtConnection(sock, { kind: 'unix', path: '/fuzz' }, { keepaliveIntervalMs: 0 });
        // Listeners that throw: dispatch must isolate them whatever arrives.
        conn.on('lifecycle', () => {
          throw new Error('lifecycle listener');
        });
        conn.on('balloon', () => {
          throw new Error('balloon listener');
        });
        conn.on('message', () => {
          throw new Error('message listener');
        });
        const outcomes = CALLS.map(({ call }) =>
          call(conn).then(
            (value) => ({ ok: true as const, value }),
            (error: unknown) => ({ ok: false as const, error }),
          ),
        );
        await new Promise((r) => setImmediate(r));
        // The calls went out with serials 1, 2, 3. Forge frames around them.
        const sent: (FrameHeader & { payload: Buffer })[] = [];
        const frames = Math.floor(rand() * 5);
        for (let f = 0; f < frames; f++) {
          const header: FrameHeader = {
            prog: pick(rand, [REMOTE_PROGRAM, REMOTE_PROGRAM, REMOTE_PROGRAM, KEEPALIVE_PROGRAM, 0x20008087]),
            vers: pick(rand, [
              REMOTE_PROTOCOL_VERSION,
              REMOTE_PROTOCOL_VERSION,
              REMOTE_PROTOCOL_VERSION,
              2,
              0,
            ]),
            proc: pick(rand, [
              ...CALLS.map((c) => c.proc),
              Proc.DOMAIN_EVENT_CALLBACK_LIFECYCLE,
              Proc.DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE,
              1,
              2,
              Math.floor(rand() * 2 ** 31),
            ]),
            type: pick(rand, [
              MessageType.REPLY,
              MessageType.REPLY,
              MessageType.MESSAGE,
              MessageType.CALL,
              MessageType.STREAM,
              MessageType.REPLY_WITH_FDS,
              7,
            ]),
            serial: pick(rand, [1, 2, 3, 1, 2, 3, 0, 4, 0xffffffff]),
            status: pick(rand, [0, 0, 0, 1, 2, 9]),
          };
          const payload =
            rand() < 0.5
              ? new XdrWriter().string(`value-${i}-${f}`).finish()
              : rand() < 0.5
                ? pick(rand, SEEDS)
                : randomBytes(rand, Math.floor(rand() * 40));
          sent.push({ ...header, payload });
        }
        // The genuine replies, at random places among the forged frames.
        CALLS.forEach(({ proc }, index) => {
          const genuine = {
            prog: REMOTE_PROGRAM,
            vers: REMOTE_PROTOCOL_VERSION,
            proc,
            type: MessageType.REPLY,
            serial: index + 1,
            status: 0,
            payload: new XdrWriter().string(`genuine-${i}-${index}`).finish(),
          };
          sent.splice(Math.floor(rand() * (sent.length + 1)), 0, genuine);
        });
        const stream = Buffer.concat(sent.map((s) => encodeFrame(s, s.payload)));
        for (const chunk of partition(rand, stream, 64)) sock.push(chunk);
        await new Promise((r) => setImmediate(r));
        conn.destroy();
        const results = await Promise.all(outcomes);
        results.forEach((result, index) => {
          const serial = index + 1;
          const spec = CALLS[index];
          assert.ok(spec);
          if (result.ok) {
            resolved++;
            const source = sent.find(
              (s) =>
                s.prog === REMOTE_PROGRAM &&
                s.vers === REMOTE_PROTOCOL_VERSION &&
                s.proc === spec.proc &&
                s.serial === serial &&
                (s.type === MessageType.REPLY || s.type === MessageType.REPLY_WITH_FDS) &&
                s.status === 0,
            );
            assert.ok(source, `call ${serial} resolved with ${result.value} without a matching reply`);
            assert.equal(result.value, decodeString(source.payload));
          } else {
            rejected++;
            const e = result.error;
            assert.ok(
              e instanceof LibvirtConnectionError || e instanceof LibvirtError || e instanceof XdrDecodeError,
              `call ${serial} rejected with ${String(e)}`,
            );
          }
        });
      }
      assert.ok(resolved > 100 && rejected > 100, `resolved ${resolved}, rejected ${rejected}`);
    });
  },
);
