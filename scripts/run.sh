#!/usr/bin/env bash
# Launch proflab for local use: lab enabled, a fresh random token, HTTP on 127.0.0.1:3001,
# HTTPS (self-signed) on 127.0.0.1:3443 and the inspector (Chrome DevTools) on 127.0.0.1:9229.
# The token is made and printed here, never by the server. Set LAB_TOKEN, PORT, TLS_PORT or
# INSPECT_PORT to choose your own; INSPECT_PORT=off leaves the inspector out.
set -euo pipefail
bin=${1:-build/proflab}
port=${PORT:-3001}
tls_port=${TLS_PORT:-3443}
inspect_port=${INSPECT_PORT:-9229}
inspect=()
[[ $inspect_port != off ]] && inspect=(--inspect "127.0.0.1:$inspect_port")
token=${LAB_TOKEN:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}

cat <<MSG
proflab: lab enabled for local use on http://127.0.0.1:$port and https://127.0.0.1:$tls_port (self-signed)
  token:  $token
  try:    curl -sS -H "x-lab-token: $token" http://127.0.0.1:$port/api/lab/status
          curl -sS -X POST -H "x-lab-token: $token" "http://127.0.0.1:$port/api/lab/event-loop-jam?ms=2000"
  stop:   Ctrl-C
MSG
[[ $inspect_port != off ]] && cat <<MSG
  DevTools: chrome://inspect, "Configure..." 127.0.0.1:$inspect_port, then "inspect" under proflab
MSG
export LAB_ENABLE=true LAB_TOKEN="$token"
exec "$bin" serve --listen "127.0.0.1:$port" --tls-listen "127.0.0.1:$tls_port" --tls-self-signed "${inspect[@]}"
