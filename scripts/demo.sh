#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Quick start: install dependencies, bring up the lab (a real libvirtd with QEMU guests; it reuses a
# libvirtd that already runs), then run the exporter on :9177 in the foreground.
#   npm run demo                 lab guests + exporter
#   LAB=0 npm run demo           use the local libvirt as it is, no lab guests
set -eu
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
if [ "${LAB:-1}" != 0 ]; then
  bash test/lab/lab.sh up
fi
exec node --import tsx src/main.ts "$@"
