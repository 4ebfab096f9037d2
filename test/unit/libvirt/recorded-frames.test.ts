// SPDX-License-Identifier: Apache-2.0
// Decoding bytes a real libvirtd 9.0 sent (recorded by test/fixtures/libvirt/record.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  KEEPALIVE_PROC,
  KEEPALIVE_PROGRAM,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  TypedParamType,
} from '../../../src/libvirt/constants.ts';
import { LibvirtError } from '../../../src/libvirt/errors.ts';
import { FrameDecoder } from '../../../src/libvirt/framing.ts';
import {
  decodeAuthListRet,
  decodeDomainInfo,
  decodeGetAllDomainStatsRet,
  decodeLifecycleMessage,
  decodeListAllDomainsRet,
  decodeNodeInfo,
  decodeRemoteError,
  decodeString,
} from '../../../src/libvirt/procedures.ts';
import { XdrReader } from '../../../src/libvirt/xdr.ts';
import { parseVirshDomstats, recorded, recordedFrame, recordedRaw } from './recorded.ts';

/** Formats a typed param value the way virsh prints it. */
function virshText(value: number | bigint | string | boolean, type: number): string {
  if (type === TypedParamType.BOOLEAN) return value === true ? 'yes' : 'no';
  if (type === TypedParamType.DOUBLE) return (value as number).toFixed(6);
  return String(value);
}

