// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * What the QEMU guest agent tells through libvirt's virDomainGetGuestInfo (one agent round trip per
 * guest for the OS, hostname and filesystem groups): parsed from libvirt's typed parameters
 * (`hostname`, `os.id`, `fs.<n>.mountpoint`, `fs.<n>.total-bytes`, …). The call needs libvirt's
 * read-write socket: libvirt refuses agent calls on a read-only connection.
 */
import {
  LibvirtClient,
  LibvirtError,
  VIR_ERR,
  domainGetGuestInfo,
  GuestInfoTypes,
  type TypedParam,
} from '../libvirt/index.ts';
import type { Caller } from '../libvirt/index.ts';

/** A filesystem mounted in the guest (sizes in bytes as the agent reports them). */
export interface GuestFilesystem {
  readonly mountpoint: string;
  /** The guest's device name (`vdb`). */
  readonly name: string;
  readonly fstype: string;
  /** The device path of the first disk under it (`/dev/vdb`), when the agent knows it. */
  readonly device?: string;
  readonly totalBytes?: number;
  readonly usedBytes?: number;
}

/** The guest's own view: hostname, OS and filesystems. */
export interface GuestInfo {
  readonly hostname?: string;
  readonly os: {
    readonly id?: string;
    readonly name?: string;
    readonly prettyName?: string;
    readonly version?: string;
    readonly versionId?: string;
    readonly kernelRelease?: string;
    readonly machine?: string;
  };
  readonly filesystems: readonly GuestFilesystem[];
}

/** Why a guest's agent was not read: no channel in its XML, agent not answering, deadline, other error. */
export type GuestAgentSkip = 'not_configured' | 'unresponsive' | 'timeout' | 'error';

/** The groups the exporter asks for. */
export const GUEST_INFO_TYPES = GuestInfoTypes.OS | GuestInfoTypes.HOSTNAME | GuestInfoTypes.FILESYSTEM;

/** Parses libvirt's typed parameters of virDomainGetGuestInfo. */
export function parseGuestInfo(params: readonly TypedParam[]): GuestInfo {
  const m = new Map<string, TypedParam['value']>(params.map((p) => [p.field, p.value]));
  const str = (k: string): string | undefined => {
    const v = m.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const num = (k: string): number | undefined => {
    const v = m.get(k);
    if (typeof v === 'bigint') return Number(v);
    return typeof v === 'number' ? v : undefined;
  };
  const filesystems: GuestFilesystem[] = [];
  const count = num('fs.count') ?? 0;
  for (let i = 0; i < count; i++) {
    const p = `fs.${i}.`;
    const mountpoint = str(`${p}mountpoint`);
    if (mountpoint === undefined) continue;
    const device = str(`${p}disk.0.device`);
    const totalBytes = num(`${p}total-bytes`);
    const usedBytes = num(`${p}used-bytes`);
    filesystems.push({
      mountpoint,
      name: str(`${p}name`) ?? '',
      fstype: str(`${p}fstype`) ?? '',
      ...(device !== undefined ? { device } : {}),
      ...(totalBytes !== undefined ? { totalBytes } : {}),
      ...(usedBytes !== undefined ? { usedBytes } : {}),
    });
  }
  const os: Record<string, string> = {};
  const put = (key: string, field: string): void => {
    const v = str(field);
    if (v !== undefined) os[key] = v;
  };
  put('id', 'os.id');
  put('name', 'os.name');
  put('prettyName', 'os.pretty-name');
  put('version', 'os.version');
  put('versionId', 'os.version-id');
  put('kernelRelease', 'os.kernel-release');
  put('machine', 'os.machine');
  const hostname = str('hostname');
  return { ...(hostname !== undefined ? { hostname } : {}), os, filesystems };
}

/** libvirt's answers for a guest without a usable agent, by error code. */
const NOT_CONFIGURED = VIR_ERR.ARGUMENT_UNSUPPORTED; // VIR_ERR_ARGUMENT_UNSUPPORTED: "QEMU guest agent is not configured"
const UNRESPONSIVE = VIR_ERR.AGENT_UNRESPONSIVE; // VIR_ERR_AGENT_UNRESPONSIVE: "not connected" / "not responding"
const OPERATION_INVALID = VIR_ERR.OPERATION_INVALID; // the domain is not running any more

/** Classifies a failed guest info call. */
export function guestAgentSkip(err: unknown, signal: AbortSignal | undefined): GuestAgentSkip {
  if (signal?.aborted === true) return 'timeout';
  if (err instanceof LibvirtError) {
    if (err.code === NOT_CONFIGURED) return 'not_configured';
    if (err.code === UNRESPONSIVE || err.code === OPERATION_INVALID) return 'unresponsive';
  }
  return 'error';
}

/** One guest's answer: its info, or why it was skipped. */
export type GuestInfoResult =
  | { readonly ok: true; readonly info: GuestInfo }
  | { readonly ok: false; readonly skip: GuestAgentSkip; readonly message: string };

/** Reads one guest's info. */
export async function readGuestInfo(
  client: Caller,
  dom: { readonly name: string; readonly uuid: string; readonly id: number },
  signal: AbortSignal | undefined,
): Promise<GuestInfoResult> {
  try {
    const params = await domainGetGuestInfo(client, dom, GUEST_INFO_TYPES, signal ? { signal } : {});
    return { ok: true, info: parseGuestInfo(params) };
  } catch (err) {
    return {
      ok: false,
      skip: guestAgentSkip(err, signal),
      message: err instanceof Error ? err.message : String(err),
    };
  }
}

/**
 * The guest agent's view of each running guest: one virDomainGetGuestInfo per guest, concurrently (the
 * client keeps at most 5 on the wire), all under `signal`.
 */
export async function readGuestInfos(
  client: Caller,
  instances: readonly {
    readonly name: string;
    readonly uuid: string;
    readonly id: number;
    readonly state: string;
  }[],
  signal: AbortSignal | undefined,
): Promise<ReadonlyMap<string, GuestInfoResult>> {
  const running = instances.filter((i) => i.id > 0 && i.state === 'running');
  const results = await Promise.all(
    running.map(async (i) => [i.uuid, await readGuestInfo(client, i, signal)] as const),
  );
  return new Map(results);
}

/**
 * The read-write client for agent calls (libvirt refuses them on a read-only connection): the one
 * given, else one for the guest_agent collector's URI, created on first use (again if the URI changes).
 */
export class AgentClients {
  #own: { readonly uri: string; readonly client: LibvirtClient } | undefined;

  constructor(
    private readonly given: LibvirtClient | undefined,
    private readonly connectTimeoutMs: number,
  ) {}

  /** The client for `uri`. */
  for(uri: string): LibvirtClient {
    if (this.given !== undefined) return this.given;
    if (this.#own?.uri !== uri) {
      if (this.#own !== undefined) void this.#own.client.close();
      this.#own = {
        uri,
        client: new LibvirtClient({ uri, readOnly: false, connectTimeoutMs: this.connectTimeoutMs }),
      };
    }
    return this.#own.client;
  }

  /** Closes the client created here, if any. */
  async close(): Promise<void> {
    if (this.#own !== undefined) await this.#own.client.close();
  }
}
