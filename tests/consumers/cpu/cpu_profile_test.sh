#!/usr/bin/env bash
# A profile of a jam taken by the real server, read by DevTools' CPUProfileDataModel and by
# Speedscope (tests/consumers/cpu/check.mjs), which check the busy line holds the jam window.
source "$(dirname "$0")/../../e2e/lib.sh"
HERE=$(cd "$(dirname "$0")/.." && pwd)
: "${NODE:=node}"
if [ ! -d "$HERE/node_modules/chrome-devtools-frontend" ] || [ ! -d "$HERE/node_modules/speedscope" ]; then
  echo "tests/consumers/node_modules is missing: run \`make test\` or \`npm ci\` in tests/consumers"
  exit 1
fi

start_server consumers LAB_ENABLE=true LAB_TOKEN="$TOKEN" -- --artifacts "$WORK/artifacts" || exit 1
curl -sS -X POST -H "x-lab-token: $TOKEN" "$URL/api/lab/cpu-profile?seconds=3" -o "$WORK/profile.json" &
PROFILER=$!
for _ in $(seq 1 100); do
  lab GET /api/lab/status
  [ "$(json cpuProfileInProgress)" = true ] && break
  sleep 0.02
done
sleep 0.3
read -r T0 T1 STATUS < <(python3 - "$URL" "$TOKEN" <<'PY'
import sys, time, urllib.request
r = urllib.request.Request(sys.argv[1] + "/api/lab/event-loop-jam?ms=1500", method="POST", headers={"x-lab-token": sys.argv[2]})
t0 = time.monotonic()
with urllib.request.urlopen(r) as a: status = a.status; a.read()
print(int(t0 * 1e6), int(time.monotonic() * 1e6), status)
PY
)
check "the jam answers" 200 "$STATUS"
wait "$PROFILER"
BODY=$(cat "$WORK/profile.json")
FILE=$(json filePath)
check_cmp "the profile was written" "[ -s '$FILE' ]"
if "$NODE" "$HERE/cpu/check.mjs" "$FILE" "$T0" "$T1" "$(json foldedPath)"; then ok "DevTools and Speedscope read the profile"; else not_ok "DevTools and Speedscope read the profile"; fi
stop_server consumers
finish
