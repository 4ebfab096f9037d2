#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The project's test lab: a real libvirtd with QEMU (TCG) guests on a Debian 12 machine without
# systemd, run as root. Integration tests, benchmarks and fault tests use it; CI and new developers
# start from a fresh machine, so this script installs what it needs, and it is idempotent: a second
# `up` only checks. It stops and removes only what it started or created. See test/lab/README.md.
#
#   lab.sh up [--extra N [--running-extra R]]
#                           install if needed, start daemons, create guests, wait until ready;
#                           extras above R are kept paused (they cost no CPU)
#   lab.sh down             remove the lab's guests; stop the daemons it started
#   lab.sh status           daemons and guests (exit 1 when the lab is not ready)
#   lab.sh env              shell exports for tests (eval "$(lab.sh env)")
#   lab.sh libvirtd-kill | libvirtd-start | libvirtd-pid | libvirtd-hang | libvirtd-resume
#   lab.sh guest-pid NAME | guest-hang NAME | guest-resume NAME
set -euo pipefail
shopt -s nullglob inherit_errexit

readonly LAB_URI=qemu:///system
readonly RO_SOCKET=/var/run/libvirt/libvirt-sock-ro
readonly RW_SOCKET=/var/run/libvirt/libvirt-sock
readonly STATE=${LAB_STATE_DIR:-/var/lib/libvirt-exporter-lab}
readonly QEMU_CONF=/etc/libvirt/qemu.conf
readonly QEMU_CONF_MARKER='# libvirt-exporter-lab: managed by test/lab/lab.sh (delete this line to keep your own edits)'
readonly LIBVIRTD_PIDFILE=/run/libvirtd.pid
readonly VIRTLOGD_PIDFILE=/run/virtlogd.pid
readonly MAX_EXTRA=200
# Debian packages: libvirt + QEMU, the tiny guest's kernel and busybox, and the other real components
# that integration tests use (promtool, RabbitMQ; the lab does not start RabbitMQ; rpmbuild and
# systemd-analyze for the package test).
readonly PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  linux-image-amd64 busybox-static cpio kmod iproute2 procps prometheus rabbitmq-server unzip openssl curl
  rpm systemd qemu-guest-agent)

# Guests, in start order. Tiny guests boot a real kernel (about 5 CPU-seconds each under TCG), so
# they are started apart from each other with the cheap no-OS guests in between.
readonly TINY_GUESTS=(instance-00000001 instance-00000002)
readonly CORE_GUESTS=(instance-00000001 instance-00000003 instance-00000004 instance-00000005 lab-plain-1
  instance-00000002)

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# virsh with a deadline: a test may have stopped libvirtd (SIGSTOP) and the lab must not hang forever.
vrw() { timeout 120 virsh -q -c "$LAB_URI" "$@"; }
vro() { timeout 120 virsh -q -r -c "$LAB_URI" "$@"; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (libvirtd, QEMU and apt need it)"; }

# Serialize the commands that change the lab: several test runs may call `up` at the same time.
# fd 9 is closed for every daemon started below, or the daemon would hold the lock forever.
take_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock -w 900 9 || die "timed out waiting for $STATE/lock"
}

# ---------------------------------------------------------------------------------------------
# Installation
# ---------------------------------------------------------------------------------------------

missing_packages() {
  local -A ok=()
  local p st
  # One dpkg-query for all packages (unknown ones are reported on stderr and skipped).
  while read -r p st; do
    [ "$st" = ii ] && ok[${p%%:*}]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
  for p in "${PACKAGES[@]}"; do
    [ -n "${ok[$p]:-}" ] || printf '%s\n' "$p"
  done
}

install_packages() {
  local missing t0 policy_added=0
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] && return 0
  t0=$(now)
  log "installing ${missing[*]}"
  # Package scripts must not start services (RabbitMQ would take port 5672): Debian's invoke-rc.d
  # obeys policy-rc.d, so add a deny-all one for the duration if the machine has none.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, test/lab/lab.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local rc=0 try
  # `update` fails at once when another apt holds the lists lock: retry it for a while.
  for try in 1 2 3 4 5 6; do
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >&2 9>&- || rc=$?
    [ "$rc" = 0 ] && break
    log "apt-get update failed (try $try); retrying in 10 s"
    sleep 10
  done
  [ "$rc" = 0 ] &&
    { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
      --no-install-recommends "${missing[@]}" >&2 9>&- || rc=$?; }
  if [ "$policy_added" = 1 ]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
  [ "$rc" = 0 ] || die "apt-get failed (rc $rc)"
  log "installed in $(elapsed "$t0") s"
}

# The QEMU driver resolves its compiled-in user before reading qemu.conf and refuses to load when
# `libvirt-qemu` does not exist (the package that creates it, libvirt-daemon-system, needs systemd).
ensure_users_and_dirs() {
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
  getent passwd libvirt-qemu >/dev/null ||
    useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin \
      -g libvirt-qemu libvirt-qemu
  mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt /etc/libvirt
  mkdir -p "$STATE"/{daemons,disks,xml,logs,tiny}
  # QEMU runs as root here, but keep the tree traversable in case qemu.conf is not ours.
  chmod 755 "$STATE" "$STATE"/{disks,logs,tiny}
}

qemu_conf_text() {
  cat <<EOF
$QEMU_CONF_MARKER
# QEMU runs as root without a security driver or cgroups: this machine has no systemd, no
# AppArmor/SELinux setup and no cgroup delegation. Test machines only.
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
remember_owner = 0
EOF
}

# Prints "changed" when it rewrote the file.
write_qemu_conf() {
  local want
  want=$(qemu_conf_text)
  if [ -e "$QEMU_CONF" ]; then
    if ! grep -qxF "$QEMU_CONF_MARKER" "$QEMU_CONF"; then
      log "keeping $QEMU_CONF (not written by the lab); guests may fail if it does not run QEMU as root"
      return 0
    fi
    [ "$(cat "$QEMU_CONF")" = "$want" ] && return 0
  fi
  printf '%s\n' "$want" >"$QEMU_CONF.lab-tmp"
  mv -f "$QEMU_CONF.lab-tmp" "$QEMU_CONF"
  log "wrote $QEMU_CONF"
  echo changed
}

# ---------------------------------------------------------------------------------------------
# Daemons
# ---------------------------------------------------------------------------------------------

