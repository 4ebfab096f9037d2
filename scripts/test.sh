#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The whole test suite: the lab first (a real libvirtd with QEMU guests; it also installs the Debian
# packages the tests use: promtool and Prometheus, RabbitMQ, openssl, rpm), then typecheck, lint, the
# unit tests and the integration tests against the real components. Everything runs on the project's
# supported Node.js (scripts/node.sh fetches it into .tools/ the first time), whatever `node` the
# machine has: the tests, and every exporter, bundle and package they start.
#   sh scripts/test.sh               everything (what `npm test` and CI run; root on Debian 12)
#   sh scripts/test.sh unit          static checks and unit tests only (no lab; needs promtool)
#   sh scripts/test.sh integration   integration tests only
#   sh scripts/test.sh reliability   only the fault and load runs (libvirtd killed and frozen under
#                                    10 scrapes/s, guest churn, hung guest, broker outage, blocked broker,
#                                    cluster failover, 50 concurrent
#                                    scrapers), then docs/reliability.md rendered from their results
set -eu
cd "$(dirname "$0")/.."
mode=${1:-all}
PATH="$(sh scripts/node.sh):$PATH"
export PATH
[ -d node_modules ] || npm ci --no-audit --no-fund

# NOTE: node --test counts zero tests when given a directory, so the file lists are built here (sorted,
# so that runs are reproducible: package.test.ts builds dist/pkg/ before single-executable.test.ts).
list() { find "$@" -name '*.test.ts' 2>/dev/null | sort; }
# The fault and load runs (part of every integration run; timing-strict, so not beside a benchmark).
RELIABILITY='test/integration/faults.test.ts test/integration/broker-outage.test.ts test/integration/broker-blocked.test.ts test/integration/broker-failover.test.ts test/integration/load.test.ts'

if [ "$mode" = all ] || [ "$mode" = integration ] || [ "$mode" = reliability ]; then
  bash test/lab/lab.sh up
  # Guests the lab does not own run beside it, as on any developer's host or compute node: every test
  # must judge the lab's guests and tolerate others. Removed again however the run ends.
  bash test/lab/foreign-guests.sh up
  trap 'bash test/lab/foreign-guests.sh down' EXIT
fi

if [ "$mode" = all ] || [ "$mode" = unit ]; then
  npm run --silent typecheck
  npm run --silent lint
  # shellcheck disable=SC2046
  node --import tsx --test --test-reporter=spec $(list test/unit)
fi

if [ "$mode" = all ] || [ "$mode" = integration ]; then
  # Integration tests share one libvirtd (and some of them restart it): one file at a time.
  # shellcheck disable=SC2046
  node --import tsx --test --test-concurrency=1 --test-reporter=spec $(list test/integration)
  node --import tsx test/tools/reliability-report.ts
fi

if [ "$mode" = reliability ]; then
  # shellcheck disable=SC2086
  node --import tsx --test --test-concurrency=1 --test-reporter=spec $RELIABILITY
  node --import tsx test/tools/reliability-report.ts
fi
