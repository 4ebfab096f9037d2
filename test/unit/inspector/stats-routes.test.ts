// SPDX-License-Identifier: Apache-2.0
// Issue 16 (footprint, CPU): each stats field name is parsed once into a route and remembered.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  Kind,
  ROUTE_CACHE_MAX,
  parseRoute,
  routeCacheSize,
  routeOf,
} from '../../../src/inspector/stats-routes.ts';

test('field names parse into the record, device index and key they fill', () => {
  assert.deepEqual(parseRoute('block.12.rd.bytes'), { kind: Kind.BLOCK, index: 12, key: 'readBytes' });
  assert.deepEqual(parseRoute('block.3.backingIndex'), {
    kind: Kind.BLOCK_BACKING,
    index: 3,
    key: 'backingIndex',
  });
  assert.deepEqual(parseRoute('net.0.name'), { kind: Kind.NET_NAME, index: 0, key: 'name' });
  assert.deepEqual(parseRoute('vcpu.7.halted'), { kind: Kind.VCPU_HALTED, index: 7, key: 'halted' });
  assert.deepEqual(parseRoute('vcpu.current'), { kind: Kind.VCPU_CURRENT, index: -1, key: '' });
  assert.deepEqual(parseRoute('cpu.haltpoll.fail.time'), {
    kind: Kind.CPU,
    index: -1,
    key: 'haltpollFailNs',
  });
  assert.deepEqual(parseRoute('perf.__proto__'), { kind: Kind.PERF, index: -1, key: '__proto__' });
  assert.deepEqual(parseRoute('dirtyrate.calc_mode'), { kind: Kind.DIRTY_MODE, index: -1, key: 'calcMode' });
  for (const f of [
    'block.x.rd.bytes',
    'block.1.',
    'block..name',
    'block.12345678901.name',
    'net.0.mtu',
    'cpu.__proto__',
    'future.thing',
    'block.count',
  ])
    assert.equal(parseRoute(f).kind, Kind.IGNORE, f);
  assert.equal(parseRoute('block.1234567890.name').index, 1234567890);
});

test('routeOf remembers a route, and its cache stays bounded under ever new names', () => {
  const a = routeOf('block.0.wr.bytes');
  assert.ok(Object.is(a, routeOf('block.0.wr.bytes')));
  for (let i = 0; i < ROUTE_CACHE_MAX * 2 + 10; i++) {
    assert.deepEqual(routeOf(`block.${i}.rd.reqs`), { kind: Kind.BLOCK, index: i, key: 'readRequests' });
    assert.ok(routeCacheSize() <= ROUTE_CACHE_MAX);
  }
  assert.deepEqual(routeOf('block.0.wr.bytes'), a);
});
