// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Pressure (PSI) and CPU throttling of the running guests, from this machine's cgroups (cgroups.ts):
 * only meaningful when libvirtd runs here, so the inspector says why not otherwise.
 */
import { parseLibvirtUri } from '../libvirt/index.ts';
import { CgroupReader, type GuestPressure } from './cgroups.ts';
import type { Instance } from './types.ts';

/** Where libvirt writes QEMU pid files and where /proc is (tests); see {@link CgroupReader}. */
export interface CgroupPaths {
  readonly pidDir?: string;
  readonly proc?: string;
}

/**
 * Why this host's cgroups say nothing about the guests (remote libvirt, an injected client without
 * cgroup paths), or undefined when they do.
 */
export function cgroupsNotLocal(options: {
  readonly client?: unknown;
  readonly uri?: string;
  readonly cgroupPaths?: CgroupPaths;
}): string | undefined {
  if (options.client !== undefined)
    return options.cgroupPaths === undefined
      ? 'an injected libvirt client (no cgroupPaths given)'
      : undefined;
  let local: boolean;
  try {
    local = parseLibvirtUri(options.uri ?? 'qemu:///system').target.kind === 'unix';
  } catch {
    local = false;
  }
  return local ? undefined : `libvirt at ${options.uri ?? ''} is not on this machine`;
}

/** Reads the running guests' cgroups, keeping one {@link CgroupReader} per cgroup root. */
export class GuestPressureReader {
  #cgroups: CgroupReader | undefined;

  constructor(
    /** Why the cgroups are not readable here (see {@link cgroupsNotLocal}), or undefined. */
    private readonly notLocal: string | undefined,
    private readonly paths: CgroupPaths,
  ) {}

  read(
    instances: readonly Instance[],
    options: { readonly cgroupRoot?: string | undefined },
  ): { readonly unavailable?: string; readonly byUuid: ReadonlyMap<string, GuestPressure> } {
    if (this.notLocal !== undefined) return { unavailable: this.notLocal, byUuid: new Map() };
    if (this.#cgroups === undefined || this.#cgroups.root !== (options.cgroupRoot ?? this.#cgroups.root)) {
      this.#cgroups?.close();
      this.#cgroups = new CgroupReader({ root: options.cgroupRoot, ...this.paths });
    }
    const reader = this.#cgroups;
    const byUuid = new Map<string, GuestPressure>();
    if (reader.unavailable !== undefined) return { unavailable: reader.unavailable, byUuid };
    const running = instances.filter((i) => i.id > 0);
    reader.retain(running);
    for (const i of running) {
      const p = reader.read(i);
      if (p !== undefined) byUuid.set(i.uuid, p);
    }
    return { byUuid };
  }

  /** Closes the cgroup files kept open (the inspector's close); a later read opens them again. */
  close(): void {
    this.#cgroups?.close();
  }
}
