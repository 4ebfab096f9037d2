#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The container image's steps, in one place: the Dockerfile runs `build`, and
# test/integration/container-image.test.ts runs the Dockerfile's steps (this script included) in
# temporary directories, since no container engine runs in CI.
#
#   sh scripts/container.sh image [TAG]   docker build (CONTAINER_ENGINE=podman for podman) with the
#                                         version from package.json and the revision from git
#   sh scripts/container.sh build-args    the --build-arg flags `image` passes, one per line
#   sh scripts/container.sh build         build stage: every dependency, then the bundle in dist/bundle/
set -eu
build_args() {
	cd "$(dirname "$0")/.."
	echo "--build-arg=VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)"
	echo "--build-arg=REVISION=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
	# The public address of the sources: package.json's repository, else git's origin (no credentials).
	src=$(sed -n 's/^    "url": "\(.*\)"$/\1/p' package.json | head -1)
	[ -n "$src" ] || src=$(git remote get-url origin 2>/dev/null | sed 's#://[^/@]*@#://#' || true)
	echo "--build-arg=SOURCE=$src"
}
case "${1:-}" in
build)
	npm ci --no-audit --no-fund
	node --import tsx scripts/bundle.ts dist/bundle
	;;
build-args)
	build_args
	;;
image)
	engine=${CONTAINER_ENGINE:-docker}
	args=$(build_args)
	cd "$(dirname "$0")/.."
	version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
	# shellcheck disable=SC2086 # one flag per line, no spaces inside
	exec "$engine" build $args -t "${2:-libvirt-exporter:$version}" .
	;;
*)
	echo "usage: container.sh image [TAG] | build-args | build" >&2
	exit 2
	;;
esac
