// SPDX-License-Identifier: Apache-2.0
// The ceilometer collector on the lab recording: the whole output compared with an expected listing
// (names, labels in the exporter's order, values), the guest identity labels, values checked against
// the raw libvirt fields, releases, and the label rules of Ceilometer's prom_exporter._gen_labels.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { buildApp } from '../../../src/app.ts';
import { ceilometerLabels, ceilometerMetricName, labelLayout } from '../../../src/collectors/ceilometer.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { LibvirtInspector } from '../../../src/inspector/libvirt-inspector.ts';
import type { PyDict } from '../../../src/ceilometer/python-format.ts';
import { parseRelease } from '../../../src/ceilometer/release.ts';
import type { Sample } from '../../../src/ceilometer/types.ts';
import { parseExposition, type Family } from '../../helpers/exposition.ts';
import { fixtureClient, loadRecording } from '../../helpers/fixture-client.ts';

const UUID = '11111111-2222-3333-4444-5555555555';
/** Labels that only depend on the guest; checked per guest, left out of the listing below. */
const IDENTITY = ['publisher', 'project', 'user', 'vm_instance', 'server_group', 'flavor_id', 'flavor_name'];

/**
 * Every sample for release 25.0.0 with flavor_ids {m1.tiny: '1'}, one per line: the family, then the
 * labels other than {@link IDENTITY} in the order served (`~` stands for the lab's UUID prefix), then
 * the value. Reviewed by hand against the recording when written.
 */
