# lib.sh: start the real server on ephemeral ports and check what it answers.
# Sourced by the e2e tests; PROFLAB_BIN is the binary under test.
set -uo pipefail
: "${PROFLAB_BIN:?set PROFLAB_BIN}"
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d /tmp/proflab-e2e.XXXXXX)
PASSED=0
FAILED=0
SERVER_PIDS=()
TOKEN=e2e-token-$$

cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# check NAME EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3"; fi; }
# check_match NAME REGEX ACTUAL
check_match() { if [[ "$3" =~ $2 ]]; then ok "$1"; else not_ok "$1" "expected to match: $2" "actual: ${3:0:600}"; fi; }
# check_true NAME CONDITION-TEXT (evaluated by bash arithmetic or test)
check_cmp() { if eval "$2"; then ok "$1"; else not_ok "$1" "condition failed: $2 ${3:-}"; fi; }

# start_server NAME [VAR=VALUE ...] [-- serve options]: sets URL, TLS_URL, PID, LOG
start_server() {
  local name=$1; shift
  local envs=() args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  args=("$@")
  LOG=$WORK/$name.log
  env -u LAB_ENABLE -u LAB_TOKEN -u APP_ENV -u NODE_ENV -u LAB_ALLOW_PROD -u PORT "${envs[@]}" \
    "$PROFLAB_BIN" serve --listen 127.0.0.1:0 "${args[@]}" 2>"$LOG" &
  PID=$!
  SERVER_PIDS+=("$PID")
  URL="" TLS_URL=""
  for _ in $(seq 1 200); do
    URL=$(sed -n 's/.*msg=listening url=\(http:[^ ]*\).*/\1/p' "$LOG" | head -n1)
    TLS_URL=$(sed -n 's/.*msg=listening url=\(https:[^ ]*\).*/\1/p' "$LOG" | head -n1)
    if [ -n "$URL" ]; then
      if ! printf '%s\n' "${args[@]}" | grep -q -- --tls-listen || [ -n "$TLS_URL" ]; then return 0; fi
    fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "server $name did not start:"; cat "$LOG"
  return 1
}

# stop_server: SIGTERM, and the exit code must be 0 (LeakSanitizer makes it non-zero on a leak)
stop_server() {
  local name=${1:-server}
  kill -TERM "$PID" 2>/dev/null
  local rc=0
  wait "$PID" || rc=$?
  check "$name exits 0 on SIGTERM" 0 "$rc"
  [ "$rc" = 0 ] || tail -n 30 "$LOG" | sed 's/^/#   /'
}

# req METHOD URL [curl args...]: sets STATUS, BODY, TIME (seconds), HEADERS
req() {
  local method=$1 url=$2; shift 2
  local out=$WORK/body.$$ hdr=$WORK/hdr.$$ meta
  meta=$(curl -sS -k -o "$out" -D "$hdr" -X "$method" -w '%{http_code} %{time_total} %{http_version}' "$@" "$url" 2>"$WORK/curl.err") || true
  STATUS=${meta%% *}
  TIME=$(echo "$meta" | cut -d' ' -f2)
  HTTP_VERSION=$(echo "$meta" | cut -d' ' -f3)
  BODY=$(cat "$out" 2>/dev/null)
  HEADERS=$(cat "$hdr" 2>/dev/null)
}

lab() { req "$1" "$URL$2" -H "x-lab-token: $TOKEN" "${@:3}"; }

# json FIELD: a field of BODY (jq-like path in python)
json() { python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k)
print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$BODY" "$1" 2>/dev/null || echo "<no json>"; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