# A pid is alive when /proc has it and it is not a zombie (PID 1 here may not reap promptly).
pid_alive() {
  local pid=$1 st
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid_of NAME PIDFILE: the running daemon's pid, from its pid file, else by exact process name.
pid_of() {
  local name=$1 pidfile=$2 pid=''
  [ -r "$pidfile" ] && pid=$(tr -dc '0-9' <"$pidfile")
  if [ -n "$pid" ] && pid_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    echo "$pid"
    return 0
  fi
  for pid in $(pgrep -x "$name" || true); do
    if pid_alive "$pid"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

libvirtd_pid() { pid_of libvirtd "$LIBVIRTD_PIDFILE"; }
virtlogd_pid() { pid_of virtlogd "$VIRTLOGD_PIDFILE"; }

wait_pid_gone() {
  local pid=$1 secs=$2 i
  for ((i = 0; i < secs * 20; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.05
  done
  return 1
}

start_virtlogd() {
  local pid i
  if pid=$(virtlogd_pid); then
    [ -e "$STATE/daemons/virtlogd.owner" ] || echo preexisting >"$STATE/daemons/virtlogd.owner"
    return 0
  fi
  virtlogd -d </dev/null >>"$STATE/logs/virtlogd.out" 2>&1 9>&-
  for ((i = 0; i < 200; i++)); do
    if pid=$(virtlogd_pid) && [ -S /var/run/libvirt/virtlogd-sock ]; then break; fi
    sleep 0.05
  done
  pid=$(virtlogd_pid) || die "virtlogd did not start (see $STATE/logs/virtlogd.out)"
  echo lab >"$STATE/daemons/virtlogd.owner"
  echo "$pid" >"$STATE/daemons/virtlogd.pid"
  log "started virtlogd (pid $pid)"
}

# The way to start libvirtd: its own recorded command line when it was running before the lab
# (so that `libvirtd-start` after a kill brings back the same daemon), else `libvirtd -d`.
launch_libvirtd() {
  local -a argv=(libvirtd -d)
  if [ -s "$STATE/daemons/libvirtd.argv" ]; then
    mapfile -d '' -t argv <"$STATE/daemons/libvirtd.argv"
  fi
  local daemonizes=0 a
  for a in "${argv[@]}"; do
    case $a in -d | --daemon) daemonizes=1 ;; esac
  done
  if [ "$daemonizes" = 1 ]; then
    "${argv[@]}" </dev/null >>"$STATE/logs/libvirtd.out" 2>&1 9>&-
  else
    setsid "${argv[@]}" </dev/null >>"$STATE/logs/libvirtd.out" 2>&1 9>&- &
  fi
}

wait_libvirtd_ready() {
  local i pid
  for ((i = 0; i < 600; i++)); do
    if pid=$(libvirtd_pid) && [ -S "$RW_SOCKET" ] && [ -S "$RO_SOCKET" ] &&
      timeout 5 virsh -q -r -c "$LAB_URI" list >/dev/null 2>&1; then
      echo "$pid"
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# Starts libvirtd unless it runs. Ownership ("lab" or "preexisting") is decided once, the first
# time the lab sees libvirtd, and survives kill/start cycles.
start_libvirtd() {
  local pid t0
  if pid=$(libvirtd_pid); then
    if [ ! -e "$STATE/daemons/libvirtd.owner" ]; then
      echo preexisting >"$STATE/daemons/libvirtd.owner"
      cat "/proc/$pid/cmdline" >"$STATE/daemons/libvirtd.argv"
      log "using the libvirtd that was already running (pid $pid); the lab will not stop it"
    fi
    echo "$pid" >"$STATE/daemons/libvirtd.pid"
    return 0
  fi
  [ -e "$STATE/daemons/libvirtd.owner" ] || echo lab >"$STATE/daemons/libvirtd.owner"
  t0=$(now)
  launch_libvirtd
  pid=$(wait_libvirtd_ready) || die "libvirtd did not become ready (see /var/log/libvirt/libvirtd.log and $STATE/logs/libvirtd.out)"
  echo "$pid" >"$STATE/daemons/libvirtd.pid"
  log "started libvirtd (pid $pid) in $(elapsed "$t0") s"
}

# SIGTERM, then SIGKILL after a grace period; only ever called with a pid the lab started.
stop_pid() {
  local pid=$1 what=$2 t0
  pid_alive "$pid" || return 0
  t0=$(now)
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" 15; then
    log "$what (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || die "$what (pid $pid) does not exit"
  fi
  log "stopped $what (pid $pid) in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------------------------------------
# The tiny guest: Debian's kernel + a busybox initramfs whose /init keeps disk, network and memory busy
# ---------------------------------------------------------------------------------------------

tiny_init_script() {
  cat <<'INIT'
#!/bin/sh
# /init of the libvirt-exporter lab's tiny guest (generated by test/lab/lab.sh). Loops over disk,
# network and memory work so that libvirt's block, interface and balloon statistics move.
# Kernel options: tiny_sleep=S (pause per round, 2), tiny_swap=MiB (swap partition, 16; 0 = none),
# tiny_ip=A.B.C.D/N + tiny_peer=A.B.C.D (IPv4 on eth0), tiny_shell=1 (shell on ttyS0),
# tiny_host=NAME (hostname), tiny_fs=DEV (an ext2 filesystem on /dev/DEV mounted at /data; its I/O
# goes through a file there instead of the raw device). qemu-ga runs when the guest has its channel.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

say() { echo "tiny: $*"; }
rnd() { # rnd N: a random number in [0, N)
  set -- "$1" "$(od -An -N4 -tu4 /dev/urandom)"
  [ "$1" -gt 0 ] || { echo 0; return; }
  echo $(($2 % $1))
}

sleep_s=2 swap_mb=16 ip4='' peer4='' shell=0 host=tiny fsdev=''
for arg in $(cat /proc/cmdline); do
  case $arg in
    tiny_sleep=*) sleep_s=${arg#*=} ;;
    tiny_swap=*) swap_mb=${arg#*=} ;;
    tiny_ip=*) ip4=${arg#*=} ;;
    tiny_peer=*) peer4=${arg#*=} ;;
    tiny_shell=1) shell=1 ;;
    tiny_host=*) host=${arg#*=} ;;
    tiny_fs=*) fsdev=${arg#*=} ;;
  esac
done

while read -r m; do insmod "/lib/modules/$m" || say "insmod $m failed"; done </lib/modules/order
# The initramfs stays in RAM: loaded modules are not needed any more.
rm -rf /lib/modules
hostname "$host"

# The QEMU guest agent, on the virtio-serial port named org.qemu.guest_agent.0 (no udev here, so
# the port is found by its name in sysfs). Never the OOM killer's choice: the loop below swaps.
ga_port=''
i=0
while [ "$i" -lt 40 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] && ga_port=/dev/${p##*/}
  done
  [ -n "$ga_port" ] && [ -c "$ga_port" ] && break
  [ -d /sys/class/virtio-ports ] || break
  i=$((i + 1))
  usleep 50000
done
if [ -n "$ga_port" ] && [ -x /usr/sbin/qemu-ga ]; then
  LD_LIBRARY_PATH=/lib/x86_64-linux-gnu /usr/sbin/qemu-ga -m virtio-serial -p "$ga_port" -t /run \
    -f /run/qemu-ga.pid </dev/null >/dev/null 2>&1 &
  echo -1000 >"/proc/$!/oom_score_adj"
  say "qemu-ga on $ga_port"
fi
i=0
while [ ! -b /dev/vda ] || [ ! -e /sys/class/net/eth0 ]; do
  i=$((i + 1))
  [ "$i" -gt 200 ] && { say "no vda or eth0 after 10 s"; break; }
  usleep 50000
done

# The first IPv6 ping fails while the link-local address is tentative: skip duplicate detection.
ifaces=''
for d in /sys/class/net/eth*; do
  [ -e "$d" ] || continue
  n=${d##*/}
  echo 0 >"/proc/sys/net/ipv6/conf/$n/accept_dad"
  ip link set "$n" up
  ifaces="$ifaces $n"
done
ip link set lo up
[ -n "$ip4" ] && ip addr add "$ip4" dev eth0

# Swap and I/O cannot share a device (writes to a device with active swap fail with ETXTBSY):
# vda1 = swap, vda2 = I/O. busybox fdisk's default end follows a fake geometry: explicit sectors.
data=/dev/vda
if [ "$swap_mb" -gt 0 ]; then
  if [ ! -b /dev/vda2 ]; then
    total=$(cat /sys/class/block/vda/size)
    s1=2048
    e1=$((s1 + swap_mb * 2048 - 1))
    printf 'o\nn\np\n1\n%s\n%s\nt\n82\nn\np\n2\n%s\n%s\nw\n' "$s1" "$e1" "$((e1 + 1))" "$((total - 1))" |
      fdisk -u /dev/vda >/dev/null 2>&1
    i=0
    while [ ! -b /dev/vda2 ] && [ "$i" -lt 100 ]; do i=$((i + 1)); usleep 20000; done
  fi
  if [ -b /dev/vda2 ]; then
    mkswap /dev/vda1 >/dev/null && swapon /dev/vda1
    data=/dev/vda2
  else
    say "partitioning failed; I/O on vda, no swap"
  fi
fi
blocks=$(($(cat "/sys/class/block/${data#/dev/}/size") / 8))
extra=''
xblocks=0
if [ -n "$fsdev" ] && [ -b "/dev/$fsdev" ]; then
  # A real filesystem for the guest agent's fs info: made once on a blank disk, then reused.
  mkdir -p /data
  if ! mount -t ext2 "/dev/$fsdev" /data 2>/dev/null; then
    mke2fs -F -L labdata "/dev/$fsdev" >/dev/null 2>&1 && mount -t ext2 "/dev/$fsdev" /data
  fi
  if grep -q " /data ext2 " /proc/mounts; then
    [ "$({ wc -c </data/blob; } 2>/dev/null)" = 4194304 ] ||
      dd if=/dev/zero of=/data/blob bs=1M count=4 conv=fsync 2>/dev/null
    extra=/data/blob
    xblocks=1024
  else
    say "no filesystem on /dev/$fsdev"
  fi
elif [ -b /dev/vdb ]; then
  extra=/dev/vdb
  xblocks=$(($(cat /sys/class/block/vdb/size) / 8))
fi

if [ "$shell" = 1 ]; then
  setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1' &
fi

say "loop: data=$data blocks=$blocks extra=${extra:-none} ifaces=$ifaces sleep=$sleep_s"
round=0
while :; do
  round=$((round + 1))
  # Reads: direct I/O always reaches the device; every 3rd round goes through the page cache.
  n=$(($(rnd 32) + 1))
  off=$(rnd $((blocks - n)))
  if [ $((round % 3)) -eq 0 ]; then
    dd if="$data" of=/dev/null bs=4k count="$n" skip="$off" 2>/dev/null
  else
    dd if="$data" of=/dev/null bs=4k count="$n" skip="$off" iflag=direct 2>/dev/null
  fi
  # Writes with fsync: write and flush requests.
  n=$(($(rnd 8) + 1))
  off=$(rnd $((blocks - n)))
  dd if=/dev/urandom of="$data" bs=4k count="$n" seek="$off" oflag=direct conv=fsync,notrunc 2>/dev/null
  if [ -n "$extra" ] && [ $((round % 2)) -eq 0 ]; then
    n=$(($(rnd 4) + 1))
    dd if="$extra" of=/dev/null bs=4k count="$n" skip="$(rnd $((xblocks - n)))" iflag=direct 2>/dev/null
    dd if=/dev/urandom of="$extra" bs=4k count=1 seek="$(rnd $((xblocks - 1)))" oflag=direct conv=fsync,notrunc 2>/dev/null
  fi
  # Network: the host's tap answers multicast echo on its link-local address, no host setup needed.
  for n in $ifaces; do ping -6 -c 2 -W 1 -I "$n" ff02::1 >/dev/null 2>&1; done
  [ -n "$peer4" ] && ping -c 2 -W 1 "$peer4" >/dev/null 2>&1
  # Memory: hold anonymous memory across the pause (balloon stats are 5 s snapshots); every 10th
  # round ask for more than is available, which pushes pages to swap.
  avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
  if [ $((round % 10)) -eq 0 ]; then
    mb=$((avail + 4))
  else
    mb=$(($(rnd $((avail / 2))) + 1))
  fi
  dd if=/dev/zero bs="${mb}M" count=1 2>/dev/null | sleep "$sleep_s"
  [ $((round % 100)) -eq 1 ] && say "round $round"
done
INIT
}

tiny_kver() {
  local k best=''
  for k in /boot/vmlinuz-*; do
    k=${k#/boot/vmlinuz-}
    [ -d "/lib/modules/$k" ] || continue
    best=$(printf '%s\n%s\n' "$best" "$k" | sed '/^$/d' | sort -V | tail -1)
  done
  [ -n "$best" ] || die "no kernel in /boot with modules in /lib/modules (is linux-image-amd64 installed?)"
  echo "$best"
}

# virtio_console for the guest agent's channel, ext4 (which mounts ext2) for the data filesystem;
# crc32c-intel needs SSE 4.2, which TCG's CPU lacks (crc32c_generic does the work).
tiny_modules() {
  modprobe -S "$1" --show-depends -a virtio_pci virtio_blk virtio_net virtio_balloon virtio_console ext4 |
    awk '$1 == "insmod" { print $2 }' | grep -v '/crc32c-intel\.ko$' | awk '!seen[$0]++'
}

# qemu-ga and the shared libraries it needs (ldd of the host's binary), as "SOURCE DEST" lines.
tiny_agent_files() {
  local ga=/usr/sbin/qemu-ga lib
  [ -x "$ga" ] || die "$ga missing (is qemu-guest-agent installed?)"
  echo "$ga /usr/sbin/qemu-ga"
  ldd "$ga" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' | sort -u |
    while read -r lib; do
      case $lib in
        */ld-linux*) echo "$(readlink -f "$lib") /lib64/${lib##*/}" ;;
        *) echo "$(readlink -f "$lib") /lib/x86_64-linux-gnu/${lib##*/}" ;;
      esac
    done
}

tiny_os_release() {
  printf 'NAME="libvirt-exporter lab tiny guest"\nID=labtiny\nVERSION_ID=1\nVERSION="1 (busybox)"\nPRETTY_NAME="Lab tiny guest 1"\n'
}

# Builds $STATE/tiny/{vmlinuz,initrd.img} when its inputs changed. The archive is byte-reproducible
# (sorted names, mtimes 0, owner 0:0, renumbered inodes, gzip -n).
build_tiny() {
  local kver key tmp root m t0
  kver=$(tiny_kver)
  local -a mods
  mapfile -t mods < <(tiny_modules "$kver")
  [ "${#mods[@]}" -ge 4 ] || die "modprobe found no virtio modules for $kver"
  local -a agent
  mapfile -t agent < <(tiny_agent_files)
  key=$({
    echo "kver=$kver"
    sha256sum "/boot/vmlinuz-$kver" /bin/busybox "${mods[@]}" ${agent[@]%% *}
    printf '%s\n' "${agent[@]}"
    tiny_init_script
    tiny_os_release
  } | sha256sum | cut -d' ' -f1)
  if [ -s "$STATE/tiny/vmlinuz" ] && [ -s "$STATE/tiny/initrd.img" ] &&
    [ "$(cat "$STATE/tiny/key" 2>/dev/null)" = "$key" ]; then
    return 0
  fi
  t0=$(now)
  tmp=$(mktemp -d "$STATE/tiny/build.XXXXXX")
  root=$tmp/root
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,lib/modules,lib/x86_64-linux-gnu,lib64}
  mkdir -p "$root/var"
  ln -s ../run "$root/var/run"
  cp /bin/busybox "$root/bin/busybox"
  for m in sh mount insmod; do ln -s busybox "$root/bin/$m"; done
  mknod -m 600 "$root/dev/console" c 5 1
  for m in "${mods[@]}"; do
    case $m in *.ko) ;; *) die "compressed module $m: this script expects Debian 12's uncompressed modules" ;; esac
    cp "$m" "$root/lib/modules/"
    basename "$m" >>"$root/lib/modules/order"
  done
  local src dst
  for m in "${agent[@]}"; do
    src=${m%% *} dst=${m#* }
    cp "$src" "$root$dst"
  done
  tiny_os_release >"$root/etc/os-release"
  tiny_init_script >"$root/init"
  chmod 755 "$root/init"
  chmod 1777 "$root/tmp"
  find "$root" -exec touch -h -d @0 {} +
  (cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc -R 0:0 --reproducible --quiet | gzip -9n) >"$tmp/initrd.img"
  cp "/boot/vmlinuz-$kver" "$tmp/vmlinuz"
  chmod 644 "$tmp/vmlinuz" "$tmp/initrd.img"
  # Renames: a running guest keeps what it booted from; the next start uses the new files.
  mv -f "$tmp/vmlinuz" "$STATE/tiny/vmlinuz"
  mv -f "$tmp/initrd.img" "$STATE/tiny/initrd.img"
  echo "$key" >"$STATE/tiny/key"
  rm -rf "$tmp"
  log "built tiny guest (kernel $kver, initrd $(stat -c %s "$STATE/tiny/initrd.img") B) in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------------------------------------
# Guest definitions
# ---------------------------------------------------------------------------------------------

# Keystone ids (32 hex digits, as Nova writes them) and other fixed identities.
readonly PROJ_DEMO=6b1f0e8c3a5d4e2f9c7b1a0d2e4f6a8b USER_DEMO=2c4e6a8b0d1f43e5a7c9b1d3f5e7a9c1
readonly PROJ_ANALYTICS=9e8d7c6b5a4f43e2d1c0b9a8f7e6d5c4 USER_ANALYST=5a6b7c8d9e0f41a2b3c4d5e6f7a8b9c0
readonly PROJ_CI=0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5 USER_CI=f0e1d2c3b4a5469788796a5b4c3d2e1f
readonly IMAGE_CIRROS=c0ffee00-1d2e-4f3a-8b5c-6d7e8f901234 IMAGE_DEBIAN=deb12000-aaaa-4bbb-8ccc-ddddeeee0012

# The lab's expected state for a guest: running, paused or shutoff.
# How many extra guests run when `up --running-extra R` says so (empty: all of them). A no-OS guest
# costs about 2 % of a core under TCG; past about 100 of them a 2-core machine is saturated and
# libvirtd's stats calls take minutes (measured 2026-12-04: 200 running, load average 110,
# `virsh domstats --cpu-total` 7 min). Paused guests answer the same stats groups and cost no CPU.
RUNNING_EXTRA=''

want_state() {
  case $1 in
    instance-00000004) echo paused ;;
    instance-00000005) echo shutoff ;;
    lab-extra-[0-9][0-9][0-9])
      if [ -n "$RUNNING_EXTRA" ] && [ $((10#${1#lab-extra-})) -gt "$RUNNING_EXTRA" ]; then echo paused; else echo running; fi ;;
    *) echo running ;;
  esac
}

is_tiny() { [ "$1" = instance-00000001 ] || [ "$1" = instance-00000002 ]; }

dom_head() { # dom_head NAME UUID VCPUS METADATA
  cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>
EOF
  if [ -n "$4" ]; then
    printf '  <metadata>\n%s\n  </metadata>\n' "$4"
  fi
  cat <<EOF
  <memory unit='MiB'>128</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu placement='static'>$3</vcpu>
EOF
}

# QEMU's TCG translation cache defaults to 1 GiB and grows; 32 MiB saves ~22 MiB RSS per guest.
dom_features() {
  printf "  <features><tcg><tb-cache unit='MiB'>32</tb-cache></tcg></features>\n"
  printf "  <clock offset='utc'/>\n"
  printf "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n"
}

disk_xml() { # disk_xml FILE DEV
  printf "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='%s' bus='virtio'/></disk>\n" "$1" "$2"
}

nic_xml() { # nic_xml MAC TAP
  printf "    <interface type='ethernet'><mac address='%s'/><target dev='%s'/><model type='virtio'/></interface>\n" "$1" "$2"
}

# The QEMU guest agent's virtio-serial channel (libvirt picks the host-side socket path).
agent_channel_xml() {
  printf "    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n"
}

balloon_xml() {
  printf "    <memballoon model='virtio'><stats period='5'/></memballoon>\n"
}

# A guest with no OS: SeaBIOS finds no bootable disk and idles (~0.6 % of a core, ~46 MiB RSS).
noos_os() {
  printf "  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>\n"
}

tiny_os() { # tiny_os EXTRA_CMDLINE
  cat <<EOF
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$STATE/tiny/vmlinuz</kernel>
    <initrd>$STATE/tiny/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet acpi=off panic=-1 tiny_swap=16${1:+ $1}</cmdline>
  </os>
EOF
}

serial_xml() { # serial_xml NAME
  cat <<EOF
    <serial type='pty'><log file='$STATE/logs/$1.console.log' append='off'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
EOF
}

nova_meta() { # nova_meta NS NAME CREATED FLAVOR_OPEN_TAG VCPUS USER USER_ID PROJECT PROJECT_ID IMAGE [FLAVOR_EXTRA [PORTS]]
  cat <<EOF
    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/$1">
      <nova:package version="27.1.0"/>
      <nova:name>$2</nova:name>
      <nova:creationTime>$3</nova:creationTime>
      $4
        <nova:memory>128</nova:memory>
        <nova:disk>1</nova:disk>
        <nova:swap>0</nova:swap>
        <nova:ephemeral>0</nova:ephemeral>
        <nova:vcpus>$5</nova:vcpus>${11:-}
      </nova:flavor>
      <nova:owner>
        <nova:user uuid="$7">$6</nova:user>
        <nova:project uuid="$9">$8</nova:project>
      </nova:owner>
      <nova:root type="image" uuid="${10}"/>${12:-}
    </nova:instance>
EOF
}

guest_xml() {
  local name=$1 d=$STATE/disks meta
  case $name in
    instance-00000001)
      meta=$(nova_meta 1.1 web-1 '2025-03-14 09:26:53' '<nova:flavor name="m1.tiny">' 1 \
        demo "$USER_DEMO" demo "$PROJ_DEMO" "$IMAGE_CIRROS" '' '
      <nova:ports>
        <nova:port uuid="a0000001-0000-4000-8000-000000000001">
          <nova:ip type="fixed" address="10.0.0.11" ipVersion="4"/>
        </nova:port>
      </nova:ports>')
      dom_head "$name" 11111111-2222-3333-4444-555555555501 1 "$meta"
      tiny_os 'tiny_host=web-1'
      dom_features
      echo "  <devices>"
      echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
      disk_xml "$d/$name.qcow2" vda
      nic_xml 52:54:00:71:00:01 tap-tiny1
      serial_xml "$name"
      agent_channel_xml
      balloon_xml
      echo "  </devices>"
      ;;
    instance-00000002)
      # Nova 2025.2 style: flavor id attribute and extra specs, image details.
      meta=$(nova_meta 1.1 db-1 '2025-11-02 17:04:11' '<nova:flavor name="m1.small.2c" id="b7e3c1d2-4f5a-4b6c-9d8e-0f1a2b3c4d5e">' 2 \
        analyst "$USER_ANALYST" analytics "$PROJ_ANALYTICS" "$IMAGE_DEBIAN" '
        <nova:extraSpecs>
          <nova:extraSpec name="hw:cpu_policy">shared</nova:extraSpec>
          <nova:extraSpec name="hw_rng:allowed">True</nova:extraSpec>
          <nova:extraSpec name="quota:disk_read_iops_sec">500</nova:extraSpec>
        </nova:extraSpecs>' '
      <nova:image uuid="'"$IMAGE_DEBIAN"'">
        <nova:containerFormat>bare</nova:containerFormat>
        <nova:diskFormat>qcow2</nova:diskFormat>
        <nova:minDisk>1</nova:minDisk>
        <nova:minRam>128</nova:minRam>
        <nova:properties>
          <nova:property name="hw_disk_bus">virtio</nova:property>
          <nova:property name="os_distro">debian</nova:property>
        </nova:properties>
      </nova:image>
      <nova:ports>
        <nova:port uuid="a0000002-0000-4000-8000-000000000001">
          <nova:ip type="fixed" address="10.0.1.21" ipVersion="4"/>
        </nova:port>
        <nova:port uuid="a0000002-0000-4000-8000-000000000002">
          <nova:ip type="fixed" address="10.0.2.21" ipVersion="4"/>
        </nova:port>
      </nova:ports>')
      dom_head "$name" 11111111-2222-3333-4444-555555555502 2 "$meta"
      tiny_os 'tiny_host=db-1 tiny_fs=vdb'
      dom_features
      echo "  <devices>"
      echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
      disk_xml "$d/$name.qcow2" vda
      disk_xml "$d/$name-vdb.qcow2" vdb
      nic_xml 52:54:00:71:00:02 tap-tiny2
      nic_xml 52:54:00:71:00:12 tap-tiny2b
      serial_xml "$name"
      agent_channel_xml
      balloon_xml
      echo "  </devices>"
      ;;
    instance-00000003)
      # The older namespace (Nova before Queens-era metadata 1.1).
      meta=$(nova_meta 1.0 batch-1 '2023-06-01 12:00:00' '<nova:flavor name="m1.tiny">' 1 \
        demo "$USER_DEMO" demo "$PROJ_DEMO" "$IMAGE_CIRROS")
      dom_head "$name" 11111111-2222-3333-4444-555555555503 1 "$meta"
      noos_os
      dom_features
      echo "  <devices>"
      echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
      disk_xml "$d/$name.qcow2" vda
      nic_xml 52:54:00:70:00:03 tap-lab3
      balloon_xml
      echo "  </devices>"
      ;;
    instance-00000004)
      meta=$(nova_meta 1.1 ci-runner-1 '2025-09-30 06:45:00' '<nova:flavor name="ci.small">' 1 \
        ci-bot "$USER_CI" ci "$PROJ_CI" "$IMAGE_CIRROS")
      dom_head "$name" 11111111-2222-3333-4444-555555555504 1 "$meta"
      noos_os
      dom_features
      echo "  <devices>"
      echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
      disk_xml "$d/$name.qcow2" vda
      nic_xml 52:54:00:70:00:04 tap-lab4
      balloon_xml
      echo "  </devices>"
      ;;
    instance-00000005)
      meta=$(nova_meta 1.1 report-1 '2024-12-24 18:00:00' '<nova:flavor name="m1.tiny">' 1 \
        analyst "$USER_ANALYST" analytics "$PROJ_ANALYTICS" "$IMAGE_DEBIAN")
      dom_head "$name" 11111111-2222-3333-4444-555555555505 1 "$meta"
      noos_os
      dom_features
      echo "  <devices>"
      echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
      disk_xml "$d/$name.qcow2" vda
      nic_xml 52:54:00:70:00:05 tap-lab5
      balloon_xml
      echo "  </devices>"
      ;;
    lab-plain-1)
      # No metadata at all, and an empty CD-ROM drive (a block device without a source).
      dom_head "$name" 11111111-2222-3333-4444-555555555511 1 ''
      noos_os
      dom_features
      echo "  <devices>"
      echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
      disk_xml "$d/$name.qcow2" vda
      printf "    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/><readonly/></disk>\n"
      nic_xml 52:54:00:70:00:11 tap-lab11
      balloon_xml
      echo "  </devices>"
      ;;
    lab-extra-[0-9][0-9][0-9])
      local n=$((10#${name#lab-extra-})) p
      local -a projects=(demo analytics ci billing ml-team)
      local -a pids=("$PROJ_DEMO" "$PROJ_ANALYTICS" "$PROJ_CI" 1b2c3d4e5f60417283940a1b2c3d4e5f 7f6e5d4c3b2a41098f7e6d5c4b3a2910)
      local -a uids=("$USER_DEMO" "$USER_ANALYST" "$USER_CI" 3d4c5b6a79884f1e2d3c4b5a69788796 8c7b6a5f4e3d42c1b0a9f8e7d6c5b4a3)
      local -a flavors=(m1.tiny m1.nano ci.small)
      p=$((n % 5))
      meta=$(nova_meta 1.1 "bench-$(printf %03d "$n")" '2025-10-01 00:00:00' \
        "<nova:flavor name=\"${flavors[n % 3]}\">" 1 \
        "user-${projects[p]}" "${uids[p]}" "${projects[p]}" "${pids[p]}" "$IMAGE_CIRROS")
      dom_head "$name" "$(printf '11111111-2222-3333-4444-666666666%03d' "$n")" 1 "$meta"
      noos_os
      dom_features
      echo "  <devices>"
      echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
      disk_xml "$d/$name.qcow2" vda
      nic_xml "$(printf '52:54:00:72:%02x:%02x' $((n / 256)) $((n % 256)))" "$(printf 'tap-x%03d' "$n")"
      balloon_xml
      echo "  </devices>"
      ;;
    *) die "unknown guest $name" ;;
  esac
  echo "</domain>"
}