const EXPECTED_25 = `
ceilometer_cpu cpu=~04 type=cpu counter=cpu unit=ns resource=~04 resource_name=ci-runner-1:instance-00000004 0
ceilometer_cpu cpu=~02 type=cpu counter=cpu unit=ns resource=~02 resource_name=db-1:instance-00000002 26410000000
ceilometer_cpu cpu=~01 type=cpu counter=cpu unit=ns resource=~01 resource_name=web-1:instance-00000001 16710000000
ceilometer_cpu cpu=~03 type=cpu counter=cpu unit=ns resource=~03 resource_name=batch-1:instance-00000003 1430000000
ceilometer_vcpus vcpus=~04 type=vcpus counter=vcpus unit=vcpu resource=~04 resource_name=ci-runner-1:instance-00000004 1
ceilometer_vcpus vcpus=~02 type=vcpus counter=vcpus unit=vcpu resource=~02 resource_name=db-1:instance-00000002 2
ceilometer_vcpus vcpus=~01 type=vcpus counter=vcpus unit=vcpu resource=~01 resource_name=web-1:instance-00000001 1
ceilometer_vcpus vcpus=~03 type=vcpus counter=vcpus unit=vcpu resource=~03 resource_name=batch-1:instance-00000003 1
ceilometer_memory memory=~04 type=memory counter=memory unit=MB resource=~04 resource_name=ci-runner-1:instance-00000004 128
ceilometer_memory memory=~02 type=memory counter=memory unit=MB resource=~02 resource_name=db-1:instance-00000002 128
ceilometer_memory memory=~01 type=memory counter=memory unit=MB resource=~01 resource_name=web-1:instance-00000001 128
ceilometer_memory memory=~03 type=memory counter=memory unit=MB resource=~03 resource_name=batch-1:instance-00000003 128
ceilometer_memory_swap_in memory=in type=swap counter=memory.swap.in unit=MB resource=~02 resource_name=db-1:instance-00000002 1.28515625
ceilometer_memory_swap_in memory=in type=swap counter=memory.swap.in unit=MB resource=~01 resource_name=web-1:instance-00000001 2.01953125
ceilometer_memory_swap_out memory=out type=swap counter=memory.swap.out unit=MB resource=~02 resource_name=db-1:instance-00000002 113.0078125
ceilometer_memory_swap_out memory=out type=swap counter=memory.swap.out unit=MB resource=~01 resource_name=web-1:instance-00000001 157.5390625
ceilometer_memory_available memory=~02 type=available counter=memory.available unit=MB resource=~02 resource_name=db-1:instance-00000002 79.8671875
ceilometer_memory_available memory=~01 type=available counter=memory.available unit=MB resource=~01 resource_name=web-1:instance-00000001 80.109375
ceilometer_memory_resident memory=~04 type=resident counter=memory.resident unit=MB resource=~04 resource_name=ci-runner-1:instance-00000004 37.84375
ceilometer_memory_resident memory=~02 type=resident counter=memory.resident unit=MB resource=~02 resource_name=db-1:instance-00000002 214.8984375
ceilometer_memory_resident memory=~01 type=resident counter=memory.resident unit=MB resource=~01 resource_name=web-1:instance-00000001 209.69921875
ceilometer_memory_resident memory=~03 type=resident counter=memory.resident unit=MB resource=~03 resource_name=batch-1:instance-00000003 42.3828125
ceilometer_memory_usage memory=~02 type=usage counter=memory.usage unit=MB resource=~02 resource_name=db-1:instance-00000002 39.1015625
ceilometer_memory_usage memory=~01 type=usage counter=memory.usage unit=MB resource=~01 resource_name=web-1:instance-00000001 48
ceilometer_power_state power=~04 type=state counter=power.state resource=~04 resource_name=ci-runner-1:instance-00000004 3
ceilometer_power_state power=~02 type=state counter=power.state resource=~02 resource_name=db-1:instance-00000002 1
ceilometer_power_state power=~01 type=state counter=power.state resource=~01 resource_name=web-1:instance-00000001 1
ceilometer_power_state power=~03 type=state counter=power.state resource=~03 resource_name=batch-1:instance-00000003 1
ceilometer_disk_device_read_requests disk=read type=device counter=disk.device.read.requests unit=request resource=~04-vda resource_name=ci-runner-1:instance-00000004 0
ceilometer_disk_device_read_requests disk=read type=device counter=disk.device.read.requests unit=request resource=~02-vda resource_name=db-1:instance-00000002 1207
ceilometer_disk_device_read_requests disk=read type=device counter=disk.device.read.requests unit=request resource=~02-vdb resource_name=db-1:instance-00000002 115
ceilometer_disk_device_read_requests disk=read type=device counter=disk.device.read.requests unit=request resource=~01-vda resource_name=web-1:instance-00000001 1758
ceilometer_disk_device_read_requests disk=read type=device counter=disk.device.read.requests unit=request resource=~03-vda resource_name=batch-1:instance-00000003 1
ceilometer_disk_device_read_bytes disk=read type=device counter=disk.device.read.bytes unit=B resource=~04-vda resource_name=ci-runner-1:instance-00000004 0
ceilometer_disk_device_read_bytes disk=read type=device counter=disk.device.read.bytes unit=B resource=~02-vda resource_name=db-1:instance-00000002 11641344
ceilometer_disk_device_read_bytes disk=read type=device counter=disk.device.read.bytes unit=B resource=~02-vdb resource_name=db-1:instance-00000002 471040
ceilometer_disk_device_read_bytes disk=read type=device counter=disk.device.read.bytes unit=B resource=~01-vda resource_name=web-1:instance-00000001 15049216
ceilometer_disk_device_read_bytes disk=read type=device counter=disk.device.read.bytes unit=B resource=~03-vda resource_name=batch-1:instance-00000003 512
ceilometer_disk_device_read_latency disk=read type=device counter=disk.device.read.latency unit=ns resource=~04-vda resource_name=ci-runner-1:instance-00000004 0
ceilometer_disk_device_read_latency disk=read type=device counter=disk.device.read.latency unit=ns resource=~02-vda resource_name=db-1:instance-00000002 54677329
ceilometer_disk_device_read_latency disk=read type=device counter=disk.device.read.latency unit=ns resource=~02-vdb resource_name=db-1:instance-00000002 2476061
ceilometer_disk_device_read_latency disk=read type=device counter=disk.device.read.latency unit=ns resource=~01-vda resource_name=web-1:instance-00000001 74478467
ceilometer_disk_device_read_latency disk=read type=device counter=disk.device.read.latency unit=ns resource=~03-vda resource_name=batch-1:instance-00000003 70876
ceilometer_disk_device_write_requests disk=write type=device counter=disk.device.write.requests unit=request resource=~04-vda resource_name=ci-runner-1:instance-00000004 0
ceilometer_disk_device_write_requests disk=write type=device counter=disk.device.write.requests unit=request resource=~02-vda resource_name=db-1:instance-00000002 1450
ceilometer_disk_device_write_requests disk=write type=device counter=disk.device.write.requests unit=request resource=~02-vdb resource_name=db-1:instance-00000002 44
ceilometer_disk_device_write_requests disk=write type=device counter=disk.device.write.requests unit=request resource=~01-vda resource_name=web-1:instance-00000001 1667
ceilometer_disk_device_write_requests disk=write type=device counter=disk.device.write.requests unit=request resource=~03-vda resource_name=batch-1:instance-00000003 0
ceilometer_disk_device_write_bytes disk=write type=device counter=disk.device.write.bytes unit=B resource=~04-vda resource_name=ci-runner-1:instance-00000004 0
ceilometer_disk_device_write_bytes disk=write type=device counter=disk.device.write.bytes unit=B resource=~02-vda resource_name=db-1:instance-00000002 120147968
ceilometer_disk_device_write_bytes disk=write type=device counter=disk.device.write.bytes unit=B resource=~02-vdb resource_name=db-1:instance-00000002 180224
ceilometer_disk_device_write_bytes disk=write type=device counter=disk.device.write.bytes unit=B resource=~01-vda resource_name=web-1:instance-00000001 167534592
ceilometer_disk_device_write_bytes disk=write type=device counter=disk.device.write.bytes unit=B resource=~03-vda resource_name=batch-1:instance-00000003 0
ceilometer_disk_device_write_latency disk=write type=device counter=disk.device.write.latency unit=ns resource=~04-vda resource_name=ci-runner-1:instance-00000004 0
ceilometer_disk_device_write_latency disk=write type=device counter=disk.device.write.latency unit=ns resource=~02-vda resource_name=db-1:instance-00000002 214670000
ceilometer_disk_device_write_latency disk=write type=device counter=disk.device.write.latency unit=ns resource=~02-vdb resource_name=db-1:instance-00000002 15281876
ceilometer_disk_device_write_latency disk=write type=device counter=disk.device.write.latency unit=ns resource=~01-vda resource_name=web-1:instance-00000001 315589601
ceilometer_disk_device_write_latency disk=write type=device counter=disk.device.write.latency unit=ns resource=~03-vda resource_name=batch-1:instance-00000003 0
ceilometer_disk_device_capacity disk=capacity type=device counter=disk.device.capacity unit=B resource=~04-vda resource_name=ci-runner-1:instance-00000004 67108864
ceilometer_disk_device_capacity disk=capacity type=device counter=disk.device.capacity unit=B resource=~02-vda resource_name=db-1:instance-00000002 67108864
ceilometer_disk_device_capacity disk=capacity type=device counter=disk.device.capacity unit=B resource=~02-vdb resource_name=db-1:instance-00000002 16777216
ceilometer_disk_device_capacity disk=capacity type=device counter=disk.device.capacity unit=B resource=~01-vda resource_name=web-1:instance-00000001 67108864
ceilometer_disk_device_capacity disk=capacity type=device counter=disk.device.capacity unit=B resource=~03-vda resource_name=batch-1:instance-00000003 67108864
ceilometer_disk_device_allocation disk=allocation type=device counter=disk.device.allocation unit=B resource=~04-vda resource_name=ci-runner-1:instance-00000004 0
ceilometer_disk_device_allocation disk=allocation type=device counter=disk.device.allocation unit=B resource=~02-vda resource_name=db-1:instance-00000002 24182784
ceilometer_disk_device_allocation disk=allocation type=device counter=disk.device.allocation unit=B resource=~02-vdb resource_name=db-1:instance-00000002 2949120
ceilometer_disk_device_allocation disk=allocation type=device counter=disk.device.allocation unit=B resource=~01-vda resource_name=web-1:instance-00000001 26411008
ceilometer_disk_device_allocation disk=allocation type=device counter=disk.device.allocation unit=B resource=~03-vda resource_name=batch-1:instance-00000003 0
ceilometer_disk_device_usage disk=usage type=device counter=disk.device.usage unit=B resource=~04-vda resource_name=ci-runner-1:instance-00000004 200704
ceilometer_disk_device_usage disk=usage type=device counter=disk.device.usage unit=B resource=~02-vda resource_name=db-1:instance-00000002 24125440
ceilometer_disk_device_usage disk=usage type=device counter=disk.device.usage unit=B resource=~02-vdb resource_name=db-1:instance-00000002 2891776
ceilometer_disk_device_usage disk=usage type=device counter=disk.device.usage unit=B resource=~01-vda resource_name=web-1:instance-00000001 26361856
ceilometer_disk_device_usage disk=usage type=device counter=disk.device.usage unit=B resource=~03-vda resource_name=batch-1:instance-00000003 200704
ceilometer_network_incoming_bytes network=bytes type=incoming counter=network.incoming.bytes unit=B resource=instance-00000004-~04-tap-lab4 resource_name=ci-runner-1:tap-lab4 90
ceilometer_network_incoming_bytes network=bytes type=incoming counter=network.incoming.bytes unit=B resource=instance-00000002-~02-tap-tiny2 resource_name=db-1:tap-tiny2 23322
ceilometer_network_incoming_bytes network=bytes type=incoming counter=network.incoming.bytes unit=B resource=instance-00000002-~02-tap-tiny2b resource_name=db-1:tap-tiny2b 22946
ceilometer_network_incoming_bytes network=bytes type=incoming counter=network.incoming.bytes unit=B resource=instance-00000001-~01-tap-tiny1 resource_name=web-1:tap-tiny1 31244
ceilometer_network_incoming_bytes network=bytes type=incoming counter=network.incoming.bytes unit=B resource=instance-00000003-~03-tap-lab3 resource_name=batch-1:tap-lab3 336
ceilometer_network_incoming_packets network=packets type=incoming counter=network.incoming.packets unit=packet resource=instance-00000004-~04-tap-lab4 resource_name=ci-runner-1:tap-lab4 1
ceilometer_network_incoming_packets network=packets type=incoming counter=network.incoming.packets unit=packet resource=instance-00000002-~02-tap-tiny2 resource_name=db-1:tap-tiny2 207
ceilometer_network_incoming_packets network=packets type=incoming counter=network.incoming.packets unit=packet resource=instance-00000002-~02-tap-tiny2b resource_name=db-1:tap-tiny2b 203
ceilometer_network_incoming_packets network=packets type=incoming counter=network.incoming.packets unit=packet resource=instance-00000001-~01-tap-tiny1 resource_name=web-1:tap-tiny1 274
ceilometer_network_incoming_packets network=packets type=incoming counter=network.incoming.packets unit=packet resource=instance-00000003-~03-tap-lab3 resource_name=batch-1:tap-lab3 4
ceilometer_network_incoming_packets_error network=packets type=incoming counter=network.incoming.packets.error unit=packet resource=instance-00000004-~04-tap-lab4 resource_name=ci-runner-1:tap-lab4 0
ceilometer_network_incoming_packets_error network=packets type=incoming counter=network.incoming.packets.error unit=packet resource=instance-00000002-~02-tap-tiny2 resource_name=db-1:tap-tiny2 0
ceilometer_network_incoming_packets_error network=packets type=incoming counter=network.incoming.packets.error unit=packet resource=instance-00000002-~02-tap-tiny2b resource_name=db-1:tap-tiny2b 0
ceilometer_network_incoming_packets_error network=packets type=incoming counter=network.incoming.packets.error unit=packet resource=instance-00000001-~01-tap-tiny1 resource_name=web-1:tap-tiny1 0
ceilometer_network_incoming_packets_error network=packets type=incoming counter=network.incoming.packets.error unit=packet resource=instance-00000003-~03-tap-lab3 resource_name=batch-1:tap-lab3 0
ceilometer_network_incoming_packets_drop network=packets type=incoming counter=network.incoming.packets.drop unit=packet resource=instance-00000004-~04-tap-lab4 resource_name=ci-runner-1:tap-lab4 1
ceilometer_network_incoming_packets_drop network=packets type=incoming counter=network.incoming.packets.drop unit=packet resource=instance-00000002-~02-tap-tiny2 resource_name=db-1:tap-tiny2 0
ceilometer_network_incoming_packets_drop network=packets type=incoming counter=network.incoming.packets.drop unit=packet resource=instance-00000002-~02-tap-tiny2b resource_name=db-1:tap-tiny2b 0
ceilometer_network_incoming_packets_drop network=packets type=incoming counter=network.incoming.packets.drop unit=packet resource=instance-00000001-~01-tap-tiny1 resource_name=web-1:tap-tiny1 0
ceilometer_network_incoming_packets_drop network=packets type=incoming counter=network.incoming.packets.drop unit=packet resource=instance-00000003-~03-tap-lab3 resource_name=batch-1:tap-lab3 1
ceilometer_network_outgoing_bytes network=bytes type=outgoing counter=network.outgoing.bytes unit=B resource=instance-00000004-~04-tap-lab4 resource_name=ci-runner-1:tap-lab4 0
ceilometer_network_outgoing_bytes network=bytes type=outgoing counter=network.outgoing.bytes unit=B resource=instance-00000002-~02-tap-tiny2 resource_name=db-1:tap-tiny2 23196
ceilometer_network_outgoing_bytes network=bytes type=outgoing counter=network.outgoing.bytes unit=B resource=instance-00000002-~02-tap-tiny2b resource_name=db-1:tap-tiny2b 23024
ceilometer_network_outgoing_bytes network=bytes type=outgoing counter=network.outgoing.bytes unit=B resource=instance-00000001-~01-tap-tiny1 resource_name=web-1:tap-tiny1 31158
ceilometer_network_outgoing_bytes network=bytes type=outgoing counter=network.outgoing.bytes unit=B resource=instance-00000003-~03-tap-lab3 resource_name=batch-1:tap-lab3 0
ceilometer_network_outgoing_packets network=packets type=outgoing counter=network.outgoing.packets unit=packet resource=instance-00000004-~04-tap-lab4 resource_name=ci-runner-1:tap-lab4 0
ceilometer_network_outgoing_packets network=packets type=outgoing counter=network.outgoing.packets unit=packet resource=instance-00000002-~02-tap-tiny2 resource_name=db-1:tap-tiny2 206
ceilometer_network_outgoing_packets network=packets type=outgoing counter=network.outgoing.packets unit=packet resource=instance-00000002-~02-tap-tiny2b resource_name=db-1:tap-tiny2b 204
ceilometer_network_outgoing_packets network=packets type=outgoing counter=network.outgoing.packets unit=packet resource=instance-00000001-~01-tap-tiny1 resource_name=web-1:tap-tiny1 273
ceilometer_network_outgoing_packets network=packets type=outgoing counter=network.outgoing.packets unit=packet resource=instance-00000003-~03-tap-lab3 resource_name=batch-1:tap-lab3 0
ceilometer_network_outgoing_packets_error network=packets type=outgoing counter=network.outgoing.packets.error unit=packet resource=instance-00000004-~04-tap-lab4 resource_name=ci-runner-1:tap-lab4 0
ceilometer_network_outgoing_packets_error network=packets type=outgoing counter=network.outgoing.packets.error unit=packet resource=instance-00000002-~02-tap-tiny2 resource_name=db-1:tap-tiny2 0
ceilometer_network_outgoing_packets_error network=packets type=outgoing counter=network.outgoing.packets.error unit=packet resource=instance-00000002-~02-tap-tiny2b resource_name=db-1:tap-tiny2b 0
ceilometer_network_outgoing_packets_error network=packets type=outgoing counter=network.outgoing.packets.error unit=packet resource=instance-00000001-~01-tap-tiny1 resource_name=web-1:tap-tiny1 0
ceilometer_network_outgoing_packets_error network=packets type=outgoing counter=network.outgoing.packets.error unit=packet resource=instance-00000003-~03-tap-lab3 resource_name=batch-1:tap-lab3 0
ceilometer_network_outgoing_packets_drop network=packets type=outgoing counter=network.outgoing.packets.drop unit=packet resource=instance-00000004-~04-tap-lab4 resource_name=ci-runner-1:tap-lab4 0
ceilometer_network_outgoing_packets_drop network=packets type=outgoing counter=network.outgoing.packets.drop unit=packet resource=instance-00000002-~02-tap-tiny2 resource_name=db-1:tap-tiny2 0
ceilometer_network_outgoing_packets_drop network=packets type=outgoing counter=network.outgoing.packets.drop unit=packet resource=instance-00000002-~02-tap-tiny2b resource_name=db-1:tap-tiny2b 0
ceilometer_network_outgoing_packets_drop network=packets type=outgoing counter=network.outgoing.packets.drop unit=packet resource=instance-00000001-~01-tap-tiny1 resource_name=web-1:tap-tiny1 0
ceilometer_network_outgoing_packets_drop network=packets type=outgoing counter=network.outgoing.packets.drop unit=packet resource=instance-00000003-~03-tap-lab3 resource_name=batch-1:tap-lab3 0
ceilometer_disk_root_size disk=size type=root counter=disk.root.size unit=GB resource=~04 resource_name=ci-runner-1:instance-00000004 1
ceilometer_disk_root_size disk=size type=root counter=disk.root.size unit=GB resource=~02 resource_name=db-1:instance-00000002 1
ceilometer_disk_root_size disk=size type=root counter=disk.root.size unit=GB resource=~01 resource_name=web-1:instance-00000001 1
ceilometer_disk_root_size disk=size type=root counter=disk.root.size unit=GB resource=~05 resource_name=report-1:instance-00000005 1
ceilometer_disk_root_size disk=size type=root counter=disk.root.size unit=GB resource=~03 resource_name=batch-1:instance-00000003 1
ceilometer_disk_ephemeral_size disk=size type=ephemeral counter=disk.ephemeral.size unit=GB resource=~04 resource_name=ci-runner-1:instance-00000004 0
ceilometer_disk_ephemeral_size disk=size type=ephemeral counter=disk.ephemeral.size unit=GB resource=~02 resource_name=db-1:instance-00000002 0
ceilometer_disk_ephemeral_size disk=size type=ephemeral counter=disk.ephemeral.size unit=GB resource=~01 resource_name=web-1:instance-00000001 0
ceilometer_disk_ephemeral_size disk=size type=ephemeral counter=disk.ephemeral.size unit=GB resource=~05 resource_name=report-1:instance-00000005 0
ceilometer_disk_ephemeral_size disk=size type=ephemeral counter=disk.ephemeral.size unit=GB resource=~03 resource_name=batch-1:instance-00000003 0
`;

