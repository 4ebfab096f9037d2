// SPDX-License-Identifier: Apache-2.0
// The interface collector alone on the lab recording (test/fixtures/lab/inspection.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RECORDED_RUNNING,
  assertServes,
  domainsOf,
  scrapeWithout,
  valueOf,
} from '../../helpers/collector.ts';

const VNIC = 'counter domain,target_device';

test('interface: traffic, errors and drops per vNIC, and vNIC info', async () => {
  const families = await assertServes('interface', {
    libvirt_domain_interface_stats_receive_bytes_total: VNIC,
    libvirt_domain_interface_stats_receive_packets_total: VNIC,
    libvirt_domain_interface_stats_receive_errors_total: VNIC,
    libvirt_domain_interface_stats_receive_drops_total: VNIC,
    libvirt_domain_interface_stats_transmit_bytes_total: VNIC,
    libvirt_domain_interface_stats_transmit_packets_total: VNIC,
    libvirt_domain_interface_stats_transmit_errors_total: VNIC,
    libvirt_domain_interface_stats_transmit_drops_total: VNIC,
    libvirt_domain_interface_stats_info:
      'gauge domain,interface_type,mac_address,model_type,mtu_size,source_bridge,target_device',
  });
  assert.deepEqual(domainsOf(families, 'libvirt_domain_interface_stats_info'), RECORDED_RUNNING);
  // instance-00000002 has two vNICs: net.1 tap-tiny2b rx.bytes 22946, tx.pkts 204.
  const b = { domain: 'instance-00000002', target_device: 'tap-tiny2b' };
  assert.equal(valueOf(families, 'libvirt_domain_interface_stats_receive_bytes_total', b), 22946);
  assert.equal(valueOf(families, 'libvirt_domain_interface_stats_transmit_packets_total', b), 204);
  assert.equal(families.get('libvirt_domain_interface_stats_receive_bytes_total')?.samples.length, 6);
});

test('interface: a counter libvirt leaves out is absent for that vNIC, not 0', async () => {
  const families = await scrapeWithout('interface', 'instance-00000003', /^net\.0\.tx\.drop$/);
  const nic = { domain: 'instance-00000003', target_device: 'tap-lab3' };
  assert.equal(valueOf(families, 'libvirt_domain_interface_stats_transmit_drops_total', nic), undefined);
  assert.equal(valueOf(families, 'libvirt_domain_interface_stats_receive_drops_total', nic), 1);
});
