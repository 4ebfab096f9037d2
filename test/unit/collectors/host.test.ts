// SPDX-License-Identifier: Apache-2.0
// The host collector alone on the lab recording (test/fixtures/lab/inspection.json: nodeinfo of the lab
// machine, libvirt 9.0.0, QEMU 7.2.22).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import type { Inspector } from '../../../src/inspector/types.ts';
import { fixtureClient } from '../../helpers/fixture-client.ts';
import { assertServes, scrapeCollector, valueOf } from '../../helpers/collector.ts';

test('host: identity and capacity of the compute host, in base units', async () => {
  const families = await assertServes('host', {
    libvirt_host_info: 'gauge cpu_model,hostname,hypervisor_type,hypervisor_version,libvirt_version',
    libvirt_host_cpus: 'gauge',
    libvirt_host_cpu_sockets: 'gauge',
    libvirt_host_cpu_cores: 'gauge',
    libvirt_host_cpu_threads: 'gauge',
    libvirt_host_numa_nodes: 'gauge',
    libvirt_host_cpu_frequency_hertz: 'gauge',
    libvirt_host_memory_bytes: 'gauge',
  });
  const info = families.get('libvirt_host_info')?.samples[0]?.labels;
  assert.deepEqual(info, {
    hostname: 'compute-lab-1',
    cpu_model: 'x86_64',
    hypervisor_type: 'QEMU',
    hypervisor_version: '7.2.22',
    libvirt_version: '9.0.0',
  });
  // nodeinfo: 2 CPUs at 2596 MHz, memory 9398476 KiB.
  assert.equal(valueOf(families, 'libvirt_host_cpus', {}), 2);
  assert.equal(valueOf(families, 'libvirt_host_cpu_frequency_hertz', {}), 2596e6);
  assert.equal(valueOf(families, 'libvirt_host_memory_bytes', {}), 9398476 * 1024);
});

test('host: host info libvirt does not give is a failed collector with no series, never zeros', async () => {
  const real = new LibvirtInspector({ client: fixtureClient() });
  const inspector: Inspector = {
    inspectAll: (o) => real.inspectAll(o),
    listInstances: (o) => real.listInstances(o),
    hostInfo: () => Promise.reject(new Error('nodeGetInfo failed')),
    connected: true,
    close: () => real.close(),
  };
  const { families, success } = await scrapeCollector('host', { inspector });
  await real.close();
  assert.equal(success, 0);
  assert.deepEqual([...families.keys()], []);
});