/** The hashed host id Nova shows as hostId (and Ceilometer as metadata `host`): sha224(project + host). */
const hostId = (project: string, host = 'compute-lab-1'): string =>
  createHash('sha224')
    .update(project + host)
    .digest('hex');

/** What the recording's Nova metadata says about each guest (read from test/fixtures/lab). */
const GUESTS: Readonly<
  Record<string, { project: string; user: string; flavorId: string; flavorName: string; display: string }>
> = {
  '01': {
    project: '6b1f0e8c3a5d4e2f9c7b1a0d2e4f6a8b',
    user: '2c4e6a8b0d1f43e5a7c9b1d3f5e7a9c1',
    flavorId: '1',
    flavorName: 'm1.tiny',
    display: 'web-1',
  },
  '02': {
    project: '9e8d7c6b5a4f43e2d1c0b9a8f7e6d5c4',
    user: '5a6b7c8d9e0f41a2b3c4d5e6f7a8b9c0',
    // Nova 2025.2 writes the flavor id into the metadata: it wins over publisher.flavor_ids.
    flavorId: 'b7e3c1d2-4f5a-4b6c-9d8e-0f1a2b3c4d5e',
    flavorName: 'm1.small.2c',
    display: 'db-1',
  },
  '03': {
    project: '6b1f0e8c3a5d4e2f9c7b1a0d2e4f6a8b',
    user: '2c4e6a8b0d1f43e5a7c9b1d3f5e7a9c1',
    flavorId: '1',
    flavorName: 'm1.tiny',
    display: 'batch-1',
  },
  // Not in flavor_ids: the flavor name stands in for the id, as the real agent does when Nova does not know it.
  '04': {
    project: '0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5',
    user: 'f0e1d2c3b4a5469788796a5b4c3d2e1f',
    flavorId: 'ci.small',
    flavorName: 'ci.small',
    display: 'ci-runner-1',
  },
  '05': {
    project: '9e8d7c6b5a4f43e2d1c0b9a8f7e6d5c4',
    user: '5a6b7c8d9e0f41a2b3c4d5e6f7a8b9c0',
    flavorId: '1',
    flavorName: 'm1.tiny',
    display: 'report-1',
  },
};

