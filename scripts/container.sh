#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The build and install steps of the container image, in one place: the Dockerfile runs this script,
# and test/integration/container-image.test.ts runs the Dockerfile's steps (this script included) in
# temporary directories, since no container engine runs in CI.
#
#   sh scripts/container.sh build     build stage: every dependency, then compile src/ into dist/
#   sh scripts/container.sh install   runtime stage: production dependencies only
set -eu
case "${1:-}" in
build)
	npm ci --no-audit --no-fund
	npm run build
	;;
install)
	# NOTE: no lifecycle script of a production dependency is needed; --ignore-scripts keeps a
	# compromised package from running code at build time.
	npm ci --omit=dev --ignore-scripts --no-audit --no-fund
	;;
*)
	echo "usage: container.sh build|install" >&2
	exit 2
	;;
esac
