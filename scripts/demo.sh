#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Quick start: the exporter on :9177 in the foreground, on the project's Node.js (scripts/node.sh),
# over the lab's guests when this machine has no libvirt of its own.
#
#   npm run demo [-- FLAGS]      exporter flags after `--` (npm run demo -- --help lists them)
#   LAB=0 npm run demo           never bring up the lab: serve the local libvirt as it is
#
# Safe on a real compute node: the lab (test/lab/lab.sh, a libvirtd with six QEMU test guests) is
# brought up only when no libvirt daemon runs here, or when the one that runs is the lab's own. A
# libvirtd the lab did not start (production, systemd, socket-activated, another tool's) is served as
# it is: the demo never defines guests in it, never writes its configuration, never restarts it.
set -eu
cd "$(dirname "$0")/.."

for a in "$@"; do
	case $a in
	-h | --help | --version | --config.check)
		# Answers without the lab or even libvirt.
		PATH="$(sh scripts/node.sh):$PATH"
		[ -d node_modules ] || npm ci --no-audit --no-fund >&2
		if [ "$a" = -h ] || [ "$a" = --help ]; then
			sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'
			echo
		fi
		exec node --import tsx src/main.ts "$@"
		;;
	esac
done

state=${LAB_STATE_DIR:-/var/lib/libvirt-exporter-lab}
say() { printf 'demo: %s\n' "$*" >&2; }

# The libvirt daemons of this machine (monolithic, modular, proxy), by exact process name.
daemons=$(pgrep -x 'libvirtd|virtqemud|virtproxyd' 2>/dev/null | tr '\n' ' ' | sed 's/ $//' || true)
lab_pid=$(cat "$state/daemons/libvirtd.pid" 2>/dev/null | tr -dc '0-9' || true)
owner=$(cat "$state/daemons/libvirtd.owner" 2>/dev/null || true)
foreign_guests=''
for f in /etc/libvirt/qemu/*.xml; do
	[ -e "$f" ] || continue
	n=$(basename "$f" .xml)
	[ -e "$state/xml/$n.xml" ] || foreign_guests="$foreign_guests $n"
done

lab=0
if [ "${LAB:-1}" = 0 ]; then
	say "LAB=0: serving the local libvirt as it is"
elif [ -n "$daemons" ]; then
	if [ "$owner" = lab ] && [ "$daemons" = "$lab_pid" ]; then
		lab=1
	else
		say "a libvirt daemon the lab did not start runs here (pid $daemons): serving it as it is, without lab guests"
	fi
elif [ -n "$owner" ] && [ "$owner" != lab ]; then
	say "this machine's own libvirtd is stopped (the lab found it running before): not starting it; serving libvirt_up 0 until it runs"
elif [ -S /run/libvirt/libvirt-sock ] && [ "$owner" != lab ]; then
	say "libvirt here is socket-activated (/run/libvirt/libvirt-sock, not the lab's): serving it as it is, without lab guests"
elif [ -n "$foreign_guests" ]; then
	say "libvirtd is stopped and has guests the lab did not define (${foreign_guests# }): not starting it; serving libvirt_up 0 until it runs"
else
	lab=1
fi

[ "$lab" = 1 ] && bash test/lab/lab.sh up
PATH="$(sh scripts/node.sh):$PATH"
[ -d node_modules ] || npm ci --no-audit --no-fund >&2
# --single-threaded: the launchers' Node.js option (DAEMON_NODE_OPTIONS of src/heap.ts).
exec node --single-threaded --import tsx src/main.ts "$@"