async function scrape(overrides: Record<string, unknown> = {}): Promise<Map<string, Family>> {
  const app = await buildApp({
    config: loadConfig(undefined, {
      'collectors.ceilometer.enabled': true,
      'publisher.flavor_ids': { 'm1.tiny': '1' },
      ...overrides,
    }),
    inspector: new LibvirtInspector({ client: fixtureClient() }),
    logger: pino({ level: 'silent' }),
  });
  try {
    const r = await app.inject({ url: '/metrics' });
    assert.equal(r.statusCode, 200);
    return parseExposition(r.body);
  } finally {
    await app.close();
  }
}

function ceilometerFamilies(families: Map<string, Family>): Family[] {
  return [...families.values()].filter((f) => f.name.startsWith('ceilometer_'));
}

function listing(families: Map<string, Family>): string[] {
  const out: string[] = [];
  for (const f of ceilometerFamilies(families)) {
    for (const s of f.samples) {
      const rest = Object.entries(s.labels)
        .filter(([k]) => !IDENTITY.includes(k))
        .map(([k, v]) => `${k}=${v.replaceAll(UUID, '~')}`);
      out.push(`${f.name} ${rest.join(' ')} ${s.value}`);
    }
  }
  return out;
}

/** The guest (`01`…`05`) a sample belongs to, from its resource id. */
function guestOf(resource: string): string {
  const m = new RegExp(`${UUID}(\\d\\d)`).exec(resource);
  assert.ok(m, resource);
  return m[1]!;
}

