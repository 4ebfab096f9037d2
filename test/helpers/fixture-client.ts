// SPDX-License-Identifier: Apache-2.0
/**
 * A stand-in for the libvirt RPC client that answers from a recording of the real lab
 * (test/fixtures/lab/inspection.json, made by scripts/record-fixtures.ts), so unit tests run the real
 * inspector, stats decoder and XML parser without a daemon.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import {
  RemoteLimits,
  XdrReader,
  XdrWriter,
  readGetAllDomainStatsRet,
  uuidToBytes,
  type Domain,
  type DomainStatsRecord,
  type DomainStatsSink,
  type GetAllDomainStatsArgs,
  type LibvirtClient,
  type ReadAllDomainStatsOptions,
  type TypedParam,
} from '../../src/libvirt/index.ts';
import { decodeFrame } from '../../src/libvirt/framing.ts';
import { LibvirtError } from '../../src/libvirt/errors.ts';
import { Proc } from '../../src/libvirt/constants.ts';
import { decodeRemoteError, writeDomain } from '../../src/libvirt/procedures.ts';

/** Records as libvirtd sends them (the XDR payload of the bulk stats reply). */
export function encodeStatsReply(records: readonly DomainStatsRecord[]): Buffer {
  const w = new XdrWriter();
  w.array(records, RemoteLimits.DOMAIN_LIST_MAX, (x, r) => {
    writeDomain(x, r.domain);
    x.array(r.params, RemoteLimits.CONNECT_GET_ALL_DOMAIN_STATS_MAX, (y, p) => y.typedParam(p));
  });
  return w.finish();
}

