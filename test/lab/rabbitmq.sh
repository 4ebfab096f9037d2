#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A private RabbitMQ node for the publisher's tests: loopback only, its own node name, AMQP port,
# distribution port, epmd and data directory, so that it never meets a broker (or epmd) that the
# machine already runs. Run as root, no systemd. Idempotent; stops and kills only what it started
# (by the pids it recorded).
#
#   rabbitmq.sh start    install rabbitmq-server if missing, start the node, wait until it serves
#   rabbitmq.sh stop     graceful shutdown of the node (data kept), then its epmd
#   rabbitmq.sh kill     SIGKILL the node's Erlang VM (an abrupt broker crash); epmd stays
#   rabbitmq.sh status   exit 0 when the node serves AMQP, 1 otherwise
#   rabbitmq.sh url      the AMQP URL of the node (guest over loopback)
#   rabbitmq.sh clean    stop, then delete the data directory
#
# Environment: RABBITMQ_LAB_DIR (default /var/lib/libvirt-exporter-lab/rabbitmq), RABBITMQ_LAB_PORT
# (5673), RABBITMQ_LAB_DIST_PORT (25673), RABBITMQ_LAB_EPMD_PORT (4370), RABBITMQ_LAB_NODENAME
# (libvirt-exporter-lab@localhost).
set -euo pipefail
shopt -s inherit_errexit

readonly DIR=${RABBITMQ_LAB_DIR:-/var/lib/libvirt-exporter-lab/rabbitmq}
readonly PORT=${RABBITMQ_LAB_PORT:-5673}
readonly DIST_PORT=${RABBITMQ_LAB_DIST_PORT:-25673}
readonly EPMD_PORT=${RABBITMQ_LAB_EPMD_PORT:-4370}
readonly NODENAME=${RABBITMQ_LAB_NODENAME:-libvirt-exporter-lab@localhost}
readonly SBIN=/usr/lib/rabbitmq/bin
readonly BEAM_PIDFILE=$DIR/rabbit.pid
readonly EPMD_PIDFILE=$DIR/epmd.pid

log() { printf 'rabbitmq-lab: %s\n' "$*" >&2; }
die() { printf 'rabbitmq-lab: error: %s\n' "$*" >&2; exit 1; }

# The node's environment. The Erlang cookie lives in $HOME, so the CLI must use the same HOME.
# NOTE: /usr/sbin/rabbitmq-server is a wrapper that switches to the rabbitmq user and writes to
# /var/log/rabbitmq; the scripts in /usr/lib/rabbitmq/bin run as the caller with these directories.
node_env() {
  export HOME=$DIR/home
  export ERL_EPMD_PORT=$EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_NODENAME=$NODENAME
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$PORT RABBITMQ_DIST_PORT=$DIST_PORT
  export RABBITMQ_CONFIG_FILE=$DIR/rabbitmq
  export RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins
  export RABBITMQ_MNESIA_BASE=$DIR/mnesia RABBITMQ_LOG_BASE=$DIR/log
  export RABBITMQ_PID_FILE=$BEAM_PIDFILE
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
}

ctl() { timeout 90 "$SBIN/rabbitmqctl" -q -n "$NODENAME" "$@"; }

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install() {
  [ -x "$SBIN/rabbitmq-server" ] && return 0
  [ "$(id -u)" = 0 ] || die "rabbitmq-server is not installed and installing it needs root"
  log "installing rabbitmq-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends rabbitmq-server >/dev/null ||
    { apt-get -o DPkg::Lock::Timeout=600 update >/dev/null &&
      apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends rabbitmq-server >/dev/null; }
  [ -x "$SBIN/rabbitmq-server" ] || die "rabbitmq-server did not install"
}

write_config() {
  mkdir -p "$DIR/home" "$DIR/log" "$DIR/mnesia"
  chmod 700 "$DIR/home"
  printf '[].\n' >"$DIR/enabled_plugins"
  cat >"$DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$PORT
loopback_users.guest = true
log.console = false
log.file.level = warning
# Small test machines: do not raise the disk alarm (which blocks publishers) on a busy /var.
disk_free_limit.absolute = 50MB
EOF
}

serving() {
  alive "$BEAM_PIDFILE" || return 1
  node_env
  ctl status >/dev/null 2>&1
}

start() {
  install
  node_env
  if serving; then
    log "already running on 127.0.0.1:$PORT (pid $(cat "$BEAM_PIDFILE"))"
    return 0
  fi
  write_config
  if ! alive "$EPMD_PIDFILE"; then
    # Our own epmd on its own port: independent of any epmd (and node) the machine runs.
    setsid epmd -address 127.0.0.1 -port "$EPMD_PORT" </dev/null >"$DIR/log/epmd.out" 2>&1 9>&- &
    echo $! >"$EPMD_PIDFILE"
  fi
  rm -f "$BEAM_PIDFILE"
  local t0
  t0=$(date +%s.%N)
  setsid "$SBIN/rabbitmq-server" </dev/null >"$DIR/log/server.out" 2>&1 9>&- &
  echo $! >"$DIR/server-script.pid"
  # `wait <pidfile>` waits for the pid file, then for the node to boot (await_startup fails at
  # once when the node has not registered with epmd yet).
  local _
  for _ in $(seq 1 100); do
    [ -s "$BEAM_PIDFILE" ] && break
    alive "$DIR/server-script.pid" || die "rabbitmq-server exited; see $DIR/log/server.out"
    sleep 0.1
  done
  ctl wait --timeout 60 "$BEAM_PIDFILE" >/dev/null || die "node did not start; see $DIR/log"
  log "started on 127.0.0.1:$PORT in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s (pid $(cat "$BEAM_PIDFILE"))"
}

stop() {
  node_env
  if alive "$BEAM_PIDFILE"; then
    local pid
    pid=$(cat "$BEAM_PIDFILE")
    # `shutdown` returns when the VM has exited; fall back to the pid if the CLI cannot reach it.
    ctl shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    local _
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    log "stopped (pid $pid)"
  fi
  rm -f "$BEAM_PIDFILE" "$DIR/server-script.pid"
  if alive "$EPMD_PIDFILE"; then
    kill "$(cat "$EPMD_PIDFILE")" 2>/dev/null || true
  fi
  rm -f "$EPMD_PIDFILE"
}

crash() {
  if alive "$BEAM_PIDFILE"; then
    local pid
    pid=$(cat "$BEAM_PIDFILE")
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    log "killed (pid $pid)"
  else
    log "not running"
  fi
  rm -f "$BEAM_PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) crash ;;
  status)
    if serving; then
      echo "running: amqp://guest:guest@127.0.0.1:$PORT/ (node $NODENAME, pid $(cat "$BEAM_PIDFILE"))"
    else
      echo "not running"
      exit 1
    fi
    ;;
  url) echo "amqp://guest:guest@127.0.0.1:$PORT/" ;;
  clean)
    stop
    case "$DIR" in /var/lib/libvirt-exporter-lab/*|/tmp/*) rm -rf "$DIR" ;; *) die "refusing to delete $DIR" ;; esac
    ;;
  *) die "usage: $0 start|stop|kill|status|url|clean" ;;
esac