function value(f: Family | undefined, resource: string): number | undefined {
  return f?.samples.find((s) => s.labels['resource'] === resource)?.value;
}

describe('the ceilometer collector on the lab recording', () => {
  let r25: Map<string, Family>;
  before(async () => {
    r25 = await scrape({ 'publisher.ceilometer_release': '25.0.0' });
  });

  test('serves exactly the expected samples (release 25.0.0)', () => {
    assert.deepEqual(listing(r25), EXPECTED_25.trim().split('\n'));
    assert.equal(
      r25.get('libvirt_scrape_collector_success')?.samples.find((s) => s.labels['collector'] === 'ceilometer')
        ?.value,
      1,
    );
  });

  test('every sample has its guest identity labels, in the exporter order', () => {
    for (const f of ceilometerFamilies(r25)) {
      assert.equal(f.type, 'gauge', `${f.name} is a gauge, as every metric of the real exporter`);
      assert.ok(f.help.length > 20, `${f.name} has HELP`);
      for (const s of f.samples) {
        const g = GUESTS[guestOf(s.labels['resource']!)]!;
        const counter = s.labels['counter']!;
        assert.equal(f.name, ceilometerMetricName(counter));
        const first = counter.split('.')[0]!;
        const order = [first, 'publisher', 'type', 'counter', 'project', 'user'];
        // power.state has unit '' and therefore no unit label.
        if (counter !== 'power.state') order.push('unit');
        order.push('resource', 'vm_instance', 'resource_name', 'server_group', 'flavor_id', 'flavor_name');
        assert.deepEqual(Object.keys(s.labels), order, `${f.name} label order`);
        assert.equal(s.labels['publisher'], 'ceilometer');
        assert.equal(s.labels['project'], g.project);
        assert.equal(s.labels['user'], g.user);
        assert.equal(
          s.labels['vm_instance'],
          hostId(g.project),
          'vm_instance is the hashed hostId, not the node name',
        );
        assert.equal(s.labels['server_group'], 'none');
        assert.equal(s.labels['flavor_id'], g.flavorId);
        assert.equal(s.labels['flavor_name'], g.flavorName);
        assert.ok(s.labels['resource_name']!.startsWith(`${g.display}:`));
      }
    }
  });

  test('values are the raw libvirt fields converted as the compute agent does', () => {
    const rec = loadRecording();
    const field = (dom: string, name: string): string | number => {
      const p = rec.stats.find((s) => s.domain.name === dom)!.params.find((x) => x.field === name);
      assert.ok(p, `${dom} ${name}`);
      return p.value as string | number;
    };
    const raw = (dom: string, name: string): number => Number(field(dom, name));
    for (const n of ['1', '2']) {
      const dom = `instance-0000000${n}`;
      const id = `${UUID}0${n}`;
      let cpu = 0;
      for (let v = 0; v < raw(dom, 'vcpu.current'); v++)
        cpu += raw(dom, `vcpu.${v}.time`) + raw(dom, `vcpu.${v}.wait`);
      assert.equal(value(r25.get('ceilometer_cpu'), id), cpu, 'cpu: vCPU time + wait, not cpu.time');
      assert.equal(value(r25.get('ceilometer_memory_resident'), id), raw(dom, 'balloon.rss') / 1024);
      assert.equal(
        value(r25.get('ceilometer_memory_usage'), id),
        (raw(dom, 'balloon.available') - raw(dom, 'balloon.usable')) / 1024,
      );
      assert.equal(
        value(r25.get('ceilometer_disk_device_read_bytes'), `${id}-vda`),
        raw(dom, 'block.0.rd.bytes'),
      );
      // The vNIC resource id: <domain name>-<uuid>-<tap>; the value is what the guest received (libvirt rx).
      const tap = String(field(dom, 'net.0.name'));
      assert.equal(
        value(r25.get('ceilometer_network_incoming_bytes'), `${dom}-${id}-${tap}`),
        raw(dom, 'net.0.rx.bytes'),
      );
    }
  });

  test('a shut-off guest has only the metadata meters, a guest without Nova metadata nothing', () => {
    const shutoff = `${UUID}05`;
    const seen = new Set<string>();
    for (const f of ceilometerFamilies(r25))
      for (const s of f.samples) {
        if (s.labels['resource']!.includes(shutoff)) seen.add(f.name);
        assert.doesNotMatch(s.labels['resource']!, /555555555511/, 'lab-plain-1 has no Nova metadata');
      }
    // InstanceMetadataPollster inspects nothing, so disk.root.size and disk.ephemeral.size are polled
    // for every discovered instance, running or not (24.0.0 and later).
    assert.deepEqual([...seen].sort(), ['ceilometer_disk_ephemeral_size', 'ceilometer_disk_root_size']);
  });

  test('delta meters are not served', () => {
    for (const name of r25.keys()) assert.doesNotMatch(name, /delta/);
  });

  test('the output passes promtool check metrics', () => {
    const text = ceilometerFamilies(r25)
      .map(
        (f) =>
          `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n` +
          f.samples
            .map(
              (s) =>
                `${f.name}{${Object.entries(s.labels)
                  .map(([k, v]) => `${k}="${v}"`)
                  .join(',')}} ${s.value}\n`,
            )
            .join(''),
      )
      .join('');
    execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
  });
});

