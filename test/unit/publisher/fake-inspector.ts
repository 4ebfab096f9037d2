// SPDX-License-Identifier: Apache-2.0
/**
 * A scriptable Inspector for the publisher's unit tests, answering from
 * test/fixtures/ceilometer/lab-instance.json (the guest of the captured Ceilometer messages).
 */
import { readFileSync } from 'node:fs';

import type {
  DomainStats,
  HostInfo,
  InspectOptions,
  Inspection,
  Inspector,
  Instance,
} from '../../../src/inspector/types.ts';

interface FixtureFile {
  hostname: string;
  instances: Instance[];
  stats: Omit<DomainStats, 'raw'>[];
}

/** Loads the fixture (fresh objects on every call, so tests may change them). */
export function loadLabInstance(): FixtureFile {
  const url = new URL('../../fixtures/ceilometer/lab-instance.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as FixtureFile;
}

/** A fake inspector; `calls` counts inspectAll(); `mutate` runs before each inspection. */
export interface FakeInspector extends Inspector {
  calls: number;
  /** The options of the last inspectAll(). */
  lastOptions: InspectOptions | undefined;
  fixture: FixtureFile;
  fail: Error | undefined;
  /** Makes inspectAll() hang (a stuck libvirt) until its signal aborts, then reject with the reason. */
  hang: boolean;
  mutate: ((f: FixtureFile, call: number) => void) | undefined;
}

/** Builds an Inspection from the fixture as it is now. */
export function inspectionOf(f: FixtureFile): Inspection {
  return {
    instances: f.instances,
    stats: new Map(f.stats.map((s) => [s.uuid, { ...s, raw: new Map() }])),
    skipped: [],
    timestampSeconds: Date.now() / 1000,
    durationSeconds: 0.001,
    roundTrips: 2,
  };
}

/** Creates the fake. */
export function createFakeInspector(fixture: FixtureFile = loadLabInstance()): FakeInspector {
  const fake: FakeInspector = {
    calls: 0,
    lastOptions: undefined,
    fixture,
    fail: undefined,
    hang: false,
    mutate: undefined,
    connected: true,
    listInstances() {
      return Promise.resolve(fake.fixture.instances);
    },
    inspectAll(options?: InspectOptions) {
      fake.calls++;
      fake.lastOptions = options;
      if (fake.fail) return Promise.reject(fake.fail);
      if (fake.hang) {
        const signal = options?.signal;
        return new Promise((_resolve, reject) => {
          signal?.addEventListener(
            'abort',
            () => {
              reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
            },
            { once: true },
          );
        });
      }
      fake.mutate?.(fake.fixture, fake.calls);
      return Promise.resolve(inspectionOf(fake.fixture));
    },
    hostInfo(): Promise<HostInfo> {
      return Promise.resolve({
        hostname: fake.fixture.hostname,
        libvirtVersion: 9000000,
        hypervisorVersion: 7002000,
        hypervisorType: 'QEMU',
        cpuModel: 'x86_64',
        memoryKiB: 24 * 1024 * 1024,
        cpus: 2,
        mhz: 2000,
        nodes: 1,
        sockets: 1,
        cores: 2,
        threads: 1,
      });
    },
    async close() {
      await Promise.resolve();
    },
  };
  return fake;
}
