// SPDX-License-Identifier: Apache-2.0
/** Loads the frames recorded from the lab libvirtd (test/fixtures/libvirt/recorded-frames.json). */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { decodeFrame, type Frame } from '../../../src/libvirt/framing.ts';

interface RecordedFile {
  readonly recordedAt: string;
  readonly libvirtVersion: number;
  readonly frames: readonly { readonly name: string; readonly proc: number; readonly frame: string }[];
  readonly virsh: { readonly domstats: string; readonly nodeinfo: string };
}

const FILE = path.join(import.meta.dirname, '..', '..', 'fixtures', 'libvirt', 'recorded-frames.json');

/** The parsed fixture file. */
export const recorded = JSON.parse(readFileSync(FILE, 'utf8')) as RecordedFile;

/** The raw bytes (length word included) of a recorded frame. */
export function recordedRaw(name: string): Buffer {
  const f = recorded.frames.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no recorded frame ${name}`);
  return Buffer.from(f.frame, 'base64');
}

/** A recorded frame, decoded. */
export function recordedFrame(name: string): Frame {
  return decodeFrame(recordedRaw(name));
}

/** Parses `virsh domstats` text into domain name → key → value text. */
export function parseVirshDomstats(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    const dom = /^Domain: '(.*)'$/.exec(line);
    if (dom !== null) {
      current = new Map();
      out.set(dom[1] ?? '', current);
      continue;
    }
    const kv = /^\s+([^=]+)=(.*)$/.exec(line);
    if (kv !== null && current !== undefined) current.set(kv[1] ?? '', kv[2] ?? '');
  }
  return out;
}
