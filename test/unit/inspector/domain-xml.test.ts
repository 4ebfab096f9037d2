// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DomainXmlError, parseDomainXml } from '../../../src/inspector/domain-xml.ts';
import type { DomainDescription } from '../../../src/inspector/types.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/domains/${name}`, import.meta.url), 'utf8');

/** A minimal domain around the given children, for the cases the fixtures do not cover. */
const domain = (inner: string, root = `<domain type='qemu'>`): string =>
  `${root}<name>t-1</name><uuid>00000000-0000-4000-8000-000000000001</uuid>${inner}</domain>`;

const NOVA_11 = 'http://openstack.org/xmlns/libvirt/nova/1.1';
const NOVA_10 = 'http://openstack.org/xmlns/libvirt/nova/1.0';

const tinyFlavor = {
  name: 'm1.tiny',
  memoryMiB: 128,
  diskGiB: 1,
  swapMiB: 0,
  ephemeralGiB: 0,
  vcpus: 1,
  extraSpecs: {},
} as const;

describe('parseDomainXml: fixtures', () => {
  test('nova/1.1, running (shared template, enriched)', () => {
    const expected: DomainDescription = {
      name: 'instance-00000001',
      uuid: '11111111-2222-3333-4444-555555555501',
      hypervisorType: 'qemu',
      osType: 'hvm',
      osArch: 'x86_64',
      osMachine: 'pc-i440fx-7.2',
      maxMemoryKiB: 131072,
      currentMemoryKiB: 131072,
      maxVcpus: 1,
      vcpus: 1,
      disks: [
        {
          target: 'vda',
          device: 'disk',
          type: 'file',
          bus: 'virtio',
          sourceFile: '/var/lib/libvirt/images/instance-00000001.qcow2',
          driverName: 'qemu',
          driverType: 'qcow2',
        },
      ],
      vnics: [{ type: 'ethernet', targetDev: 'tap-lab1', mac: '52:54:00:6b:3c:58', model: 'virtio' }],
      nova: {
        namespaceVersion: '1.1',
        packageVersion: '27.1.0',
        displayName: 'web-1',
        creationTime: '2025-03-14 09:26:53',
        creationTimestampSeconds: 1741944413,
        flavor: tinyFlavor,
        userId: 'u-123',
        userName: 'demo',
        projectId: 'p-456',
        projectName: 'demo',
        rootType: 'image',
        rootUuid: 'img-1',
      },
    };
    assert.deepStrictEqual(parseDomainXml(fixture('nova-1.1.xml')), expected);
  });

  test('nova/1.1 as Nova 2025.2 writes it: flavor id, extra specs, image properties', () => {
    const instanceDir = '/var/lib/nova/instances/6c1e2f4a-9b0d-4e57-8a31-2d9f0c7b5e18';
    const novaDisk = (target: string, file: string) =>
      ({
        target,
        device: 'disk',
        type: 'file',
        bus: 'virtio',
        sourceFile: `${instanceDir}/${file}`,
        driverName: 'qemu',
        driverType: 'qcow2',
        driverCache: 'none',
        driverDiscard: 'unmap',
      }) as const;
    const expected: DomainDescription = {
      name: 'instance-0000a3f2',
      uuid: '6c1e2f4a-9b0d-4e57-8a31-2d9f0c7b5e18',
      hypervisorType: 'kvm',
      title: 'build-runner-07',
      osType: 'hvm',
      osArch: 'x86_64',
      osMachine: 'pc-q35-8.2',
      maxMemoryKiB: 8388608,
      currentMemoryKiB: 6291456,
      maxVcpus: 4,
      vcpus: 3,
      disks: [novaDisk('vda', 'disk'), novaDisk('vdb', 'disk.eph0'), novaDisk('vdc', 'disk.swap')],
      vnics: [
        {
          type: 'bridge',
          targetDev: 'tapd8f1c0b2-3e',
          mac: 'fa:16:3e:5c:21:9d',
          model: 'virtio',
          sourceBridge: 'br-int',
          mtu: 1442,
          interfaceId: 'd8f1c0b2-3e4a-4b5c-9d6e-7f8091a2b3c4',
        },
      ],
      nova: {
        namespaceVersion: '1.1',
        packageVersion: '32.0.0',
        displayName: 'build-runner-07',
        creationTime: '2025-11-03 14:07:52',
        creationTimestampSeconds: 1762178872,
        flavor: {
          name: 'c2.large',
          id: '4f7d2a9e-1b3c-4d5e-8f60-7a8b9c0d1e2f',
          memoryMiB: 8192,
          diskGiB: 40,
          swapMiB: 1024,
          ephemeralGiB: 20,
          vcpus: 4,
          extraSpecs: {
            'hw:cpu_policy': 'dedicated',
            'hw:mem_page_size': 'large',
            'hw_rng:allowed': 'True',
            'quota:disk_total_iops_sec': '2000',
            'trait:CUSTOM_CI_RUNNER': 'required',
          },
        },
        userId: '9a1f8e2d3c4b4a5f9e8d7c6b5a493827',
        userName: 'ci-bot',
        projectId: '2b7c4e9f1a3d4c6e8f0a1b2c3d4e5f60',
        projectName: 'ci & builds',
        rootType: 'image',
        rootUuid: '0e5d3c2b-7a19-4f86-b2d4-95c8e1a7f603',
        image: {
          uuid: '0e5d3c2b-7a19-4f86-b2d4-95c8e1a7f603',
          containerFormat: 'bare',
          diskFormat: 'qcow2',
          minDisk: '10',
          minRam: '0',
          hw_disk_bus: 'virtio',
          hw_machine_type: 'q35',
          hw_qemu_guest_agent: 'True',
          os_distro: 'ubuntu',
          os_type: 'linux',
        },
      },
    };
    assert.deepStrictEqual(parseDomainXml(fixture('nova-2025.2.xml')), expected);
  });

  test('nova/1.0 (older Nova): read the same way, namespace version reported', () => {
    const instanceDir = '/var/lib/nova/instances/a3d5e7f9-0b1c-4d2e-8f3a-5b6c7d8e9f01';
    const expected: DomainDescription = {
      name: 'instance-000001c8',
      uuid: 'a3d5e7f9-0b1c-4d2e-8f3a-5b6c7d8e9f01',
      hypervisorType: 'kvm',
      osType: 'hvm',
      osArch: 'x86_64',
      osMachine: 'pc-i440fx-trusty',
      maxMemoryKiB: 4194304,
      currentMemoryKiB: 4194304,
      maxVcpus: 2,
      vcpus: 2,
      disks: [
        {
          target: 'vda',
          device: 'disk',
          type: 'file',
          bus: 'virtio',
          sourceFile: `${instanceDir}/disk`,
          driverName: 'qemu',
          driverType: 'qcow2',
          driverCache: 'none',
        },
        {
          target: 'hdd',
          device: 'cdrom',
          type: 'file',
          bus: 'ide',
          sourceFile: `${instanceDir}/disk.config`,
          driverName: 'qemu',
          driverType: 'raw',
          driverCache: 'none',
        },
      ],
      vnics: [
        {
          type: 'bridge',
          targetDev: 'tap5e8a1c3f-2b',
          mac: 'fa:16:3e:0b:7d:42',
          model: 'virtio',
          sourceBridge: 'qbr5e8a1c3f-2b',
        },
      ],
      nova: {
        namespaceVersion: '1.0',
        packageVersion: '2015.1.4',
        displayName: 'legacy-db',
        creationTime: '2016-02-29 23:59:59',
        creationTimestampSeconds: 1456790399,
        flavor: {
          name: 'm1.medium',
          memoryMiB: 4096,
          diskGiB: 40,
          swapMiB: 0,
          ephemeralGiB: 0,
          vcpus: 2,
          extraSpecs: {},
        },
        userId: '4c0a7e1b2d3f4a5b6c7d8e9f0a1b2c3d',
        userName: 'admin',
        projectId: '8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b',
        projectName: 'admin',
        rootType: 'image',
        rootUuid: '7b2f9c1d-3e4a-4f5b-8c6d-9e0f1a2b3c4d',
      },
    };
    assert.deepStrictEqual(parseDomainXml(fixture('nova-1.0.xml')), expected);
  });

  test('every disk and NIC type; empty CD-ROM skipped; foreign metadata ignored', () => {
    const expected: DomainDescription = {
      name: 'instance-00000007',
      uuid: '5f3c9a1e-7b2d-4c8e-9f06-1a2b3c4d5e6f',
      hypervisorType: 'kvm',
      osType: 'hvm',
      osArch: 'x86_64',
      osMachine: 'pc-q35-7.2',
      maxMemoryKiB: 8388608,
      currentMemoryKiB: 8388608,
      maxVcpus: 4,
      vcpus: 4,
      disks: [
        {
          target: 'vda',
          device: 'disk',
          type: 'network',
          bus: 'virtio',
          sourceProtocol: 'rbd',
          sourceName: 'volumes/volume-2c9d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
          driverName: 'qemu',
          driverType: 'raw',
          driverCache: 'writeback',
          driverDiscard: 'unmap',
          serial: '2c9d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
        },
        {
          target: 'vdb',
          device: 'disk',
          type: 'block',
          bus: 'virtio',
          sourceDev: '/dev/disk/by-id/wwn-0x6001405f3a9b8c7d6e5f4a3b2c1d0e9f',
          driverName: 'qemu',
          driverType: 'raw',
          driverCache: 'none',
          serial: '8a7b6c5d-4e3f-4a1b-9c0d-e1f2a3b4c5d6',
        },
        {
          target: 'vdc',
          device: 'disk',
          type: 'file',
          bus: 'virtio',
          sourceFile: '/var/lib/libvirt/images/scratch.qcow2',
          driverName: 'qemu',
          driverType: 'qcow2',
        },
        {
          target: 'sdb',
          device: 'disk',
          type: 'volume',
          bus: 'scsi',
          sourceVolume: 'default/archive-01.img',
          driverName: 'qemu',
          driverType: 'raw',
        },
      ],
      vnics: [
        {
          type: 'bridge',
          targetDev: 'tap1a2b3c4d-5e',
          mac: 'fa:16:3e:11:22:33',
          model: 'virtio',
          sourceBridge: 'brq4a5b6c7d-8e',
          mtu: 1450,
          filterRef: {
            filter: 'nova-instance-instance-00000007-fa163e112233',
            parameters: {
              IP: '10.1.0.7',
              DHCPSERVER: '10.1.0.2',
              PROJNET: '10.1.0.0',
              PROJMASK: '255.255.255.0',
            },
          },
        },
        {
          type: 'bridge',
          targetDev: 'tap7c8d9e0f-1a',
          mac: 'fa:16:3e:44:55:66',
          model: 'virtio',
          sourceBridge: 'br-int',
          mtu: 1442,
          interfaceId: '7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f',
        },
        {
          type: 'ethernet',
          targetDev: 'tap9f8e7d6c-5b',
          mac: 'fa:16:3e:77:88:99',
          model: 'virtio',
          mtu: 1500,
        },
        {
          type: 'network',
          targetDev: 'vnet12',
          mac: '52:54:00:3a:5c:7e',
          model: 'e1000e',
          sourceBridge: 'virbr0',
          sourceNetwork: 'default',
        },
        {
          type: 'direct',
          targetDev: 'macvtap3',
          mac: '52:54:00:9d:1f:20',
          model: 'virtio',
          sourceDev: 'eno2',
        },
        { type: 'hostdev', mac: 'fa:16:3e:aa:bb:cc' },
      ],
      nova: {
        namespaceVersion: '1.1',
        packageVersion: '29.2.1',
        displayName: 'storage-gw',
        creationTime: '2024-07-19 06:45:00',
        creationTimestampSeconds: 1721371500,
        flavor: {
          name: 'm1.large',
          memoryMiB: 8192,
          diskGiB: 80,
          swapMiB: 0,
          ephemeralGiB: 0,
          vcpus: 4,
          extraSpecs: {},
        },
        userId: '0f1e2d3c4b5a49687f6e5d4c3b2a1908',
        userName: 'ops',
        projectId: '1a2b3c4d5e6f47089a0b1c2d3e4f5061',
        projectName: 'storage',
        rootType: 'volume',
        rootUuid: '2c9d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f',
      },
    };
    assert.deepStrictEqual(parseDomainXml(fixture('devices.xml')), expected);
  });

  test('shut-off domain recorded from the lab (no id attribute)', () => {
    const expected: DomainDescription = {
      name: 'instance-00000005',
      uuid: '11111111-2222-3333-4444-555555555505',
      hypervisorType: 'qemu',
      osType: 'hvm',
      osArch: 'x86_64',
      osMachine: 'pc-i440fx-7.2',
      maxMemoryKiB: 131072,
      currentMemoryKiB: 131072,
      maxVcpus: 1,
      vcpus: 1,
      disks: [
        {
          target: 'vda',
          device: 'disk',
          type: 'file',
          bus: 'virtio',
          sourceFile: '/var/lib/libvirt-exporter-lab/disks/instance-00000005.qcow2',
          driverName: 'qemu',
          driverType: 'qcow2',
        },
      ],
      vnics: [{ type: 'ethernet', targetDev: 'tap-lab5', mac: '52:54:00:70:00:05', model: 'virtio' }],
      nova: {
        namespaceVersion: '1.1',
        packageVersion: '27.1.0',
        displayName: 'report-1',
        creationTime: '2024-12-24 18:00:00',
        creationTimestampSeconds: 1735063200,
        flavor: tinyFlavor,
        userId: '5a6b7c8d9e0f41a2b3c4d5e6f7a8b9c0',
        userName: 'analyst',
        projectId: '9e8d7c6b5a4f43e2d1c0b9a8f7e6d5c4',
        projectName: 'analytics',
        rootType: 'image',
        rootUuid: 'deb12000-aaaa-4bbb-8ccc-ddddeeee0012',
      },
    };
    assert.deepStrictEqual(parseDomainXml(fixture('lab-shutoff.xml')), expected);
  });

  test('running Nova 2025.2-style guest recorded from the lab', () => {
    const labDisk = (target: string, file: string) =>
      ({
        target,
        device: 'disk',
        type: 'file',
        bus: 'virtio',
        sourceFile: `/var/lib/libvirt-exporter-lab/disks/${file}`,
        driverName: 'qemu',
        driverType: 'qcow2',
      }) as const;
    const expected: DomainDescription = {
      name: 'instance-00000002',
      uuid: '11111111-2222-3333-4444-555555555502',
      hypervisorType: 'qemu',
      osType: 'hvm',
      osArch: 'x86_64',
      osMachine: 'pc-i440fx-7.2',
      maxMemoryKiB: 131072,
      currentMemoryKiB: 131072,
      maxVcpus: 2,
      vcpus: 2,
      disks: [labDisk('vda', 'instance-00000002.qcow2'), labDisk('vdb', 'instance-00000002-vdb.qcow2')],
      vnics: [
        { type: 'ethernet', targetDev: 'tap-tiny2', mac: '52:54:00:71:00:02', model: 'virtio' },
        { type: 'ethernet', targetDev: 'tap-tiny2b', mac: '52:54:00:71:00:12', model: 'virtio' },
      ],
      nova: {
        namespaceVersion: '1.1',
        packageVersion: '27.1.0',
        displayName: 'db-1',
        creationTime: '2025-11-02 17:04:11',
        creationTimestampSeconds: 1762103051,
        flavor: {
          name: 'm1.small.2c',
          id: 'b7e3c1d2-4f5a-4b6c-9d8e-0f1a2b3c4d5e',
          memoryMiB: 128,
          diskGiB: 1,
          swapMiB: 0,
          ephemeralGiB: 0,
          vcpus: 2,
          extraSpecs: {
            'hw:cpu_policy': 'shared',
            'hw_rng:allowed': 'True',
            'quota:disk_read_iops_sec': '500',
          },
        },
        userId: '5a6b7c8d9e0f41a2b3c4d5e6f7a8b9c0',
        userName: 'analyst',
        projectId: '9e8d7c6b5a4f43e2d1c0b9a8f7e6d5c4',
        projectName: 'analytics',
        rootType: 'image',
        rootUuid: 'deb12000-aaaa-4bbb-8ccc-ddddeeee0012',
        image: {
          uuid: 'deb12000-aaaa-4bbb-8ccc-ddddeeee0012',
          containerFormat: 'bare',
          diskFormat: 'qcow2',
          minDisk: '1',
          minRam: '128',
          hw_disk_bus: 'virtio',
          os_distro: 'debian',
        },
      },
    };
    assert.deepStrictEqual(parseDomainXml(fixture('lab-running-nova.xml')), expected);
  });

  test('guest without metadata recorded from the lab: no nova field, empty CD-ROM skipped', () => {
    const expected: DomainDescription = {
      name: 'lab-plain-1',
      uuid: '11111111-2222-3333-4444-555555555511',
      hypervisorType: 'qemu',
      osType: 'hvm',
      osArch: 'x86_64',
      osMachine: 'pc-i440fx-7.2',
      maxMemoryKiB: 131072,
      currentMemoryKiB: 131072,
      maxVcpus: 1,
      vcpus: 1,
      disks: [
        {
          target: 'vda',
          device: 'disk',
          type: 'file',
          bus: 'virtio',
          sourceFile: '/var/lib/libvirt-exporter-lab/disks/lab-plain-1.qcow2',
          driverName: 'qemu',
          driverType: 'qcow2',
        },
      ],
      vnics: [{ type: 'ethernet', targetDev: 'tap-lab11', mac: '52:54:00:70:00:11', model: 'virtio' }],
    };
    assert.deepStrictEqual(parseDomainXml(fixture('lab-no-metadata.xml')), expected);
  });

  test('malformed (truncated) XML: DomainXmlError naming the domain and the position', () => {
    assert.throws(
      () => parseDomainXml(fixture('malformed.xml')),
      (error: unknown) => {
        assert.ok(error instanceof DomainXmlError);
        assert.equal(error.name, 'DomainXmlError');
        assert.equal(error.code, 'DOMAIN_XML');
        assert.equal(error.domainName, 'instance-000000ff');
        assert.equal(error.line, 53);
        assert.match(error.message, /^malformed domain XML: .* \(domain instance-000000ff\)$/);
        return true;
      },
    );
  });
});

