// SPDX-License-Identifier: Apache-2.0
/**
 * Guests a test defines for itself (never the lab's): a no-OS guest to drive lifecycle events on, and a
 * tiny real guest whose disk lives on a nearly full tmpfs, so that its first writes fail with ENOSPC and
 * QEMU pauses it on an I/O error (`error_policy='stop'`). Each is removed by name afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { virshRw } from './lab.ts';

/** A guest defined by a test, with its files. */
export interface OwnGuest {
  readonly name: string;
  readonly uuid: string;
  /** Destroys and undefines the guest and removes its files (idempotent). */
  remove(): void;
}

const quiet = (fn: () => unknown): void => {
  try {
    fn();
  } catch {
    // already gone
  }
};

function define(name: string, xml: string, dir: string): void {
  const file = path.join(dir, `${name}.xml`);
  writeFileSync(file, xml);
  virshRw('define', file);
}

/**
 * A no-OS guest (SeaBIOS, no disk content) named `name`: cheap to start, destroy, suspend and resume.
 * `uuidTail` is 12 hex digits making the UUID unique to the test.
 */
export function defineNoOsGuest(name: string, uuidTail: string): OwnGuest {
  const dir = mkdtempSync(path.join(tmpdir(), `${name}-`));
  const disk = path.join(dir, 'vda.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
  const uuid = `22222222-3333-4444-5555-${uuidTail}`;
  const xml = `<domain type='qemu'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><tcg><tb-cache unit='MiB'>16</tb-cache></tcg></features>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
    <memballoon model='none'/>
  </devices>
</domain>
`;
  const remove = (): void => {
    quiet(() => virshRw('destroy', name));
    quiet(() => virshRw('undefine', name));
    rmSync(dir, { recursive: true, force: true });
  };
  define(name, xml, dir);
  return { name, uuid, remove };
}

/**
 * A tiny real guest (the lab's kernel and initramfs from `$LAB_STATE_DIR/tiny`) whose only disk is a
 * qcow2 file on a 448 KiB tmpfs: the guest's first writes (partition table, swap header, its I/O loop)
 * need new clusters, the tmpfs is full, QEMU gets ENOSPC and, with `error_policy='stop'`, pauses the
 * guest (lifecycle suspended/ioerror, and an I/O error event with reason `enospc`).
 */
export function defineEnospcGuest(name: string, uuidTail: string, tap: string): OwnGuest {
  const state = process.env['LAB_STATE_DIR'] ?? '/var/lib/libvirt-exporter-lab';
  const dir = mkdtempSync(path.join(tmpdir(), `${name}-`));
  const mnt = path.join(dir, 'small');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=448k,mode=0755', 'tmpfs', mnt]);
  const disk = path.join(mnt, 'vda.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
  const uuid = `22222222-3333-4444-5555-${uuidTail}`;
  const xml = `<domain type='qemu'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${state}/tiny/vmlinuz</kernel>
    <initrd>${state}/tiny/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet acpi=off panic=-1 tiny_swap=4 tiny_sleep=1</cmdline>
  </os>
  <features><tcg><tb-cache unit='MiB'>32</tb-cache></tcg></features>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2' error_policy='stop'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
    <interface type='ethernet'><target dev='${tap}'/><model type='virtio'/></interface>
    <memballoon model='none'/>
  </devices>
</domain>
`;
  const remove = (): void => {
    quiet(() => virshRw('destroy', name));
    quiet(() => virshRw('undefine', name));
    quiet(() => execFileSync('umount', [mnt]));
    rmSync(dir, { recursive: true, force: true });
  };
  define(name, xml, dir);
  return { name, uuid, remove };
}
