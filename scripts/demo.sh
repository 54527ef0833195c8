#!/usr/bin/env bash
# Runs berth on the example manifests in ./manifests: builds the example images and berth,
# then starts the controller (Ctrl-C stops it; the app keeps running, as under systemd).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/example-images.sh
npm run build --silent
echo "berth: watching ./manifests; edit manifests/hello.yaml (tag: v2) and save to roll out"
echo "berth: status page on http://127.0.0.1:9090/ (also /metrics, /api/apps)"
exec node dist/cli.js run --manifests manifests --state-dir .berth-state --log-format pretty --listen 127.0.0.1:9090 "$@"