describe('parseDomainXml: Nova metadata', () => {
  const nova = (uri: string, prefix: string, body: string): string =>
    prefix === ''
      ? `<instance xmlns="${uri}">${body}</instance>`
      : `<${prefix}:instance xmlns:${prefix}="${uri}">${body.replaceAll('<', `<${prefix}:`).replaceAll(`<${prefix}:/`, `</${prefix}:`)}</${prefix}:instance>`;

  test('found by namespace URI whatever the prefix, or as the default namespace', () => {
    for (const prefix of ['nova', 'n', 'os-nova', '']) {
      const xml = domain(`<metadata>${nova(NOVA_11, prefix, '<name>web-1</name>')}</metadata>`);
      assert.deepStrictEqual(
        parseDomainXml(xml).nova,
        { namespaceVersion: '1.1', displayName: 'web-1' },
        prefix,
      );
    }
  });

  test('a namespace declared on <metadata> or <domain> is in scope', () => {
    const onMetadata = domain(
      `<metadata xmlns:x="${NOVA_11}"><x:instance><x:name>a</x:name></x:instance></metadata>`,
    );
    assert.equal(parseDomainXml(onMetadata).nova?.displayName, 'a');
    const onDomain = domain(
      `<metadata><x:instance><x:name>b</x:name></x:instance></metadata>`,
      `<domain type='qemu' xmlns:x="${NOVA_10}">`,
    );
    assert.deepStrictEqual(parseDomainXml(onDomain).nova, { namespaceVersion: '1.0', displayName: 'b' });
  });

  test('nova/1.1 is preferred over nova/1.0, wherever each stands', () => {
    const xml = domain(
      `<metadata>${nova(NOVA_10, 'old', '<name>from-1.0</name>')}${nova(NOVA_11, 'nova', '<name>from-1.1</name>')}</metadata>`,
    );
    assert.deepStrictEqual(parseDomainXml(xml).nova, { namespaceVersion: '1.1', displayName: 'from-1.1' });
  });

  test('the same prefix bound to another URI is not Nova; no Nova element means no nova field', () => {
    const other = domain(
      `<metadata>${nova('http://example.org/not-nova', 'nova', '<name>x</name>')}</metadata>`,
    );
    assert.equal('nova' in parseDomainXml(other), false);
    assert.equal('nova' in parseDomainXml(domain('<metadata/>')), false);
    // Child elements in another namespace are not Nova's either.
    const mixed = domain(
      `<metadata><nova:instance xmlns:nova="${NOVA_11}"><name>unqualified</name><nova:package version="1"/></nova:instance></metadata>`,
    );
    assert.deepStrictEqual(parseDomainXml(mixed).nova, { namespaceVersion: '1.1', packageVersion: '1' });
  });

  test('missing, empty and unparsable values are absent, never 0 or empty', () => {
    const xml = domain(
      `<metadata>${nova(
        NOVA_11,
        'nova',
        '<package version=""/><name></name><creationTime>2025-02-30 10:00:00</creationTime>' +
          '<flavor name="f"><memory>12x</memory><disk>-1</disk><swap> 512 </swap><vcpus>1.5</vcpus><ephemeral/></flavor>' +
          '<owner><user uuid="u">  </user><project>p</project></owner><root type="volume"/>' +
          '<image uuid=""><properties></properties></image>',
      )}</metadata>`,
    );
    assert.deepStrictEqual(parseDomainXml(xml).nova, {
      namespaceVersion: '1.1',
      creationTime: '2025-02-30 10:00:00',
      flavor: { name: 'f', swapMiB: 512, extraSpecs: {} },
      userId: 'u',
      userName: '  ',
      projectName: 'p',
      rootType: 'volume',
    });
  });

  test('a volume-backed instance (image uuid="") keeps the image fields it has', () => {
    const xml = domain(
      `<metadata>${nova(
        NOVA_11,
        'nova',
        '<image uuid=""><diskFormat>raw</diskFormat><properties><property name="hw_scsi_model">virtio-scsi</property>' +
          '<property name="empty"></property><property>nameless</property></properties></image>',
      )}</metadata>`,
    );
    assert.deepStrictEqual(parseDomainXml(xml).nova?.image, {
      diskFormat: 'raw',
      hw_scsi_model: 'virtio-scsi',
      empty: '',
    });
  });

  test('a single extra spec and a single property still come back as maps', () => {
    const xml = domain(
      `<metadata>${nova(
        NOVA_11,
        'nova',
        '<flavor name="f" id="1"><extraSpecs><extraSpec name="a:b">c</extraSpec></extraSpecs></flavor>' +
          '<image uuid="i"><properties><property name="os_type">linux</property></properties></image>',
      )}</metadata>`,
    );
    const parsed = parseDomainXml(xml).nova;
    assert.deepStrictEqual(parsed?.flavor, { name: 'f', id: '1', extraSpecs: { 'a:b': 'c' } });
    assert.deepStrictEqual(parsed.image, { uuid: 'i', os_type: 'linux' });
  });
});

