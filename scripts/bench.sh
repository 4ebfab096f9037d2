#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The performance benchmark (bench/run.ts, issue 8): installs Debian's prometheus-libvirt-exporter (the Go
# peer) when it is missing, without starting its service, then runs the benchmark, which brings the lab to
# the requested guests, measures, writes docs/performance.md and puts the lab's extra guests back.
#   sh scripts/bench.sh [--guests N] [--only compare,soak,micro] [--help]   (npm run bench -- ...)
set -eu
cd "$(dirname "$0")/.."
# On the supported Node.js, as the tests and the packages (scripts/node.sh).
PATH="$(sh scripts/node.sh):$PATH"
export PATH
[ -d node_modules ] || npm ci --no-audit --no-fund

case " $* " in
  *" --help "* | *" -h "*) exec node --import tsx bench/run.ts --help ;;
esac

need_peer=1
case " $* " in *" --no-peer "*) need_peer=0 ;; esac
# The comparison, the soak and the footprint all run the peer beside this exporter (the micro-benchmark alone does not).
case " $* " in *" --only "*) case " $* " in *compare* | *soak* | *footprint*) ;; *) need_peer=0 ;; esac ;; esac
if [ "$need_peer" = 1 ] && [ ! -x /usr/bin/prometheus-libvirt-exporter ]; then
  [ "$(id -u)" = 0 ] || { echo "bench: installing the Go peer needs root" >&2; exit 1; }
  echo "bench: installing prometheus-libvirt-exporter (Debian package of the Go peer)" >&2
  # The package's maintainer scripts would start its service on :9177; a deny-all policy-rc.d (when the
  # machine has none) keeps invoke-rc.d from starting anything. The benchmark runs the binary itself.
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, scripts/bench.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
  fi
  rc=0
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    prometheus-libvirt-exporter >&2 || {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
        prometheus-libvirt-exporter >&2
  } || rc=$?
  [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || { echo "bench: apt-get failed (rc $rc)" >&2; exit 1; }
fi

exec node --import tsx bench/run.ts "$@"
