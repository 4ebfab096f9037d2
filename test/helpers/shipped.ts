// SPDX-License-Identifier: Apache-2.0
/**
 * How the shipped forms start the exporter, for the tests and the benchmark that run it as it ships (the
 * single-file bundle or the compiled build): one place for both.
 */

/**
 * The environment the service unit, the image and the chart give the exporter
 * (packaging/libvirt-exporter.service, Dockerfile, helm/libvirt-exporter): glibc's malloc limited to two
 * arenas (bench/footprint.ts weighs it).
 */
export const SHIPPED_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/**
 * The Node.js options the launchers give the exporter (the SEA configuration of scripts/package.sh, the
 * Dockerfile's ENTRYPOINT, bin/libvirt-exporter.js, scripts/demo.sh): DAEMON_NODE_OPTIONS of src/heap.ts,
 * written out here because importing src/heap.ts sets the daemon's V8 flags in the importing process
 * (test/unit/heap.test.ts checks that they agree).
 */
export const SHIPPED_NODE_ARGS: readonly string[] = ['--single-threaded'];