guest_uuid() { guest_xml "$1" | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p'; }

ensure_disks() {
  local name=$1 f
  f=$STATE/disks/$name.qcow2
  [ -e "$f" ] || qemu-img create -q -f qcow2 "$f" 64M
  if [ "$name" = instance-00000002 ]; then
    f=$STATE/disks/$name-vdb.qcow2
    [ -e "$f" ] || qemu-img create -q -f qcow2 "$f" 16M
  fi
}

remove_disks() { rm -f "$STATE/disks/$1.qcow2" "$STATE/disks/$1-vdb.qcow2" "$STATE/logs/$1.console.log"; }

# name -> libvirt state ("running", "paused", "shut off", ...) and id ("-" when off) for every
# defined domain.
declare -A DOM_STATE=() DOM_ID=()
load_states() {
  DOM_STATE=()
  DOM_ID=()
  local line id name state
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    read -r id name state <<<"$line"
    DOM_STATE[$name]=$state
    DOM_ID[$name]=$id
  done < <(vro list --all)
}

# ---------------------------------------------------------------------------------------------
# Per-guest cgroups (v2): the lab's qemu.conf switches libvirt's cgroup placement off (no systemd,
# no delegation here), so the lab puts each running guest's QEMU where libvirt would without
# systemd: <v2 root>/machine/qemu-<id>-<name>.libvirt-qemu. The exporter's pressure collector
# reads PSI (cpu/memory/io.pressure) and cpu.stat there.
# ---------------------------------------------------------------------------------------------

# The cgroup v2 mount point (/sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a hybrid
# one), from mountinfo: the field after " - " is the filesystem type. LAB_CGROUP_ROOT overrides it.
cgroup2_root() {
  if [ -n "${LAB_CGROUP_ROOT:-}" ]; then
    echo "$LAB_CGROUP_ROOT"
    return 0
  fi
  awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo
}

# name -> QEMU pid, from one pass over /proc (QEMU's command line has "-name guest=NAME,...").
declare -A GUEST_PID=()
load_guest_pids() {
  GUEST_PID=()
  local f pid args name
  for f in /proc/[0-9]*/cmdline; do
    args=$({ tr '\0' '\n' <"$f"; } 2>/dev/null) || continue
    name=$(sed -n 's/^guest=\([^,]*\).*/\1/p' <<<"$args" | head -1)
    [ -n "$name" ] || continue
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    pid_alive "$pid" && GUEST_PID[$name]=$pid
  done
}

# Moves every running or paused lab guest's QEMU (cgroup.procs: all its threads) into its own
# directory, named after the current domain id; removes the lab's empty directories of earlier ids.
# Without a cgroup v2 hierarchy: one log line, nothing else.
place_guest_cgroups() {
  local root name id dir want cur base n=0
  root=$(cgroup2_root)
  if [ -z "$root" ] || [ ! -w "$root/cgroup.procs" ]; then
    log "no writable cgroup v2 hierarchy: guests stay in their cgroup (no per-guest pressure)"
    return 0
  fi
  load_states
  load_guest_pids
  mkdir -p "$root/machine"
  local -A keep=()
  for name in "$@"; do
    id=${DOM_ID[$name]:-}
    [[ $id =~ ^[0-9]+$ ]] && [ -n "${GUEST_PID[$name]:-}" ] || continue
    base=qemu-$id-$name.libvirt-qemu
    keep[$base]=1
    dir=$root/machine/$base
    want=/machine/$base
    cur=$(sed -n 's/^0:://p' "/proc/${GUEST_PID[$name]}/cgroup" 2>/dev/null || true)
    [ "$cur" = "$want" ] && continue
    mkdir -p "$dir"
    echo "${GUEST_PID[$name]}" >"$dir/cgroup.procs" || die "cannot move $name (pid ${GUEST_PID[$name]}) into $dir"
    n=$((n + 1))
  done
  for dir in "$root"/machine/qemu-*.libvirt-qemu; do
    base=${dir##*/}
    [ -n "${keep[$base]:-}" ] && continue
    name=${base#qemu-*-}
    name=${name%.libvirt-qemu}
    [[ " $* " == *" $name "* ]] || continue
    [ -s "$dir/cgroup.procs" ] || rmdir "$dir" 2>/dev/null || true
  done
  [ "$n" = 0 ] || log "placed $n guests in cgroups under $root/machine"
}

# Defines NAME when it is not, or when the lab's XML for it changed (then it is recreated).
# Guests the lab did not create are never touched: a name clash with another UUID is an error.
ensure_defined() {
  local name=$1 xml stored=$STATE/xml/$1.xml uuid
  xml=$(guest_xml "$name")
  if [ -n "${DOM_STATE[$name]:-}" ]; then
    if [ -e "$stored" ] && [ "$(cat "$stored")" = "$xml" ]; then
      return 0
    fi
    uuid=$(vro domuuid "$name" | tr -d '[:space:]')
    [ "$uuid" = "$(guest_uuid "$name")" ] ||
      die "a domain named $name with another UUID ($uuid) exists; it is not the lab's, not touching it"
    log "$name: definition changed, recreating"
    vrw destroy "$name" >/dev/null 2>&1 || true
    vrw undefine "$name" >/dev/null
    unset "DOM_STATE[$name]"
  fi
  ensure_disks "$name"
  printf '%s\n' "$xml" >"$stored.tmp"
  vrw define "$stored.tmp" >/dev/null
  mv -f "$stored.tmp" "$stored"
  DOM_STATE[$name]='shut off'
}

# Commands that bring NAME to its wanted state (one per line, for a batch virsh).
state_commands() {
  local name=$1 want cur
  want=$(want_state "$name")
  cur=${DOM_STATE[$name]:-shut off}
  case $want:$cur in
    running:running | paused:paused | shutoff:"shut off") ;;
    running:paused) echo "resume $name" ;;
    running:*) echo "start $name" ;;
    paused:running) echo "suspend $name" ;;
    paused:*)
      # An extra guest starts paused: it never runs its firmware, so a large lab starts quickly.
      case $name in
        lab-extra-*) echo "start --paused $name" ;;
        *) printf 'start %s\nsuspend %s\n' "$name" "$name" ;;
      esac ;;
    shutoff:*) echo "destroy $name" ;;
  esac
}

