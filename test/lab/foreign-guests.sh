#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Guests the lab does not own, beside the lab's: what a developer's machine or a compute node holds.
# The test suite runs with them defined so that every test proves it checks the lab's guests and
# tolerates others (one CI run failed when a host had seven such guests). They are cheap no-OS guests.
#
#   foreign-guests.sh up     define and start them (idempotent)
#   foreign-guests.sh down   destroy and undefine them, remove their disks
#   foreign-guests.sh names  their names, one per line
set -euo pipefail

readonly URI=qemu:///system
readonly DIR=${FOREIGN_GUESTS_DIR:-/var/lib/libvirt-exporter-foreign}
# name, uuid, state, whether it carries Nova metadata (of a project the lab never uses)
readonly GUESTS=(
  "dev-vm-nova 22222222-3333-4444-5555-000000000001 running nova"
  "dev-vm-plain 22222222-3333-4444-5555-000000000002 running none"
  "dev-vm-off 22222222-3333-4444-5555-000000000003 shutoff nova"
)

v() { timeout 120 virsh -q -c "$URI" "$@"; }

domain_xml() { # domain_xml NAME UUID METADATA
  local meta=''
  if [ "$3" = nova ]; then
    meta="  <metadata>
    <nova:instance xmlns:nova=\"http://openstack.org/xmlns/libvirt/nova/1.1\">
      <nova:name>someone-elses-$1</nova:name>
      <nova:creationTime>2026-01-02 03:04:05</nova:creationTime>
      <nova:flavor name=\"x1.other\"><nova:memory>64</nova:memory><nova:disk>1</nova:disk><nova:swap>0</nova:swap><nova:ephemeral>0</nova:ephemeral><nova:vcpus>1</nova:vcpus></nova:flavor>
      <nova:owner><nova:user uuid=\"99999999999999999999999999999999\">other</nova:user><nova:project uuid=\"88888888888888888888888888888888\">other-project</nova:project></nova:owner>
    </nova:instance>
  </metadata>"
  fi
  cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>
$meta
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><tcg><tb-cache unit='MiB'>16</tb-cache></tcg></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$DIR/$1.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <memballoon model='virtio'/>
  </devices>
</domain>
EOF
}

up() {
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  local line name uuid state meta
  for line in "${GUESTS[@]}"; do
    read -r name uuid state meta <<<"$line"
    if ! v dominfo "$name" >/dev/null 2>&1; then
      [ -f "$DIR/$name.qcow2" ] || qemu-img create -q -f qcow2 "$DIR/$name.qcow2" 16M
      domain_xml "$name" "$uuid" "$meta" >"$DIR/$name.xml"
      v define "$DIR/$name.xml" >/dev/null
    fi
    if [ "$state" = running ] && [ "$(v domstate "$name")" != running ]; then
      v start "$name" >/dev/null
    fi
  done
  printf 'foreign guests: %s\n' "$(names | tr '\n' ' ')" >&2
}

down() {
  local line name rest
  for line in "${GUESTS[@]}"; do
    read -r name rest <<<"$line"
    v destroy "$name" >/dev/null 2>&1 || true
    v undefine "$name" >/dev/null 2>&1 || true
    rm -f "$DIR/$name.qcow2" "$DIR/$name.xml"
  done
}

names() {
  local line name rest
  for line in "${GUESTS[@]}"; do
    read -r name rest <<<"$line"
    printf '%s\n' "$name"
  done
}

case ${1:-} in
  up) up ;;
  down) down ;;
  names) names ;;
  *)
    echo "usage: $0 up|down|names" >&2
    exit 2
    ;;
esac