describe('recorded frames from libvirtd', () => {
  test('every recorded frame passes through the stream decoder byte by byte', () => {
    const decoder = new FrameDecoder();
    const all = recorded.frames.map((f) => Buffer.from(f.frame, 'base64'));
    const stream = Buffer.concat(all);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    assert.equal(out.length, all.length);
    out.forEach((f, i) => {
      assert.ok(f.equals(all[i] ?? Buffer.alloc(0)));
    });
  });

  test('headers of replies, events and keepalive', () => {
    const stats = recordedFrame('get_all_domain_stats');
    assert.equal(stats.prog, REMOTE_PROGRAM);
    assert.equal(stats.vers, 1);
    assert.equal(stats.proc, 344);
    assert.equal(stats.type, MessageType.REPLY);
    assert.equal(stats.status, MessageStatus.OK);
    const ping = recordedFrame('keepalive_ping');
    assert.equal(ping.prog, KEEPALIVE_PROGRAM);
    assert.equal(ping.proc, KEEPALIVE_PROC.PING);
    assert.equal(ping.type, MessageType.MESSAGE);
    assert.equal(ping.serial, 0);
    assert.equal(ping.payload.length, 0);
    const event = recordedFrame('event_lifecycle_suspended');
    assert.equal(event.type, MessageType.MESSAGE);
    assert.equal(event.status, MessageStatus.OK);
  });

  test('AUTH_LIST, SUPPORTS_FEATURE and CONNECT_OPEN replies', () => {
    assert.deepEqual(decodeAuthListRet(recordedFrame('auth_list').payload), [0]);
    assert.equal(new XdrReader(recordedFrame('supports_feature_keepalive').payload).i32(), 1);
    assert.equal(recordedFrame('connect_open').payload.length, 0);
  });

  test('GET_ALL_DOMAIN_STATS matches virsh domstats recorded at the same time', () => {
    const records = decodeGetAllDomainStatsRet(recordedFrame('get_all_domain_stats').payload);
    const virsh = parseVirshDomstats(recorded.virsh.domstats);
    // Other lab users may create or destroy guests between the two captures: compare the common ones.
    const stateOf = (r: (typeof records)[number]): string =>
      String(r.params.find((p) => p.field === 'state.state')?.value);
    const common = records.filter((r) => virsh.get(r.domain.name)?.get('state.state') === stateOf(r));
    assert.ok(common.length >= 4, `only ${common.length} domains in common`);
    assert.ok(common.some((r) => r.domain.name === 'instance-00000001'));
    for (const record of common) {
      const expected = virsh.get(record.domain.name);
      assert.ok(expected !== undefined);
      // Same fields in the same order as virsh prints them.
      assert.deepEqual(
        record.params.map((p) => p.field),
        [...expected.keys()],
        record.domain.name,
      );
      // Values that do not move between the two captures must be equal.
      for (const p of record.params) {
        if (
          /^(state\.|block\.\d+\.(name|path|capacity)|net\.\d+\.name|vcpu\.(current|maximum)|balloon\.maximum)/.test(
            p.field,
          )
        ) {
          assert.equal(virshText(p.value, p.type), expected.get(p.field), `${record.domain.name} ${p.field}`);
        }
      }
      assert.match(record.domain.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const cpu = records[0]?.params.find((p) => p.field === 'cpu.time');
    assert.ok(cpu !== undefined);
    assert.equal(cpu.type, TypedParamType.ULLONG);
    assert.equal(typeof cpu.value, 'bigint');
  });

  test('virDomainListGetStats reply for one domain', () => {
    const records = decodeGetAllDomainStatsRet(recordedFrame('domain_list_get_stats').payload);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.domain.name, 'instance-00000001');
  });

  test('LIST_ALL_DOMAINS reply lists the same domains as the stats reply', () => {
    const domains = decodeListAllDomainsRet(recordedFrame('list_all_domains').payload);
    const stats = decodeGetAllDomainStatsRet(recordedFrame('get_all_domain_stats').payload);
    assert.deepEqual(domains.map((d) => d.uuid).sort(), stats.map((r) => r.domain.uuid).sort());
    const inactive = domains.filter((d) => d.id === -1);
    assert.ok(domains.some((d) => d.id > 0));
    for (const d of inactive) assert.equal(d.id, -1);
  });

  test('XML, hostname and version replies', () => {
    const xml = decodeString(recordedFrame('domain_get_xml_desc').payload);
    assert.match(xml, /^<domain type='qemu' id='\d+'>/);
    assert.match(xml, /<name>instance-00000001<\/name>/);
    assert.ok(decodeString(recordedFrame('connect_get_hostname').payload).length > 0);
    assert.equal(
      new XdrReader(recordedFrame('connect_get_lib_version').payload).u64(),
      BigInt(recorded.libvirtVersion),
    );
  });

  test('NODE_GET_INFO matches virsh nodeinfo (char model[32] travels as 32 XDR ints)', () => {
    const info = decodeNodeInfo(recordedFrame('node_get_info').payload);
    const text = recorded.virsh.nodeinfo;
    const field = (label: string): string => new RegExp(`${label}:\\s+(\\S+)`).exec(text)?.[1] ?? '';
    assert.equal(info.model, field('CPU model'));
    assert.equal(String(info.cpus), field('CPU\\(s\\)'));
    assert.equal(String(info.mhz), field('CPU frequency'));
    assert.equal(String(info.sockets), field('CPU socket\\(s\\)'));
    assert.equal(String(info.cores), field('Core\\(s\\) per socket'));
    assert.equal(String(info.threads), field('Thread\\(s\\) per core'));
    assert.equal(String(info.nodes), field('NUMA cell\\(s\\)'));
    assert.equal(String(info.memory), field('Memory size'));
  });

  test('DOMAIN_GET_INFO reply (unsigned char / short widened to 4 bytes)', () => {
    const info = decodeDomainInfo(recordedFrame('domain_get_info').payload);
    assert.equal(info.state, 1);
    assert.equal(info.maxMemoryKiB, 131072);
    assert.equal(info.virtCpus, 1);
    assert.ok(info.cpuTimeNs > 0n);
  });

  test('error replies decode into LibvirtError fields', () => {
    const noDomain = recordedFrame('error_no_domain');
    assert.equal(noDomain.status, MessageStatus.ERROR);
    const e = new LibvirtError(decodeRemoteError(noDomain.payload), noDomain.proc);
    assert.equal(e.code, 42);
    assert.equal(e.codeName, 'NO_DOMAIN');
    assert.equal(e.domain, 10);
    assert.equal(e.level, 2);
    assert.match(e.message, /no-such-domain-recorded/);
    assert.equal(e.procedure, 23);
    const noMeta = new LibvirtError(decodeRemoteError(recordedFrame('error_no_metadata').payload));
    assert.equal(noMeta.code, 80);
    assert.equal(noMeta.codeName, 'NO_DOMAIN_METADATA');
  });

  test('lifecycle event message', () => {
    const e = decodeLifecycleMessage(recordedFrame('event_lifecycle_suspended').payload);
    assert.equal(e.domain.name, 'lab-plain-1');
    assert.equal(e.event, 3);
    assert.equal(e.eventName, 'suspended');
    assert.equal(e.callbackId, new XdrReader(recordedFrame('register_lifecycle').payload).i32());
  });

  test('raw fixture bytes are whole frames', () => {
    for (const f of recorded.frames) {
      const raw = recordedRaw(f.name);
      assert.equal(raw.readUInt32BE(0), raw.length, f.name);
    }
  });
});