# Runs virsh commands from stdin in one virsh process (a process per command costs ~40 ms).
virsh_batch() {
  local cmds
  cmds=$(cat)
  [ -n "$cmds" ] || return 0
  local err
  err=$(printf '%s\n' "$cmds" | timeout 600 virsh -q -c "$LAB_URI" 2>&1 >/dev/null) || true
  # Interactive virsh carries on after a failed command: its error lines are the only signal.
  if grep -q '^error:' <<<"$err"; then
    printf '%s\n' "$err" >&2
    die "virsh failed"
  fi
}

extra_names() { # extra_names N
  local i
  for ((i = 1; i <= $1; i++)); do printf 'lab-extra-%03d\n' "$i"; done
}

existing_extras() {
  local f
  for f in "$STATE"/xml/lab-extra-*.xml; do
    f=${f##*/}
    echo "${f%.xml}"
  done
}

# Runs `virsh CMD NAME` for each "CMD NAME" line of stdin, six at a time: destroy takes ~1.3 s
# (libvirt waits for QEMU to exit) and start ~0.3 s, and libvirtd serves clients in parallel.
# With --ignore-errors, failures are not fatal (destroying a guest that is already off fails).
virsh_parallel() {
  local err
  err=$(xargs -r -P 6 -L 1 timeout 120 virsh -q -c "$LAB_URI" 2>&1 >/dev/null) || true
  if [ "${1:-}" != --ignore-errors ] && grep -q '^error:' <<<"$err"; then
    printf '%s\n' "$err" >&2
    die "virsh failed"
  fi
}

# Destroys and undefines the lab's guests NAMES and removes their files.
remove_guests() {
  local name t0
  t0=$(now)
  for name in "$@"; do
    case ${DOM_STATE[$name]:-} in '' | 'shut off') ;; *) echo "destroy $name" ;; esac
  done | virsh_parallel --ignore-errors
  for name in "$@"; do
    [ -n "${DOM_STATE[$name]:-}" ] && echo "undefine $name"
  done | virsh_parallel --ignore-errors
  for name in "$@"; do
    remove_disks "$name"
    rm -f "$STATE/xml/$name.xml"
    unset "DOM_STATE[$name]"
  done
  log "removed $# guests ($*) in $(elapsed "$t0") s"
}