describe('releases', () => {
  test('19.0.0 (the default): Zed meters, the 24.0.0 label layout, nothing for the shut-off guest', async () => {
    const f = await scrape();
    const names = ceilometerFamilies(f).map((x) => x.name);
    for (const absent of [
      'ceilometer_vcpus',
      'ceilometer_memory',
      'ceilometer_power_state',
      'ceilometer_disk_root_size',
    ])
      assert.ok(!names.includes(absent), `${absent} is not a Zed meter`);
    for (const present of [
      'ceilometer_cpu',
      'ceilometer_memory_usage',
      'ceilometer_disk_device_read_bytes',
      'ceilometer_network_incoming_bytes',
    ])
      assert.ok(names.includes(present), present);
    for (const x of ceilometerFamilies(f))
      for (const s of x.samples) {
        assert.ok(!('flavor_id' in s.labels) && !('flavor_name' in s.labels), 'flavor labels came in 25.0.0');
        assert.doesNotMatch(s.labels['resource']!, /555555555505/);
        assert.equal(s.labels['server_group'], 'none');
      }
  });

  test('24.0.0 has no flavor labels; 26.0.0 writes MiB and GiB', async () => {
    const f24 = await scrape({ 'publisher.ceilometer_release': '24.0.0' });
    const cpu = f24.get('ceilometer_cpu')!.samples[0]!;
    assert.deepEqual(Object.keys(cpu.labels), [
      'cpu',
      'publisher',
      'type',
      'counter',
      'project',
      'user',
      'unit',
      'resource',
      'vm_instance',
      'resource_name',
      'server_group',
    ]);
    assert.ok(f24.has('ceilometer_power_state') && !f24.has('ceilometer_vcpus'));
    const f26 = await scrape({ 'publisher.ceilometer_release': '26.0.0' });
    assert.equal(f26.get('ceilometer_memory_usage')!.samples[0]!.labels['unit'], 'MiB');
    assert.equal(f26.get('ceilometer_disk_root_size')!.samples[0]!.labels['unit'], 'GiB');
    // publisher.unit_profile overrides the release's default.
    const mb = await scrape({ 'publisher.ceilometer_release': '26.0.0', 'publisher.unit_profile': 'MB' });
    assert.equal(mb.get('ceilometer_memory_usage')!.samples[0]!.labels['unit'], 'MB');
  });

  test('publisher.host is the input of vm_instance', async () => {
    const f = await scrape({ 'publisher.ceilometer_release': '25.0.0', 'publisher.host': 'nova-compute-7' });
    const s = value(f.get('ceilometer_cpu'), `${UUID}01`);
    assert.equal(s, 16710000000);
    const labels = f.get('ceilometer_cpu')!.samples.find((x) => x.labels['resource'] === `${UUID}01`)!.labels;
    assert.equal(labels['vm_instance'], hostId(GUESTS['01']!.project, 'nova-compute-7'));
  });

  test('off by default', async () => {
    const app = await buildApp({
      config: loadConfig(undefined, {}),
      inspector: new LibvirtInspector({ client: fixtureClient() }),
      logger: pino({ level: 'silent' }),
    });
    const body = (await app.inject({ url: '/metrics' })).body;
    await app.close();
    assert.doesNotMatch(body, /^ceilometer_/m);
    assert.doesNotMatch(body, /collector="ceilometer"/);
  });
});

