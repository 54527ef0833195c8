#!/usr/bin/env bash
# Installs and starts, on a fresh Debian machine as root, what berth runs with, and nothing of the
# test suite (that is .ci/setup):
#   docker.io       the engine berth drives: started by systemd where systemd runs; where no init
#                   started it (a container, a machine without systemd) dockerd is started here,
#                   with --iptables=false as .ci/setup does
#   nginx           for `berth run --proxy nginx` (--without-nginx leaves it out)
#   busybox-static  the example app's images (scripts/example-images.sh) are built FROM scratch with it
#   nodejs, npm     only when Node >= 20.19 with npm is missing (Debian trixie has 20.19; bookworm's 18
#                   is too old: install Node 20 from elsewhere first there)
# Idempotent: what is installed or running already is left as it is.
set -euo pipefail

PACKAGES=(docker.io busybox-static nginx)
case "${1:-}" in
  --without-nginx) PACKAGES=(docker.io busybox-static) ;;
  "") ;;
  *) echo "usage: scripts/install-runtime.sh [--without-nginx]" >&2; exit 2 ;;
esac
MIN_NODE=20.19
LOG=/tmp/berth-runtime-dockerd.log

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

node_is_recent() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    node -e "const [a, b] = process.versions.node.split('.').map(Number); const [x, y] = '$MIN_NODE'.split('.').map(Number); process.exit(a > x || (a === x && b >= y) ? 0 : 1)"
}

missing=()
wanted=("${PACKAGES[@]}")
node_is_recent || wanted+=(nodejs npm)
for package in "${wanted[@]}"; do is_installed "$package" || missing+=("$package"); done
if ((${#missing[@]} > 0)); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
if ! node_is_recent; then
  echo "berth needs Node >= $MIN_NODE with npm; found: $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi

if ! docker info >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  # A host run by systemd: its docker.service (with the engine's own iptables rules), never a
  # second dockerd beside it.
  systemctl enable --now docker.service
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { systemctl status --no-pager docker.service >&2; exit 1; }
fi
if ! docker info >/dev/null 2>&1; then
  nohup dockerd --iptables=false >"$LOG" 2>&1 &
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { tail -n 50 "$LOG" >&2; echo "dockerd did not start (log: $LOG)" >&2; exit 1; }
fi
echo "ready: docker $(docker version --format '{{.Server.Version}}'), node $(node --version)"