# Waits until every guest is in its wanted state and the tiny guests report guest memory
# statistics (balloon.usable, which needs the guest's balloon driver and one 5 s stats period).
wait_ready() {
  local deadline=$((SECONDS + ${1:-180})) name want out ok
  shift
  local -a names=("$@")
  while :; do
    out=$(vro domstats --state --balloon "${names[@]}" 2>/dev/null || true)
    ok=1
    for name in "${names[@]}"; do
      want=$(want_state "$name")
      local code
      code=$(awk -v n="$name" '$0 == "Domain: '\''" n "'\''" { f = 1; next } /^Domain:/ { f = 0 }
        f && $1 ~ /^state\.state=/ { sub(/.*=/, "", $1); print $1 }' <<<"$out")
      case $want in
        running) [ "$code" = 1 ] || ok=0 ;;
        paused) [ "$code" = 3 ] || ok=0 ;;
        shutoff) [ "$code" = 5 ] || ok=0 ;;
      esac
      if is_tiny "$name" && [ "$ok" = 1 ]; then
        awk -v n="$name" '$0 == "Domain: '\''" n "'\''" { f = 1; next } /^Domain:/ { f = 0 }
          f && $1 ~ /^balloon\.usable=/ { found = 1 } END { exit !found }' <<<"$out" || ok=0
      fi
      [ "$ok" = 1 ] || break
    done
    [ "$ok" = 1 ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "not ready: $name (want $want)"
      return 1
    fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------------------------

cmd_up() {
  local extra='' t0 name changed pid
  while [ $# -gt 0 ]; do
    case $1 in
      --extra) extra=${2:?--extra needs a number}; shift 2 ;;
      --extra=*) extra=${1#--extra=}; shift ;;
      --running-extra) RUNNING_EXTRA=${2:?--running-extra needs a number}; shift 2 ;;
      --running-extra=*) RUNNING_EXTRA=${1#--running-extra=}; shift ;;
      *) die "up: unknown option $1" ;;
    esac
  done
  if [ -n "$extra" ]; then
    if ! [[ $extra =~ ^[0-9]+$ ]] || [ "$extra" -gt "$MAX_EXTRA" ]; then die "--extra takes 0..$MAX_EXTRA"; fi
  fi
  if [ -n "$RUNNING_EXTRA" ] && { [ -z "$extra" ] || ! [[ $RUNNING_EXTRA =~ ^[0-9]+$ ]]; }; then
    die "--running-extra takes a number, with --extra"
  fi
  need_root
  t0=$(now)
  take_lock
  install_packages
  ensure_users_and_dirs
  changed=$(write_qemu_conf)
  start_virtlogd
  if [ "$changed" = changed ] && [ "$(cat "$STATE/daemons/libvirtd.owner" 2>/dev/null)" = lab ] &&
    pid=$(libvirtd_pid); then
    log "qemu.conf changed: restarting the lab's libvirtd"
    stop_pid "$pid" libvirtd
  fi
  start_libvirtd
  build_tiny

  load_states
  local -a guests=("${CORE_GUESTS[@]}") want_extras=()
  if [ -n "$extra" ]; then
    mapfile -t want_extras < <(extra_names "$extra")
    # Extras above N go away; extras below N stay as they are.
    local -a drop=()
    for name in $(existing_extras); do
      [[ " ${want_extras[*]} " == *" $name "* ]] || drop+=("$name")
    done
    [ "${#drop[@]}" -eq 0 ] || remove_guests "${drop[@]}"
  fi
  # NOTE: a plain `up` (what the test suite runs) brings up the core guests only; extra benchmark
  # guests left defined by an earlier `up --extra N` are neither started nor removed.
  guests+=("${want_extras[@]}")
  for name in "${guests[@]}"; do ensure_defined "$name"; done

  # Start order: tiny 1, the cheap guests, then tiny 2 once tiny 1 is past its costly boot
  # (a boot storm makes both slower).
  local cmds tiny_started=0
  cmds=$(state_commands instance-00000001)
  if [ -n "$cmds" ]; then virsh_batch <<<"$cmds"; tiny_started=1; fi
  for name in instance-00000003 instance-00000004 instance-00000005 lab-plain-1; do
    state_commands "$name"
  done | virsh_batch
  for name in "${want_extras[@]}"; do state_commands "$name"; done | virsh_parallel
  cmds=$(state_commands instance-00000002)
  if [ -n "$cmds" ]; then
    [ "$tiny_started" = 1 ] && sleep 2
    virsh_batch <<<"$cmds"
  fi
  wait_ready 240 "${guests[@]}" || { cmd_status || true; die "the lab did not become ready"; }
  local -a placed=("${guests[@]}")
  mapfile -t -O "${#placed[@]}" placed < <(existing_extras)
  place_guest_cgroups "${placed[@]}"
  ensure_pool
  print_summary
  log "up in $(elapsed "$t0") s"
}

