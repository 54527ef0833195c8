#!/bin/sh
# install-missing PACKAGE...: installs, with apt, those of the Debian packages named that are not
# installed yet; with all of them there already (packaging/base-image.sh's base) it changes nothing
# and needs no network. Used by the Dockerfile's stages.
set -eu
missing=
for package in "$@"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $package"
done
[ -z "$missing" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends $missing
apt-get clean
rm -rf /var/lib/apt/lists/*
