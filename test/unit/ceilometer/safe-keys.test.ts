// SPDX-License-Identifier: Apache-2.0
// Issue 15, item 9: names from the daemon (here a filterref parameter of the domain XML) become sample
// metadata keys as own properties, whatever the name; before the fix `parameters['__proto__'] = v`
// set nothing and the parameter was missing from the published sample.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { prepareCycle } from '../../../src/ceilometer/cycle.ts';
import { discoverInstances } from '../../../src/ceilometer/discovery.ts';
import { sampleMessages } from '../../../src/ceilometer/message.ts';
import { computeMeters } from '../../../src/ceilometer/meters.ts';
import { pyJsonDumps, type PyDict } from '../../../src/ceilometer/python-format.ts';
import { parseRelease } from '../../../src/ceilometer/release.ts';
import { meterSamples } from '../../../src/ceilometer/samples.ts';
import { verifySignature } from '../../../src/ceilometer/signature.ts';
import { inspectionOf, loadLabInstance } from '../publisher/fake-inspector.ts';

test('issue 15 item 9: a filterref parameter named __proto__ is published as a metadata key', () => {
  const f = loadLabInstance();
  const vnic = f.instances[0]?.vnics[0];
  assert.ok(vnic);
  const parameters: Record<string, string> = {};
  Object.defineProperty(parameters, '__PROTO__', { value: 'x', enumerable: true });
  Object.assign(vnic, { filterRef: { filter: 'clean-traffic', parameters } });
  const inspection = inspectionOf(f);
  const meter = computeMeters(parseRelease('19.0.0'), 'MB').find((m) => m.name === 'network.incoming.bytes');
  assert.ok(meter);
  const { discovered } = discoverInstances(inspection, { host: 'h', flavorIds: {} });
  const ctx = { source: 'openstack', secret: 's', messageId: () => '00000000-0000-1000-8000-000000000000' };
  const [s] = sampleMessages(
    ctx,
    meterSamples(meter, prepareCycle(inspection, discovered, undefined, 1)),
    't',
  );
  assert.ok(s);
  const md = s.resource_metadata as PyDict;
  assert.equal(pyJsonDumps(md.parameters ?? null), '{"__proto__": "x", "interfaceid": null, "bridge": null}');
  assert.equal(verifySignature(s, 's'), true);
});
