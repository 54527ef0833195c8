#!/bin/bash
# berth's container entrypoint, run by tini (PID 1, which reaps orphans and passes SIGTERM/SIGINT
# here). docs/packaging.md#what-runs-inside says why it is made so.
#
#   berth-entrypoint run ... [--proxy nginx] ...   nginx (in the foreground, as a child of this
#                              script) and berth side by side. When either ends, the other is
#                              stopped and the container ends: its restart policy starts both again.
#                              SIGTERM stops berth first, then lets nginx finish what it serves
#                              (SIGQUIT); the exit status is berth's (0 on a signal).
#   berth-entrypoint COMMAND ...   any other berth command, run as it is (berth validate /manifests).
#   berth-entrypoint healthcheck   the image's HEALTHCHECK: 0 while berth answers /healthz on its
#                              --listen address; 0 as well when berth runs without --listen.
#
# A `run` without --secrets-dir gets --secrets-dir /run/berth when /run/berth exists (mounted from
# the host at the same path: the host's engine resolves the bind mounts berth asks for, so the
# decrypted files must be where berth says they are on the host too).
set -uo pipefail

LISTEN_FILE=/run/berth-entrypoint.listen

healthcheck() {
  [[ -s $LISTEN_FILE ]] || exit 0
  local address
  address=$(<"$LISTEN_FILE")
  exec node -e '
    const http = require("node:http");
    let address = process.argv[1];
    address = address.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
    const request = http.get(`http://${address}/healthz`, { timeout: 4000 }, (response) => {
      response.resume();
      process.exit(response.statusCode === 200 ? 0 : 1);
    });
    request.on("timeout", () => request.destroy(new Error("timed out")));
    request.on("error", (error) => {
      console.error(`/healthz on ${address}: ${error.message}`);
      process.exit(1);
    });' "$address"
}

if [[ ${1:-} == healthcheck ]]; then healthcheck; fi
if [[ ${1:-} != run ]]; then exec /usr/local/bin/berth "$@"; fi

args=("$@")
proxy_nginx=false listen='' secrets_dir_given=false
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --proxy) [[ ${args[i + 1]:-} == nginx ]] && proxy_nginx=true ;;
    --proxy=nginx) proxy_nginx=true ;;
    --listen) listen=${args[i + 1]:-} ;;
    --listen=*) listen=${args[i]#--listen=} ;;
    --secrets-dir | --secrets-dir=*) secrets_dir_given=true ;;
  esac
done
if ! $secrets_dir_given && [[ -d /run/berth ]]; then args+=(--secrets-dir /run/berth); fi
printf '%s' "$listen" >"$LISTEN_FILE"

# The trap is set before anything starts: a SIGTERM that comes while nginx and berth start is kept
# and acted on once berth runs (bash's default would end this script and leave berth to a SIGKILL).
nginx_pid='' berth_pid='' stopping=false
stop_berth() {
  stopping=true
  if [[ -n $berth_pid ]]; then kill -TERM "$berth_pid" 2>/dev/null || true; fi
}
trap stop_berth TERM INT

if $proxy_nginx; then
  # berth writes its server blocks into /etc/nginx/conf.d (--nginx-conf-dir) and reloads this
  # nginx with `nginx -s reload` (its pid file); errors go to the container's log too.
  nginx -g 'daemon off; error_log stderr;' &
  nginx_pid=$!
fi
/usr/local/bin/berth "${args[@]}" &
berth_pid=$!
if $stopping; then stop_berth; fi

# Each second (or at once on a signal), whether berth or nginx has ended. `wait -n` alone would
# miss a child that ended before it was called (an nginx that fails on its configuration at once).
ended() { ! kill -0 "$1" 2>/dev/null; }
while :; do
  if ended "$berth_pid"; then
    wait "$berth_pid"
    status=$?
    if [[ -n $nginx_pid ]]; then
      kill -QUIT "$nginx_pid" 2>/dev/null
      # A second signal interrupts this wait: wait again, until nginx has finished what it serves.
      while ! ended "$nginx_pid"; do wait "$nginx_pid"; done
    fi
    exit "$status"
  fi
  if [[ -n $nginx_pid ]] && ended "$nginx_pid"; then
    wait "$nginx_pid"
    echo "berth-entrypoint: nginx ended (status $?); stopping berth, so that the container ends and its restart policy starts both again" >&2
    nginx_pid=''
    stop_berth
    while ! ended "$berth_pid"; do wait "$berth_pid"; done
    exit 1
  fi
  sleep 1 &
  wait $! 2>/dev/null
done
