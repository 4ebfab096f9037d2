// SPDX-License-Identifier: Apache-2.0
/**
 * Records what the lab's libvirtd answers (domain list, bulk stats of every domain, domain XML, host info)
 * into test/fixtures/lab/inspection.json, for unit tests and the golden exposition.
 *   node --import tsx scripts/record-fixtures.ts [OUT [DOMAINS]]
 * DOMAINS is a regular expression of the domain names to record (default: the lab's six core guests).
 */
import { writeFileSync } from 'node:fs';
import { LibvirtClient } from '../src/libvirt/index.ts';
import { listAllStoragePools, storagePoolGetInfo } from '../src/libvirt/pools-and-jobs.ts';

const out = process.argv[2] ?? new URL('../test/fixtures/lab/inspection.json', import.meta.url).pathname;
const client = new LibvirtClient({ readOnly: true });
const signal = AbortSignal.timeout(20_000);
try {
  // The lab's six core guests (extra benchmark guests are left out to keep the fixture small).
  const names = new RegExp(process.argv[3] ?? '^(instance-|lab-plain-)');
  const domains = (await client.listAllDomains(0, { signal })).filter((d) => names.test(d.name));
  // 0 = every stats group libvirt supports; NOWAIT as the exporter does.
  const records = await client.getAllDomainStats({ domains, stats: 0, flags: 1 << 29 }, { signal });
  const xml: Record<string, string> = {};
  for (const d of domains) xml[d.uuid] = await client.domainGetXmlDesc(d, 0, { signal });
  const node = await client.nodeGetInfo({ signal });
  const pools = await Promise.all(
    (await listAllStoragePools(client, 0, { signal })).map(async (p) => {
      const i = await storagePoolGetInfo(client, p, { signal });
      return {
        ...p,
        state: i.state,
        capacity: String(i.capacity),
        allocation: String(i.allocation),
        available: String(i.available),
      };
    }),
  );
  const fixture = {
    recorded: new Date().toISOString(),
    note: 'Recorded from the project lab (test/lab/lab.sh) with scripts/record-fixtures.ts; 64-bit values as strings.',
    host: {
      hostname: 'compute-lab-1',
      libvirtVersion: await client.connectGetLibVersion({ signal }),
      hypervisorVersion: await client.connectGetVersion({ signal }),
      hypervisorType: await client.connectGetType({ signal }),
      node,
    },
    domains,
    stats: records.map((r) => ({
      domain: r.domain,
      params: r.params.map((p) => ({
        field: p.field,
        type: p.type,
        value: typeof p.value === 'bigint' ? p.value.toString() : p.value,
      })),
    })),
    xml,
    pools,
  };
  writeFileSync(out, `${JSON.stringify(fixture, null, 1)}\n`);
  console.log(`recorded ${domains.length} domains into ${out}`);
} finally {
  await client.close();
}
