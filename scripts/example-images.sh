#!/usr/bin/env bash
# Builds the example app's images, dokku/hello:v1 and dokku/hello:v2, from Debian's static
# busybox (no registry needed). Re-running is cheap: Docker's build cache answers.
set -euo pipefail
cd "$(dirname "$0")/.."
namespace=${1:-dokku}
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp examples/hello-image/Dockerfile "$context/"
cp /bin/busybox "$context/busybox"
for tag in v1 v2; do
  mkdir -p "$context/www"
  printf '<h1>hello from %s</h1>\n' "$tag" >"$context/www/index.html"
  printf 'ok\n' >"$context/www/health"
  docker build -q -t "$namespace/hello:$tag" "$context" >/dev/null
  echo "built $namespace/hello:$tag"
done
