// SPDX-License-Identifier: Apache-2.0
/**
 * The generated tables of src/libvirt/generated/ hold what the client uses, with the numbers checked on
 * a real libvirt 9.0 daemon (the research notes' wire captures and the recorded frames of
 * test/fixtures/libvirt), and the names derived from them keep the labels the exporter always had.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  DOMAIN_EVENT_NAMES,
  DOMAIN_STATE_NAMES,
  DomainEventId,
  DomainEventType,
  DomainMetadataType,
  DomainState,
  DomainStatsTypes,
  DrvFeature,
  GetAllDomainStatsFlags,
  IO_ERROR_ACTION_NAMES,
  KEEPALIVE_PROC,
  KEEPALIVE_PROGRAM,
  MessageStatus,
  MessageType,
  Proc,
  REMOTE_PROGRAM,
  RemoteLimits,
  TypedParamType,
  VIR_ERR,
  VIR_FROM,
  WATCHDOG_ACTION_NAMES,
} from '../../../src/libvirt/constants.ts';

const SRC = new URL('../../../src/libvirt/', import.meta.url);
const GENERATED = new URL('generated/', SRC);

describe('generated libvirt constants', () => {
  test('every procedure the client calls has its generated number', () => {
    const used = new Set<string>();
    for (const file of readdirSync(SRC).filter((f) => f.endsWith('.ts'))) {
      for (const m of readFileSync(new URL(file, SRC), 'utf8').matchAll(/\bProc\.([A-Z0-9_]+)/g))
        used.add(m[1] ?? '');
    }
    assert.ok(used.size >= 25, `found only ${used.size} procedures in src/libvirt`);
    const table: Readonly<Record<string, number>> = Proc;
    for (const name of used) assert.equal(typeof table[name], 'number', `Proc.${name}`);
  });

  test('procedure numbers seen on the wire of libvirt 9.0', () => {
    // From docs research on this machine (virsh and the proof of concept) and the recorded frames.
    const expected: Record<string, number> = {
      CONNECT_OPEN: 1,
      CONNECT_CLOSE: 2,
      DOMAIN_GET_XML_DESC: 14,
      DOMAIN_GET_INFO: 16,
      DOMAIN_LOOKUP_BY_NAME: 23,
      DOMAIN_LOOKUP_BY_UUID: 24,
      CONNECT_GET_HOSTNAME: 59,
      CONNECT_SUPPORTS_FEATURE: 60,
      DOMAIN_BLOCK_STATS: 64,
      DOMAIN_INTERFACE_STATS: 65,
      AUTH_LIST: 66,
      AUTH_POLKIT: 70,
      STORAGE_POOL_GET_INFO: 87,
      CONNECT_GET_LIB_VERSION: 157,
      DOMAIN_MEMORY_STATS: 159,
      DOMAIN_GET_JOB_INFO: 163,
      DOMAIN_GET_BLOCK_INFO: 194,
      DOMAIN_GET_METADATA: 265,
      CONNECT_LIST_ALL_DOMAINS: 273,
      CONNECT_LIST_ALL_STORAGE_POOLS: 281,
      CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 316,
      CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: 317,
      DOMAIN_EVENT_CALLBACK_LIFECYCLE: 318,
      DOMAIN_EVENT_CALLBACK_WATCHDOG: 321,
      DOMAIN_EVENT_CALLBACK_IO_ERROR: 322,
      DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON: 324,
      DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE: 331,
      CONNECT_GET_ALL_DOMAIN_STATS: 344,
      DOMAIN_GET_GUEST_INFO: 418,
    };
    assert.deepEqual(
      Object.fromEntries(
        Object.keys(expected).map((k) => [k, (Proc as Readonly<Record<string, number>>)[k]]),
      ),
      expected,
    );
  });

  test('RPC framing, stats groups, flags, errors and states', () => {
    assert.equal(REMOTE_PROGRAM, 0x20008086);
    assert.equal(KEEPALIVE_PROGRAM, 0x6b656570);
    assert.deepEqual({ ...KEEPALIVE_PROC }, { PING: 1, PONG: 2 });
    assert.deepEqual(
      [MessageType.CALL, MessageType.REPLY, MessageType.MESSAGE, MessageType.STREAM],
      [0, 1, 2, 3],
    );
    assert.deepEqual([MessageStatus.OK, MessageStatus.ERROR], [0, 1]);
    assert.deepEqual(
      [
        DomainStatsTypes.STATE,
        DomainStatsTypes.CPU_TOTAL,
        DomainStatsTypes.BLOCK,
        DomainStatsTypes.DIRTYRATE,
      ],
      [1, 2, 32, 512],
    );
    assert.equal(GetAllDomainStatsFlags.NOWAIT, 2 ** 29);
    assert.equal(GetAllDomainStatsFlags.BACKING, 2 ** 30);
    assert.equal(GetAllDomainStatsFlags.ENFORCE_STATS, 2 ** 31);
    assert.deepEqual([TypedParamType.INT, TypedParamType.STRING], [1, 7]);
    assert.equal(DrvFeature.PROGRAM_KEEPALIVE, 10);
    assert.equal(DomainMetadataType.ELEMENT, 2);
    // "LibvirtError code 42 domain 10 - Domain not found" from the daemon.
    assert.equal(VIR_ERR.NO_DOMAIN, 42);
    assert.equal(VIR_FROM.QEMU, 10);
    assert.equal(DomainState.SHUTOFF, 5);
    assert.deepEqual(
      [
        DomainEventId.LIFECYCLE,
        DomainEventId.WATCHDOG,
        DomainEventId.IO_ERROR_REASON,
        DomainEventId.BALLOON_CHANGE,
      ],
      [0, 3, 6, 13],
    );
    assert.deepEqual(
      [DomainEventType.SUSPENDED, DomainEventType.RESUMED, DomainEventType.PMSUSPENDED],
      [3, 4, 7],
    );
    assert.equal(RemoteLimits.STRING_MAX, 4194304);
    assert.equal(RemoteLimits.UUID_BYTES, 16);
    assert.equal(RemoteLimits.TYPED_PARAM_FIELD_LENGTH, 80);
  });

  test('the names derived from the tables are the labels the exporter always had', () => {
    assert.deepEqual(DOMAIN_STATE_NAMES, [
      'nostate',
      'running',
      'blocked',
      'paused',
      'shutdown',
      'shutoff',
      'crashed',
      'pmsuspended',
    ]);
    assert.deepEqual(DOMAIN_EVENT_NAMES, [
      'defined',
      'undefined',
      'started',
      'suspended',
      'resumed',
      'stopped',
      'shutdown',
      'pmsuspended',
      'crashed',
    ]);
    assert.deepEqual(WATCHDOG_ACTION_NAMES, [
      'none',
      'pause',
      'reset',
      'poweroff',
      'shutdown',
      'debug',
      'inject_nmi',
    ]);
    assert.deepEqual(IO_ERROR_ACTION_NAMES, ['none', 'pause', 'report']);
  });

  test('each generated file says DO NOT EDIT and names the libvirt release', () => {
    const files = readdirSync(GENERATED).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 5);
    for (const file of files) {
      const head = readFileSync(new URL(file, GENERATED), 'utf8').split('\n').slice(0, 3).join('\n');
      assert.match(
        head,
        /DO NOT EDIT: generated by scripts\/gen-libvirt-constants\.ts from libvirt 9\.0\.0/,
        file,
      );
    }
  });
});
