// SPDX-License-Identifier: Apache-2.0
/**
 * A stand-in for the libvirt RPC client that answers from a recording of the real lab
 * (test/fixtures/lab/inspection.json, made by scripts/record-fixtures.ts), so unit tests run the real
 * inspector, stats decoder and XML parser without a daemon.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Domain, DomainStatsRecord, LibvirtClient, TypedParam } from '../../src/libvirt/index.ts';

interface Recording {
  host: {
    hostname: string;
    libvirtVersion: number;
    hypervisorVersion: number;
    hypervisorType: string;
    node: { model: string; memory: number; cpus: number; mhz: number; nodes: number; sockets: number; cores: number; threads: number };
  };
  domains: Domain[];
  stats: { domain: Domain; params: { field: string; type: number; value: string | number | boolean }[] }[];
  xml: Record<string, string>;
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
}

/** Builds a fake client answering from `rec`. */
export function fixtureClient(rec: Recording = loadRecording(), opts: FixtureClientOptions = {}): LibvirtClient {
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
      return { connected: true, inFlight: 0, abandonedInFlight: 0, calls: total, errors: 0, connectionErrors: 0, abandoned: 0, reconnects: 0, rotations: 0, connectFailures: 0 };
    },
    on: (event: string, fn: (...a: unknown[]) => void) => emitter.on(event, fn),
    emit: (event: string, ...a: unknown[]) => emitter.emit(event, ...a),
    async listAllDomains(): Promise<Domain[]> {
      count('listAllDomains');
      return rec.domains;
    },
    async getAllDomainStats(args: { domains?: Domain[] }): Promise<DomainStatsRecord[]> {
      count('getAllDomainStats');
      const want = new Set((args.domains ?? rec.domains).map((d) => d.uuid));
      return rec.stats.filter((s) => want.has(s.domain.uuid)).map((s) => ({ domain: s.domain, params: params(s.params) }));
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
  };
  /* eslint-enable @typescript-eslint/require-await */
  return fake as unknown as LibvirtClient;
}
