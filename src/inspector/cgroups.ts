// SPDX-License-Identifier: Apache-2.0
/**
 * @packageDocumentation
 * Per-guest pressure stall information (PSI) and CPU throttling from the cgroup v2 directory of each
 * guest's QEMU, found as libvirt places it: `machine.slice/machine-qemu\x2d<id>\x2d<name>.scope` with
 * systemd, `machine/qemu-<id>-<name>.libvirt-qemu` without. The directory is resolved from the QEMU
 * pid's `/proc/<pid>/cgroup` (`0::` line; the pid from libvirt's pid file) or else by name, once per
 * domain id. Values are raw: PSI totals and throttled time in microseconds.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CgroupFiles,
  ReadBuffer,
  firstTokenIs,
  flatKeyedValue,
  hasToken,
  parsePsiBytes,
  type PsiTotals,
} from './cgroup-files.ts';

export type { PsiTotals } from './cgroup-files.ts';

/** What one guest's cgroup says. */
export interface GuestPressure {
  /** The cgroup directory read (relative to the root). */
  readonly cgroup: string;
  readonly cpu: PsiTotals;
  readonly memory: PsiTotals;
  readonly io: PsiTotals;
  /** From cpu.stat, only when a CPU quota is set (cpu.max is not `max`). */
  readonly throttledUs?: number;
  readonly throttledPeriods?: number;
}

/** Parses a PSI file's text (`some avg10=… total=N` / `full … total=N`); see {@link parsePsiBytes}. */
export function parsePsi(text: string): PsiTotals {
  const bytes = Buffer.from(text, 'utf8');
  return parsePsiBytes(bytes, bytes.length);
}

/** The first cgroup2 mount point in a mountinfo text (the field after ` - ` is the type). */
export function cgroup2MountFromMountinfo(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const type = line.slice(sep + 3).split(' ')[0];
    if (type !== 'cgroup2') continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    // mountinfo escapes spaces and other characters as octal
    if (mountPoint !== undefined)
      return mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}

/** systemd's unit-name escaping as libvirt's machine scopes use it (`-` → `\x2d`). */
function systemdEscape(s: string): string {
  return s.replace(/[^A-Za-z0-9_.]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The directories libvirt uses for a domain, relative to the v2 root: systemd form first. */
export function machineCgroupCandidates(id: number, name: string): string[] {
  return [
    `machine.slice/machine-${systemdEscape(`qemu-${id}-${name}`)}.scope`,
    `machine/qemu-${id}-${name}.libvirt-qemu`,
  ];
}

/**
 * The machine directory in a `/proc/PID/cgroup` v2 path: the path up to the segment that is the
 * domain's scope or `.libvirt-qemu` directory (QEMU's threads sit below it, e.g. `…scope/libvirt/emulator`).
 * Undefined when the path is not a libvirt machine directory of that domain id.
 */
export function machineDirFromProcPath(procPath: string, id: number): string | undefined {
  const parts = procPath.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] ?? '';
    if (
      (p.startsWith(`machine-qemu\\x2d${id}\\x2d`) && p.endsWith('.scope')) ||
      (p.startsWith(`qemu-${id}-`) && p.endsWith('.libvirt-qemu'))
    )
      return parts.slice(0, i + 1).join('/');
  }
  return undefined;
}

/** Options of {@link CgroupReader}. */
export interface CgroupReaderOptions {
  /** The cgroup v2 root; default: the cgroup2 mount of `/proc/self/mountinfo`. */
  readonly root?: string | undefined;
  /** libvirt's QEMU pid files (`<name>.pid`); default `/run/libvirt/qemu`. */
  readonly pidDir?: string;
  /** The proc filesystem; default `/proc`. */
  readonly proc?: string;
}

/** A domain as the reader keys it: its directory is resolved once per id and name. */
type Dom = { readonly name: string; readonly id: number };
const keyOf = (dom: Dom): string => `${dom.id}\u0000${dom.name}`;

/**
 * Reads guests' cgroup files, resolving each domain's directory once per domain id and keeping its files
 * open (cgroup-files.ts) until the domain goes ({@link CgroupReader.retain}), its directory is resolved
 * anew or cannot be read, or the reader is closed ({@link CgroupReader.close}).
 */
export class CgroupReader {
  readonly root: string | undefined;
  /** Why nothing can be read (no cgroup v2, unreadable root), or undefined. */
  readonly unavailable: string | undefined;
  readonly #pidDir: string;
  readonly #proc: string;
  readonly #dirs = new Map<string, string | null>();
  /** The open files of each domain's directory, by the same key as #dirs. */
  readonly #files = new Map<string, CgroupFiles>();
  readonly #buffer = new ReadBuffer();