describe('labels of a sample (prom_exporter._gen_labels)', () => {
  const L24 = labelLayout(parseRelease('24.0.0'));
  const L25 = labelLayout(parseRelease('25.0.0'));
  const sample = (over: Partial<Sample> = {}, md: PyDict | null = {}): Sample => ({
    name: 'disk.device.read.latency',
    type: 'cumulative',
    unit: 'ns',
    volume: 42,
    float: false,
    userId: 'u1',
    projectId: 'p1',
    resourceId: 'r1-vda',
    monotonicTime: 1000.5,
    metadata:
      md === null
        ? {}
        : {
            display_name: 'myserver',
            name: 'instance-00000002',
            host: 'hashed',
            instance_host: 'compute-1',
            flavor: { id: 'f-id', name: 'tiny', vcpus: 1 },
            ...md,
          },
    ...over,
  });
  const labels = (s: Sample, layout = L25): Record<string, string> => {
    const { names, labels: record } = ceilometerLabels(s, layout);
    assert.deepEqual(Object.keys(record), names, 'the record keeps the exporter order');
    return record;
  };

  test('names: ceilometer_ + the counter name with dots as underscores', () => {
    assert.equal(ceilometerMetricName('disk.device.read.bytes'), 'ceilometer_disk_device_read_bytes');
    assert.equal(ceilometerMetricName('cpu'), 'ceilometer_cpu');
    assert.equal(
      ceilometerMetricName('network.outgoing.packets.delta'),
      'ceilometer_network_outgoing_packets_delta',
    );
  });

  test('the first name segment is a label: third segment, or the resource id for short names', () => {
    assert.deepEqual(labels(sample()), {
      disk: 'read',
      publisher: 'ceilometer',
      type: 'device',
      counter: 'disk.device.read.latency',
      project: 'p1',
      user: 'u1',
      unit: 'ns',
      resource: 'r1-vda',
      vm_instance: 'hashed',
      resource_name: 'myserver:instance-00000002',
      server_group: 'none',
      flavor_id: 'f-id',
      flavor_name: 'tiny',
    });
    const cpu = labels(sample({ name: 'cpu', resourceId: 'r1' }));
    assert.equal(cpu['cpu'], 'r1');
    assert.equal(cpu['type'], 'cpu');
    const usage = labels(sample({ name: 'memory.usage', resourceId: 'r1' }));
    assert.equal(usage['memory'], 'r1');
    assert.equal(usage['type'], 'usage');
    assert.equal(Object.keys(usage)[0], 'memory');
  });

  test('empty values leave their label out; 24.0.0 has no flavor labels', () => {
    const perf = labels(sample({ name: 'perf.cpu.cycles', unit: '', userId: '' }));
    assert.equal(perf['perf'], 'cycles');
    assert.ok(!('unit' in perf) && !('user' in perf));
    assert.ok(!('flavor_id' in labels(sample(), L24)));
    assert.equal(labels(sample({}, { flavor: { id: '', name: 'tiny' } }))['flavor_id'], undefined);
    assert.equal(labels(sample({}, { flavor: { id: '', name: 'tiny' } }))['flavor_name'], 'tiny');
  });

  test('resource_name is display_name:name, or whichever is set', () => {
    assert.equal(labels(sample({}, { name: 'tap-1' }))['resource_name'], 'myserver:tap-1');
    assert.equal(labels(sample({}, { display_name: '' }))['resource_name'], 'instance-00000002');
    assert.equal(labels(sample({}, { name: null }))['resource_name'], 'myserver');
    assert.ok(!('resource_name' in labels(sample({}, { name: '', display_name: null }))));
  });

  test('server_group comes from user_metadata, else none; no metadata means no metadata labels', () => {
    assert.equal(
      labels(sample({}, { user_metadata: { server_group: 'stack-1' } }))['server_group'],
      'stack-1',
    );
    assert.equal(labels(sample({}, { user_metadata: { other: 'x' } }))['server_group'], 'none');
    const bare = labels(sample({}, null));
    for (const k of ['vm_instance', 'resource_name', 'server_group', 'flavor_id']) assert.ok(!(k in bare), k);
  });

  test('non-string values are written as Python str() writes them', () => {
    assert.equal(labels(sample({}, { flavor: { id: 7, name: 'tiny' } }))['flavor_id'], '7');
  });
});
