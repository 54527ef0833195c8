#!/usr/bin/env bash
# Makes berth's Debian base image from Debian's archive with mmdebstrap (as the official Debian
# images are made) and imports it into the local engine, for hosts that reach no container
# registry. As root, with mmdebstrap installed (apt-get install mmdebstrap):
#
#   packaging/base-image.sh [--print-name] [NAME]
#
# NAME defaults to berth-base:trixie-<key>, <key> a hash of this script's text and the mirror:
# the same recipe makes the same name, so an image of that name is reused, not made again.
# --print-name prints that name and does nothing else. The image holds Node (>= 20.19, Debian
# trixie's) and what berth runs with: nginx, git, openssh-client, ca-certificates, tini (not npm:
# Debian's pulls in hundreds of packages; the Dockerfile's build stage fetches npm itself). Then:
#
#   docker build --network host --build-arg BASE=NAME -t berth .
#
# MIRROR (default: the first Debian mirror apt uses here, else http://deb.debian.org/debian)
# is the archive to bootstrap from. Prints the image's name on its last line.
set -euo pipefail

SUITE=trixie
PACKAGES=nodejs,nginx,git,openssh-client,ca-certificates,tini

default_mirror() {
  local uri
  uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list |
    grep -vE 'security|updates' | grep -oE 'https?://[^ ]+' | head -n 1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

MIRROR=${MIRROR:-$(default_mirror)}
print_only=false
if [[ "${1:-}" == "--print-name" ]]; then
  print_only=true
  shift
fi
key=$( { cat "$0"; echo "$MIRROR"; } | sha256sum | cut -c1-12)
name=${1:-berth-base:$SUITE-$key}
if $print_only; then
  echo "$name"
  exit 0
fi

if docker image inspect "$name" >/dev/null 2>&1; then
  echo "$name exists already: reused" >&2
  echo "$name"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing: apt-get install mmdebstrap" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$SECONDS
# minbase: only Essential packages and apt; no Recommends, no documentation or man pages, no
# package lists left behind (the Dockerfile runs apt-get update itself if it must install).
mmdebstrap --mode=root --variant=minbase --include="$PACKAGES" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  "$SUITE" "$work/base.tar" "$MIRROR" >&2
docker import --change 'CMD ["/bin/bash"]' "$work/base.tar" "$name" >/dev/null
echo "made $name from $MIRROR in $((SECONDS - started)) s" >&2
echo "$name"