  constructor(options: CgroupReaderOptions = {}) {
    this.#pidDir = options.pidDir ?? '/run/libvirt/qemu';
    this.#proc = options.proc ?? '/proc';
    let root = options.root;
    if (root === undefined) {
      try {
        root = cgroup2MountFromMountinfo(readFileSync(path.join(this.#proc, 'self/mountinfo'), 'utf8'));
      } catch {
        root = undefined;
      }
    }
    this.root = root;
    if (root === undefined) this.unavailable = 'no cgroup v2 hierarchy is mounted';
    else if (!existsSync(path.join(root, 'cgroup.procs')))
      this.unavailable = `${root} is not a readable cgroup v2 hierarchy`;
    else this.unavailable = undefined;
  }

  /** The domain's directory relative to the root, or undefined when it has none (cached per id). */
  resolve(dom: { readonly name: string; readonly id: number }): string | undefined {
    if (this.root === undefined || dom.id <= 0) return undefined;
    const key = `${dom.id}\u0000${dom.name}`;
    const cached = this.#dirs.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.#fromPid(dom) ?? this.#byName(dom);
    // Only a found directory is cached: the lab (or libvirt) may place the guest a moment after start.
    if (found !== undefined) this.#dirs.set(key, found);
    return found;
  }

  /** Forgets domains whose ids are gone (call with the running domains). */
  retain(doms: readonly Dom[]): void {
    const keep = new Set(doms.map(keyOf));
    for (const k of this.#dirs.keys()) if (!keep.has(k)) this.#dirs.delete(k);
    for (const k of this.#files.keys()) if (!keep.has(k)) this.#forgetFiles(k);
  }

  /** Closes every file kept open; a later read opens them again. */
  close(): void {
    for (const k of [...this.#files.keys()]) this.#forgetFiles(k);
  }

  #forgetFiles(key: string): void {
    this.#files.get(key)?.close();
    this.#files.delete(key);
  }

  #fromPid(dom: { readonly name: string; readonly id: number }): string | undefined {
    try {
      const pid = readFileSync(path.join(this.#pidDir, `${dom.name}.pid`), 'utf8').trim();
      if (!/^\d+$/.test(pid)) return undefined;
      const text = readFileSync(path.join(this.#proc, pid, 'cgroup'), 'utf8');
      const line = text.split('\n').find((l) => l.startsWith('0::'));
      if (line === undefined) return undefined;
      const dir = machineDirFromProcPath(line.slice(3), dom.id);
      if (dir !== undefined && existsSync(path.join(this.root ?? '', dir, 'cgroup.procs'))) return dir;
    } catch {
      // no pid file, or another pid namespace: by name instead
    }
    return undefined;
  }

  #byName(dom: { readonly name: string; readonly id: number }): string | undefined {
    return machineCgroupCandidates(dom.id, dom.name).find((c) =>
      existsSync(path.join(this.root ?? '', c, 'cgroup.procs')),
    );
  }

  /** Reads a guest's pressure and throttling; undefined when it has no readable directory. */
  read(dom: Dom): GuestPressure | undefined {
    const key = keyOf(dom);
    const dir = this.resolve(dom);
    if (dir === undefined || this.root === undefined) {
      this.#forgetFiles(key);
      return undefined;
    }
    let files = this.#files.get(key);
    // The absolute directory is joined only when the guest's directory is new or moved (not per read).
    if (files?.relative !== dir) {
      files?.close();
      files = new CgroupFiles(path.join(this.root, dir), this.#buffer, dir);
      this.#files.set(key, files);
    }
    const cpu = this.#psi(files, 'cpu.pressure');
    const memory = this.#psi(files, 'memory.pressure');
    const io = this.#psi(files, 'io.pressure');
    if (cpu.someUs === undefined && memory.someUs === undefined && io.someUs === undefined) {
      // The directory went away (guest stopped; kept descriptors then read ENODEV) or PSI is off: close
      // its files and forget it, resolve again next time.
      this.#forgetFiles(key);
      this.#dirs.delete(key);
      return undefined;
    }
    return { cgroup: dir, cpu, memory, io, ...this.#throttle(files) };
  }

  #psi(files: CgroupFiles, name: string): PsiTotals {
    const len = files.read(name);
    return len === undefined ? {} : parsePsiBytes(this.#buffer.bytes, len);
  }

  /** Throttling from cpu.stat, only when cpu.max sets a quota (read each time: one can be set at run time). */
  #throttle(files: CgroupFiles): { throttledUs?: number; throttledPeriods?: number } {
    const buf = this.#buffer;
    if (!files.isOpen('cpu.max')) {
      // NOTE: cpu.max exists only where the cpu controller is enabled, i.e. listed in cgroup.controllers
      // (not on a hybrid host's v2 tree, as in the lab). Re-reading that kept file each time is cheaper
      // than a failing open of cpu.max, and still sees the controller enabled at run time. Where it cannot
      // be read (a copied tree), cpu.max is tried itself.
      const len = files.read('cgroup.controllers');
      if (len !== undefined && !hasToken(buf.bytes, len, 'cpu')) return {};
    }
    const maxLen = files.read('cpu.max');
    if (maxLen === undefined) return {};
    files.drop('cgroup.controllers');
    if (firstTokenIs(buf.bytes, maxLen, 'max')) {
      files.drop('cpu.stat');
      return {};
    }
    const len = files.read('cpu.stat');
    if (len === undefined) return {};
    const us = flatKeyedValue(buf.bytes, len, 'throttled_usec');
    const periods = flatKeyedValue(buf.bytes, len, 'nr_throttled');
    return {
      ...(us !== undefined ? { throttledUs: us } : {}),
      ...(periods !== undefined ? { throttledPeriods: periods } : {}),
    };
  }
}