/** A frame of test/fixtures/libvirt/insight-frames.json (guest agent and events, recorded from the lab). */
export function insightFrame(name: string): Buffer {
  const rec = JSON.parse(
    readFileSync(new URL('../fixtures/libvirt/insight-frames.json', import.meta.url), 'utf8'),
  ) as { frames: { name: string; frame: string }[] };
  const f = rec.frames.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no recorded frame ${name}`);
  return Buffer.from(f.frame, 'base64');
}

/** The recorded reply of a call: its payload, or the LibvirtError it carried. */
function replay(name: string, proc: number): Buffer {
  const frame = decodeFrame(insightFrame(name));
  if (frame.status !== 0) throw new LibvirtError(decodeRemoteError(frame.payload), proc);
  return Buffer.from(frame.payload);
}

interface Recording {
  host: {
    hostname: string;
    libvirtVersion: number;
    hypervisorVersion: number;
    hypervisorType: string;
    node: {
      model: string;
      memory: number;
      cpus: number;
      mhz: number;
      nodes: number;
      sockets: number;
      cores: number;
      threads: number;
    };
  };
  domains: Domain[];
  stats: { domain: Domain; params: { field: string; type: number; value: string | number | boolean }[] }[];
  xml: Record<string, string>;
  pools?: {
    name: string;
    uuid: string;
    state: number;
    capacity: string;
    allocation: string;
    available: string;
  }[];
}

/** Loads the lab recording. */
export function loadRecording(path = new URL('../fixtures/lab/inspection.json', import.meta.url)): Recording {
  return JSON.parse(readFileSync(path, 'utf8')) as Recording;
}

/** Options to script failures. */
export interface FixtureClientOptions {
  /** Makes every call fail with this error. */
  fail?: Error;
  /** Calls counted per procedure name. */
  calls?: Map<string, number>;
  /** Delay of every bulk stats call, in ms (it still honours its AbortSignal). */
  statsDelayMs?: number;
  /** A scripted hung guest (see {@link HungGuest}). */
  hung?: HungGuest;
}

/**
 * A record's parameters as libvirt 9 sends them for a domain whose job is held (seen with a stopped
 * QEMU): disks listed with name and path, without counters and sizes.
 */
export function withoutJobStats<T extends { field: string }>(params: readonly T[]): T[] {
  return params.filter((p) => !/^block\.\d+\.(rd|wr|fl|allocation|capacity|physical)/.test(p.field));
}

/** The bulk call stuck on a hung guest: it answers its caller, or its late-reply hook once abandoned. */
interface StuckCall {
  readonly records: () => DomainStatsRecord[];
  readonly onLateReply: ((records: DomainStatsRecord[]) => void) | undefined;
  finish?: (records: DomainStatsRecord[]) => void;
}

/**
 * A guest whose QEMU stops answering, as libvirtd shows it: while `hung`, the first bulk call that
 * touches it never answers (it holds the guest's job); later calls answer with the guest's record
 * partial (disks without counters, as libvirt 9 sends for a held job). `resume()` lets the stuck call
 * finish: an abandoned one delivers its full records to its `onLateReply`, as a late reply does.
 * A stuck call keeps the process alive, as its socket would: a test ends with `resume()`.
 */
export class HungGuest {
  hung = true;
  #stuck: StuckCall | undefined;
  /** When set, the next call after `resume()` still finds the job held, and the late reply comes just before it answers (the race right after SIGCONT). */
  lateDuringNextCall = false;
  #pendingLate: (() => void) | undefined;
  #alive: NodeJS.Timeout | undefined;

  constructor(readonly uuid: string) {}

  /** Ends the hang; the stuck call answers now, or during the next call (`lateDuringNextCall`). */
  resume(): void {
    this.hung = false;
    clearInterval(this.#alive);
    this.#alive = undefined;
    const stuck = this.#stuck;
    this.#stuck = undefined;
    if (stuck === undefined) return;
    const deliver = (): void => {
      const records = stuck.records();
      if (stuck.finish) stuck.finish(records);
      else stuck.onLateReply?.(records);
    };
    if (this.lateDuringNextCall) this.#pendingLate = deliver;
    else deliver();
  }

  /** @internal The fixture client's bulk call: full, partial, or stuck. */
  async answer(
    touches: boolean,
    full: () => DomainStatsRecord[],
    o: { signal?: AbortSignal; onLateReply?: (r: DomainStatsRecord[]) => void },
  ): Promise<DomainStatsRecord[]> {
    const late = this.#pendingLate;
    if (late !== undefined && touches) {
      this.#pendingLate = undefined;
      const records = this.#partial(full());
      late();
      return records;
    }
    if (!touches || !this.hung) return full();
    if (this.#stuck !== undefined) return this.#partial(full());
    return await new Promise<DomainStatsRecord[]>((resolve, reject) => {
      const stuck: StuckCall = { records: full, onLateReply: o.onLateReply, finish: resolve };
      this.#stuck = stuck;
      // A real stuck call keeps its socket, hence the process, alive until libvirtd answers.
      this.#alive ??= setInterval(() => undefined, 60_000);
      o.signal?.addEventListener(
        'abort',
        () => {
          delete stuck.finish;
          reject(o.signal?.reason instanceof Error ? o.signal.reason : new Error('aborted'));
        },
        { once: true },
      );
    });
  }

  #partial(records: DomainStatsRecord[]): DomainStatsRecord[] {
    return records.map((r) =>
      r.domain.uuid !== this.uuid ? r : { domain: r.domain, params: withoutJobStats(r.params) },
    );
  }
}

/** Builds a fake client answering from `rec`. */
export function fixtureClient(
  rec: Recording = loadRecording(),
  opts: FixtureClientOptions = {},
): LibvirtClient {
  const emitter = new EventEmitter();
  const calls = opts.calls ?? new Map<string, number>();
  const count = (name: string): void => {
    calls.set(name, (calls.get(name) ?? 0) + 1);
    if (opts.fail) throw opts.fail;
  };
  const params = (p: Recording['stats'][number]['params']): TypedParam[] =>
    p.map((x) => ({
      field: x.field,
      type: x.type,
      // 64-bit integers (types 3 and 4) are recorded as strings.
      value: (x.type === 3 || x.type === 4) && typeof x.value === 'string' ? BigInt(x.value) : x.value,
    }));
  // NOTE: async so that a scripted failure rejects, as a real call does.
  /* eslint-disable @typescript-eslint/require-await */
  const fake = {
    get state() {
      const total = [...calls.values()].reduce((a, b) => a + b, 0);
      return {
        connected: true,
        inFlight: 0,
        abandonedInFlight: 0,
        calls: total,
        errors: 0,
        connectionErrors: 0,
        abandoned: 0,
        reconnects: 0,
        rotations: 0,
        connectFailures: 0,
        droppedMessages: 0,
        protocolErrors: 0,
        listenerErrors: 0,
        anomalies: {
          'unmatched-reply': 0,
          'mismatched-reply': 0,
          'unexpected-frame': 0,
          'undecodable-event': 0,
          'listener-error': 0,
        },
        listenerErrorsByEvent: {
          connect: 0,
          reconnect: 0,
          disconnect: 0,
          lifecycle: 0,
          balloon: 0,
          ioError: 0,
          watchdog: 0,
        },
      };
    },
    on: (event: string, fn: (...a: unknown[]) => void) => emitter.on(event, fn),
    emit: (event: string, ...a: unknown[]) => emitter.emit(event, ...a),
    async listAllDomains(): Promise<Domain[]> {
      count('listAllDomains');
      return rec.domains;
    },
    async getAllDomainStats(
      args: { domains?: Domain[] },
      o: { signal?: AbortSignal; onLateReply?: (records: DomainStatsRecord[]) => void } = {},
    ): Promise<DomainStatsRecord[]> {
      count('getAllDomainStats');
      if (opts.statsDelayMs !== undefined) {
        const ms = opts.statsDelayMs;
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, ms);
          o.signal?.addEventListener('abort', () => {
            clearTimeout(t);
            reject(new Error('aborted'));
          });
        });
      }
      const want = new Set((args.domains ?? rec.domains).map((d) => d.uuid));
      const full = (): DomainStatsRecord[] =>
        rec.stats
          .filter((s) => want.has(s.domain.uuid))
          .map((s) => ({ domain: s.domain, params: params(s.params) }));
      if (opts.hung !== undefined) return opts.hung.answer(want.has(opts.hung.uuid), full, o);
      return full();
    },
    /** Over getAllDomainStats (through `this`, so that a test's proxy sees the call), via the real decoder. */
    async readAllDomainStats<R>(
      this: Pick<LibvirtClient, 'getAllDomainStats'>,
      args: GetAllDomainStatsArgs,
      sink: DomainStatsSink<R>,
      o: ReadAllDomainStatsOptions<R> = {},
    ): Promise<R[]> {
      const late = o.onLateReply;
      const records = await this.getAllDomainStats(args, {
        ...(o.signal !== undefined ? { signal: o.signal } : {}),
        ...(late !== undefined
          ? {
              onLateReply: (r: DomainStatsRecord[]) => {
                late(readGetAllDomainStatsRet(encodeStatsReply(r), sink));
              },
            }
          : {}),
      });
      return readGetAllDomainStatsRet(encodeStatsReply(records), sink);
    },
    async domainGetXmlDesc(dom: Domain): Promise<string> {
      count('domainGetXmlDesc');
      const xml = rec.xml[dom.uuid];
      if (xml === undefined) throw new Error(`no XML recorded for ${dom.name}`);
      return xml;
    },
    async connectGetHostname() {
      count('connectGetHostname');
      return rec.host.hostname;
    },
    async connectGetLibVersion() {
      count('connectGetLibVersion');
      return rec.host.libvirtVersion;
    },
    async connectGetVersion() {
      count('connectGetVersion');
      return rec.host.hypervisorVersion;
    },
    async connectGetType() {
      count('connectGetType');
      return rec.host.hypervisorType;
    },
    async nodeGetInfo() {
      count('nodeGetInfo');
      return rec.host.node;
    },
    async close() {
      count('close');
    },
    /** Raw procedures (storage pools and jobs), answered with XDR as libvirtd would. */
    async call(proc: number, args?: Uint8Array): Promise<Buffer> {
      const w = new XdrWriter();
      switch (proc) {
        case Proc.CONNECT_LIST_ALL_STORAGE_POOLS: {
          count('listAllStoragePools');
          const pools = rec.pools ?? [];
          w.u32(pools.length);
          for (const p of pools) w.string(p.name).opaqueFixed(uuidToBytes(p.uuid), 16);
          return w.u32(pools.length).finish();
        }
        case Proc.STORAGE_POOL_GET_INFO: {
          count('storagePoolGetInfo');
          const name = new XdrReader(Buffer.from(args ?? [])).string(4096);
          const p = (rec.pools ?? []).find((x) => x.name === name);
          if (p === undefined) throw new Error(`no pool ${name}`);
          return w
            .u32(p.state)
            .u64(BigInt(p.capacity))
            .u64(BigInt(p.allocation))
            .u64(BigInt(p.available))
            .finish();
        }
        case Proc.DOMAIN_GET_JOB_INFO: {
          count('domainGetJobInfo');
          // Recorded guests have no job: type 0 and every figure 0, as libvirt answers then.
          w.i32(0);
          for (let i = 0; i < 11; i++) w.u64(0n);
          return w.finish();
        }
        case Proc.DOMAIN_GET_GUEST_INFO: {
          count('domainGetGuestInfo');
          // The recorded agent is instance-00000002's (the tiny guest with a filesystem); the other
          // guests answer as libvirt does for a guest without an agent channel.
          const name = new XdrReader(Buffer.from(args ?? [])).string(4096);
          return replay(name === 'instance-00000002' ? 'guest_info' : 'guest_info_no_agent', proc);
        }
        case Proc.DOMAIN_GET_BLOCK_INFO: {
          count('domainGetBlockInfo');
          // Recorded for instance-00000005's vda (a blank 64 MiB qcow2, as every lab guest's vda).
          return replay('block_info_shutoff', proc);
        }
        default:
          throw new Error(`fixture client: procedure ${proc} not recorded`);
      }
    },
  };
  /* eslint-enable @typescript-eslint/require-await */
  return fake as unknown as LibvirtClient;
}
