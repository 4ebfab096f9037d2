// SPDX-License-Identifier: Apache-2.0
// Issue 15, item 9: stats field names come from libvirtd and must not index plain objects. Before the
// fix `cpu.__proto__` found Object.prototype in the field table (truthy) and wrote a key named
// "[object Object]" into the record, `balloon.constructor` wrote the text of the Object function, and
// `perf.__proto__` was silently lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseDomainXml } from '../../../src/inspector/domain-xml.ts';
import { decodeDomainStats } from '../../../src/inspector/stats.ts';

const DOM = { name: 'd', uuid: '11111111-2222-3333-4444-555555555501', id: 1 };
const HOSTILE = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

test('issue 15 item 9: names of Object.prototype members in stats fields are unknown fields, not keys', () => {
  const params = [
    { field: 'cpu.time', value: 5n },
    { field: 'balloon.current', value: 7n },
    { field: 'block.count', value: 1 },
    { field: 'block.0.name', value: 'vda' },
    { field: 'block.0.rd.bytes', value: 9n },
    { field: 'net.0.name', value: 'tap0' },
    { field: 'vcpu.0.time', value: 3n },
    { field: 'dirtyrate.calc_status', value: 2 },
  ];
  for (const name of HOSTILE) {
    for (const prefix of ['cpu.', 'balloon.', 'block.0.', 'net.0.', 'vcpu.0.', 'dirtyrate.']) {
      params.push({ field: `${prefix}${name}`, value: 11n });
    }
  }
  const s = decodeDomainStats(DOM, params);
  assert.deepEqual(Object.keys(s.cpu ?? {}), ['timeNs']);
  assert.deepEqual(Object.keys(s.balloon ?? {}), ['currentKiB']);
  assert.deepEqual(Object.keys(s.dirtyRate ?? {}), ['calcStatus']);
  assert.deepEqual(s.blocks, [{ index: 0, name: 'vda', readBytes: 9 }]);
  assert.deepEqual(s.interfaces, [{ index: 0, name: 'tap0' }]);
  assert.deepEqual(s.vcpus, [{ index: 0, timeNs: 3 }]);
  assert.equal(Object.getPrototypeOf(s.cpu), Object.prototype);
  // The raw map keeps every field as sent.
  assert.equal(s.raw.get('cpu.__proto__'), 11n);
});

test('issue 15 item 9: a perf event of any name is an own property, and sets no prototype', () => {
  const s = decodeDomainStats(DOM, [
    { field: 'perf.cpu_cycles', value: 99n },
    { field: 'perf.__proto__', value: 5n },
    { field: 'perf.constructor', value: 6n },
  ]);
  assert.deepEqual(Object.entries(s.perf), [
    ['cpu_cycles', 99],
    ['__proto__', 5],
    ['constructor', 6],
  ]);
  assert.equal(Object.getPrototypeOf(s.perf), Object.prototype);
  assert.equal(s.perf['__proto__'], 5);
});

test('issue 15 item 9: a filterref parameter named __proto__ in the domain XML is kept as an own key', () => {
  const xml = `<domain type='kvm'><name>d</name><uuid>11111111-2222-3333-4444-555555555501</uuid>
    <devices><interface type='bridge'><mac address='52:54:00:00:00:01'/><target dev='tap0'/>
      <filterref filter='clean-traffic'><parameter name='__proto__' value='x'/><parameter name='IP' value='10.0.0.1'/></filterref>
    </interface></devices></domain>`;
  const parameters = parseDomainXml(xml).vnics[0]?.filterRef?.parameters ?? {};
  // Before the fix `result['__proto__'] = 'x'` set nothing and the parameter was lost.
  assert.deepEqual(Object.entries(parameters), [
    ['__proto__', 'x'],
    ['IP', '10.0.0.1'],
  ]);
  assert.equal(Object.getPrototypeOf(parameters), Object.prototype);
});