describe('parseDomainXml: domain fields', () => {
  test('memory units as libvirt scales them (KB = 1000 bytes, KiB = 1024), rounded up to KiB', () => {
    const cases: [string | undefined, string, number | undefined][] = [
      [undefined, '131072', 131072],
      ['KiB', '131072', 131072],
      ['k', '2', 2],
      ['kib', '2', 2],
      ['b', '2048', 2],
      ['bytes', '1025', 2],
      ['byte', '1024', 1],
      ['KB', '1024', 1000],
      ['MB', '128', 125000],
      ['M', '128', 131072],
      ['MiB', '128', 131072],
      ['GB', '1', 976563],
      ['G', '4', 4194304],
      ['GiB', '4', 4194304],
      ['TB', '1', 976562500],
      ['T', '1', 1073741824],
      ['TiB', '2', 2147483648],
      ['furlongs', '1', undefined],
      ['Kx', '1', undefined],
      ['MiB', '-1', undefined],
      ['MiB', '1.5', undefined],
      ['MiB', '', undefined],
    ];
    for (const [unit, value, kib] of cases) {
      const unitAttr = unit === undefined ? '' : ` unit='${unit}'`;
      const parsed = parseDomainXml(domain(`<memory${unitAttr}>${value}</memory>`));
      assert.equal(parsed.maxMemoryKiB, kib, `${value} ${unit ?? '(no unit)'}`);
      assert.equal('maxMemoryKiB' in parsed, kib !== undefined);
    }
  });

  test('uuid is lowercased; vcpu current is the active count', () => {
    const parsed = parseDomainXml(
      `<domain type='kvm'><name>n</name><uuid>6C1E2F4A-9B0D-4E57-8A31-2D9F0C7B5E18</uuid><title></title>` +
        `<vcpu placement='static' current='2'>8</vcpu><currentMemory unit='MiB'>64</currentMemory></domain>`,
    );
    assert.deepStrictEqual(parsed, {
      name: 'n',
      uuid: '6c1e2f4a-9b0d-4e57-8a31-2d9f0c7b5e18',
      hypervisorType: 'kvm',
      currentMemoryKiB: 65536,
      maxVcpus: 8,
      vcpus: 2,
      disks: [],
      vnics: [],
    });
  });

  test('entities: predefined, character references and internal DTD entities are decoded', () => {
    const xml =
      `<?xml version='1.0' encoding='UTF-8'?>\n<!-- saved by hand -->\n<!DOCTYPE domain [<!ENTITY site "lab-a">]>\n` +
      `<domain type='qemu'><name>a&amp;b</name><uuid>u</uuid><title>&lt;&#x41;&#66;&gt; &apos;&quot; &site;</title>` +
      `<devices><disk type='file' device='disk'><source file='/img/&#x3b1;&amp;.qcow2'/><target dev='vda'/></disk></devices>` +
      `</domain>`;
    const parsed = parseDomainXml(xml);
    assert.equal(parsed.name, 'a&b');
    assert.equal(parsed.title, `<AB> '" lab-a`);
    assert.equal(parsed.disks[0]?.sourceFile, '/img/α&.qcow2');
  });

  test('source with only bookkeeping attributes, disk without target, interface without type: skipped', () => {
    const parsed = parseDomainXml(
      domain(
        `<devices><disk type='file' device='cdrom'><source index='3' startupPolicy='optional'/><target dev='sda'/></disk>` +
          `<disk type='file' device='disk'><source file='/a'/></disk>` +
          `<disk><source file='/b'/><target dev='vdb'/></disk>` +
          `<interface><mac address='52:54:00:00:00:01'/></interface></devices>`,
      ),
    );
    // libvirt's defaults stand in for a missing device/type attribute.
    assert.deepStrictEqual(parsed.disks, [{ target: 'vdb', device: 'disk', type: 'file', sourceFile: '/b' }]);
    assert.deepStrictEqual(parsed.vnics, []);
  });

  test('a large domain (2,000 disks, 500 NICs, a 1 MiB title) parses completely', () => {
    const disks = Array.from(
      { length: 2000 },
      (_, i) => `<disk type='file' device='disk'><source file='/d/${i}'/><target dev='vd${i}'/></disk>`,
    ).join('');
    const nics = Array.from(
      { length: 500 },
      (_, i) => `<interface type='ethernet'><target dev='tap${i}'/><mtu size='${1000 + i}'/></interface>`,
    ).join('');
    const title = 'x&amp;'.repeat(1 << 18);
    const parsed = parseDomainXml(domain(`<title>${title}</title><devices>${disks}${nics}</devices>`));
    assert.equal(parsed.disks.length, 2000);
    assert.deepStrictEqual(parsed.disks[1999], {
      target: 'vd1999',
      device: 'disk',
      type: 'file',
      sourceFile: '/d/1999',
    });
    assert.equal(parsed.vnics.length, 500);
    assert.deepStrictEqual(parsed.vnics[499], { type: 'ethernet', targetDev: 'tap499', mtu: 1499 });
    assert.equal(parsed.title?.length, 2 * (1 << 18));
  });
});

