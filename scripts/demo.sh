#!/usr/bin/env bash
# Runs berth on the example manifests in ./manifests: builds the example images, then starts the
# controller (Ctrl-C stops it; the app keeps running, as under systemd). The berth on PATH runs it
# (the npm package, README "Install"); without one, berth is built here and dist/cli.js runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/example-images.sh
if command -v berth >/dev/null; then
  berth=(berth)
else
  npm run build --silent
  berth=(node dist/cli.js)
fi
echo "berth: $(command -v berth || echo dist/cli.js), $("${berth[@]}" --version)"
echo "berth: watching ./manifests; edit manifests/hello.yaml (tag: v2) and save to roll out"
echo "berth: status page on http://127.0.0.1:9090/ (also /metrics, /api/apps)"
exec "${berth[@]}" run --manifests manifests --state-dir .berth-state --log-format pretty --listen 127.0.0.1:9090 "$@"