# A directory storage pool over the guests' disks (the exporter's storage_pool collector reads it).
readonly LAB_POOL=lab-pool
ensure_pool() {
  if ! vro pool-info "$LAB_POOL" >/dev/null 2>&1; then
    vrw pool-define-as "$LAB_POOL" dir --target "$STATE/disks" >/dev/null
    touch "$STATE/pool.ours"
  fi
  local info
  info=$(vro pool-info "$LAB_POOL" 2>/dev/null || true)
  # (Not `| grep -q`: with pipefail, grep's early exit makes virsh fail on SIGPIPE.)
  if ! [[ $info =~ State:\ +running ]]; then
    vrw pool-start "$LAB_POOL" >/dev/null
  fi
}

remove_pool() {
  [ -e "$STATE/pool.ours" ] || return 0
  vrw pool-destroy "$LAB_POOL" >/dev/null 2>&1 || true
  vrw pool-undefine "$LAB_POOL" >/dev/null 2>&1 || true
  rm -f "$STATE/pool.ours"
}

cmd_down() {
  need_root
  local t0 name owner pid
  t0=$(now)
  [ -d "$STATE" ] || { log "nothing to do (no $STATE)"; return 0; }
  take_lock
  # Guests can only be removed through libvirtd: bring it back if a fault test left it down.
  if compgen -G "$STATE/xml/*.xml" >/dev/null && ! libvirtd_pid >/dev/null &&
    [ -e "$STATE/daemons/libvirtd.owner" ]; then
    start_virtlogd
    start_libvirtd
  fi
  if libvirtd_pid >/dev/null; then
    load_states
    local -a ours=()
    for name in "${CORE_GUESTS[@]}" $(existing_extras); do
      [ -e "$STATE/xml/$name.xml" ] && ours+=("$name")
    done
    [ "${#ours[@]}" -eq 0 ] || remove_guests "${ours[@]}"
    remove_pool
  elif compgen -G "$STATE/xml/*.xml" >/dev/null; then
    die "libvirtd is not running: start it (lab.sh up) so that the guests can be removed"
  fi
  owner=$(cat "$STATE/daemons/libvirtd.owner" 2>/dev/null || true)
  if [ "$owner" = lab ] && pid=$(libvirtd_pid); then stop_pid "$pid" libvirtd; fi
  owner=$(cat "$STATE/daemons/virtlogd.owner" 2>/dev/null || true)
  if [ "$owner" = lab ] && pid=$(virtlogd_pid); then stop_pid "$pid" virtlogd; fi
  rm -f "$STATE"/daemons/*
  log "down in $(elapsed "$t0") s (packages, $QEMU_CONF and the tiny-guest cache in $STATE/tiny are kept)"
}

print_summary() {
  local name st usable
  local out
  out=$(vro domstats --state --balloon "${CORE_GUESTS[@]}" 2>/dev/null || true)
  printf '%-20s %-9s %s\n' GUEST STATE NOTES
  load_states
  for name in "${CORE_GUESTS[@]}"; do
    st=${DOM_STATE[$name]:-absent}
    usable=''
    if is_tiny "$name"; then
      usable=$(awk -v n="$name" '$0 == "Domain: '\''" n "'\''" { f = 1; next } /^Domain:/ { f = 0 }
        f && $1 ~ /^balloon\.usable=/ { sub(/.*=/, "", $1); print "tiny guest, balloon.usable=" $1 " KiB" }' <<<"$out")
      [ -n "$usable" ] || usable='tiny guest, no guest memory stats yet'
    fi
    printf '%-20s %-9s %s\n' "$name" "$st" "$usable"
  done
  local n=0
  for name in $(existing_extras); do
    [ "${DOM_STATE[$name]:-}" = running ] && n=$((n + 1))
  done
  [ "$(existing_extras | wc -l)" -eq 0 ] || printf 'extra guests: %s defined, %s running\n' "$(existing_extras | wc -l)" "$n"
}

cmd_status() {
  local pid rc=0
  if pid=$(virtlogd_pid); then echo "virtlogd: running, pid $pid (owner: $(cat "$STATE/daemons/virtlogd.owner" 2>/dev/null || echo unknown))"
  else echo "virtlogd: not running"; rc=1; fi
  if pid=$(libvirtd_pid); then echo "libvirtd: running, pid $pid (owner: $(cat "$STATE/daemons/libvirtd.owner" 2>/dev/null || echo unknown))"
  else echo "libvirtd: not running"; return 1; fi
  print_summary
  local -a names=("${CORE_GUESTS[@]}")
  mapfile -t -O "${#names[@]}" names < <(existing_extras)
  wait_ready 0 "${names[@]}" 2>/dev/null || { echo "lab: not ready"; rc=1; }
  [ "$rc" = 0 ] && echo "lab: ready"
  return "$rc"
}

cmd_env() {
  local extras
  extras=$(existing_extras | tr '\n' ' ' | sed 's/ $//')
  cat <<EOF
export LIBVIRT_TEST_URI='$LAB_URI'
export LIBVIRT_TEST_SOCKET='$RO_SOCKET'
export LIBVIRT_TEST_RW_SOCKET='$RW_SOCKET'
export LAB_STATE_DIR='$STATE'
export LAB_SCRIPT='$(readlink -f "${BASH_SOURCE[0]}")'
export LAB_GUESTS='$(printf '%s\n' "${CORE_GUESTS[@]}" | sort | tr '\n' ' ' | sed 's/ $//')'
export LAB_TINY_GUESTS='${TINY_GUESTS[*]}'
export LAB_AGENT_GUESTS='${TINY_GUESTS[*]}'
export LAB_FS_GUESTS='instance-00000002'
export LAB_CGROUP_ROOT='$(cgroup2_root)'
export LAB_RUNNING_GUESTS='instance-00000001 instance-00000002 instance-00000003 lab-plain-1'
export LAB_PAUSED_GUESTS='instance-00000004'
export LAB_SHUTOFF_GUESTS='instance-00000005'
export LAB_NOVA_1_0_GUESTS='instance-00000003'
export LAB_NO_METADATA_GUESTS='lab-plain-1'
export LAB_EXTRA_GUESTS='$extras'
EOF
}

cmd_libvirtd_pid() { libvirtd_pid || die "libvirtd is not running"; }

cmd_libvirtd_kill() {
  need_root
  local pid
  [ -e "$STATE/daemons/libvirtd.owner" ] || die "the lab is not up (run lab.sh up first)"
  take_lock
  pid=$(libvirtd_pid) || { log "libvirtd is not running"; return 0; }
  kill -KILL "$pid"
  wait_pid_gone "$pid" 10 || die "libvirtd (pid $pid) still there after SIGKILL"
  log "killed libvirtd (pid $pid)"
}

cmd_libvirtd_start() {
  need_root
  [ -e "$STATE/daemons/libvirtd.owner" ] || die "the lab is not up (run lab.sh up first)"
  take_lock
  start_virtlogd
  start_libvirtd
  libvirtd_pid
}

# For hang tests: SIGSTOP/SIGCONT, never on a daemon the lab does not use.
cmd_libvirtd_signal() {
  need_root
  local pid
  pid=$(libvirtd_pid) || die "libvirtd is not running"
  kill "-$1" "$pid"
  echo "$pid"
}

guest_pid() {
  local name=$1 f pid args
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    # Processes come and go while the loop runs: a vanished one is skipped.
    args=$({ tr '\0' '\n' <"$f"; } 2>/dev/null) || continue
    if grep -qE "^guest=${name//./\\.}(,|\$)" <<<"$args" && pid_alive "$pid"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

lab_guest_name() {
  local name=${1:?guest name required}
  [[ " ${CORE_GUESTS[*]} " == *" $name "* ]] || [ -e "$STATE/xml/$name.xml" ] || die "$name is not a lab guest"
  echo "$name"
}

cmd_guest_pid() {
  local name
  name=$(lab_guest_name "${1:-}")
  guest_pid "$name" || die "no QEMU process for $name"
}

cmd_guest_signal() {
  need_root
  local name pid
  name=$(lab_guest_name "${2:-}")
  pid=$(guest_pid "$name") || die "no QEMU process for $name"
  kill "-$1" "$pid"
  echo "$pid"
}

usage() {
  sed -n '3,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    libvirtd-kill) cmd_libvirtd_kill ;;
    libvirtd-start) cmd_libvirtd_start ;;
    libvirtd-pid) cmd_libvirtd_pid ;;
    libvirtd-hang) cmd_libvirtd_signal STOP ;;
    libvirtd-resume) cmd_libvirtd_signal CONT ;;
    guest-pid) cmd_guest_pid "$@" ;;
    guest-hang) cmd_guest_signal STOP "$@" ;;
    guest-resume) cmd_guest_signal CONT "$@" ;;
    -h | --help | help) usage 0 ;;
    *) usage 2 >&2 ;;
  esac
}

main "$@"