describe('parseDomainXml: errors', () => {
  const rejects = (xml: string, message: RegExp, domainName?: string): void => {
    assert.throws(
      () => parseDomainXml(xml),
      (error: unknown) => {
        assert.ok(error instanceof DomainXmlError, String(error));
        assert.match(error.message, message);
        assert.equal(error.domainName, domainName);
        return true;
      },
    );
  };

  test('not XML, empty input, wrong root', () => {
    rejects('', /malformed domain XML: Start tag expected/);
    rejects('not xml at all', /malformed domain XML/);
    rejects('<network><name>default</name></network>', /not a domain XML: the root element is <network>/);
    rejects('<domain/>', /without <name>, <uuid> or type/);
  });

  test('mismatched tags and broken attributes', () => {
    rejects(domain('<devices><disk></devices>'), /malformed domain XML: Expected closing tag 'disk'/, 't-1');
    rejects(domain(`<memory unit=KiB>1</memory>`), /malformed domain XML/, 't-1');
    rejects(`<domain type='qemu'><name>x</name><uuid>u</uuid></domain><domain/>`, /more than one root/, 'x');
    rejects(`<domain type='qemu'><name>x</name><uuid>u</uuid></domain><network/>`, /more than one root/, 'x');
  });

  test('unknown entities and invalid character references', () => {
    rejects(domain('<title>&nbsp;</title>'), /undefined entity &nbsp;/, 't-1');
    rejects(domain('<title>&#0;</title>'), /invalid character reference &#0;/, 't-1');
    rejects(domain(`<title t='&#xD800;'/>`), /invalid character reference/, 't-1');
  });

  test('a domain without name, uuid or type', () => {
    rejects(`<domain type='qemu'><uuid>u</uuid></domain>`, /without <name>, <uuid> or type/);
    rejects(`<domain type='qemu'><name>n</name></domain>`, /without <name>, <uuid> or type/, 'n');
    rejects(`<domain><name>n</name><uuid>u</uuid></domain>`, /without <name>, <uuid> or type/, 'n');
  });
});
