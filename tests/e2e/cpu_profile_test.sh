#!/usr/bin/env bash
# The cpu-profile exercise over HTTP: parameters, one profile at a time (409), status, the
# files it writes, a jam caught in the profile, the folded file, and `proflab analyze`.
source "$(dirname "$0")/lib.sh"

ART=$WORK/artifacts
start_server prof LAB_ENABLE=true LAB_TOKEN="$TOKEN" -- --artifacts "$ART" \
  --scenarios "$E2E_DIR/../../scenarios" --scenarios "$E2E_DIR/scenarios-prof" || exit 1

for bad in "seconds=0" "seconds=121" "seconds=abc" "seconds=1.5" "seconds=" "interval_us=99" "interval_us=100001"; do
  lab POST "/api/lab/cpu-profile?$bad"
  check "cpu-profile?$bad is 400" 400 "$STATUS"
  check "cpu-profile?$bad says bad_parameter" bad_parameter "$(json error)"
done
lab GET /api/lab/cpu-profile
check "cpu-profile answers POST only" 405 "$STATUS"
lab GET /api/lab/status
check "no profile in progress at start" false "$(json cpuProfileInProgress)"

# a 2 s profile in the background, a 1.5 s jam inside it
curl -sS -X POST -H "x-lab-token: $TOKEN" "$URL/api/lab/cpu-profile?seconds=2" -o "$WORK/profile.json" -w '%{http_code}' >"$WORK/profile.code" &
PROFILER=$!
for _ in $(seq 1 100); do
  lab GET /api/lab/status
  [ "$(json cpuProfileInProgress)" = true ] && break
  sleep 0.02
done
check "status shows cpuProfileInProgress while it runs" true "$(json cpuProfileInProgress)"
lab POST "/api/lab/cpu-profile?seconds=1"
check "a second profile is 409" 409 "$STATUS"
check "a second profile says profile_in_progress" profile_in_progress "$(json error)"
# the jam window on the server's clock (CLOCK_MONOTONIC, as Python's time.monotonic)
read -r T0 T1 STATUS < <(python3 - "$URL" "$TOKEN" <<'EOF'
import sys, time, urllib.request
r = urllib.request.Request(sys.argv[1] + "/api/lab/event-loop-jam?ms=1500", method="POST", headers={"x-lab-token": sys.argv[2]})
t0 = time.monotonic()
with urllib.request.urlopen(r) as a: status = a.status; a.read()
print(int(t0 * 1e6), int(time.monotonic() * 1e6), status)
EOF
)
check "the jam inside the profile answers" 200 "$STATUS"
wait "$PROFILER"
check "the profile answers 200" 200 "$(cat "$WORK/profile.code")"
BODY=$(cat "$WORK/profile.json")
FILE=$(json filePath)
FOLDED=$(json foldedPath)
SAMPLES=$(json samples)
check_match "filePath is cpu-<ISO time>-<8 hex>.cpuprofile in the artifact folder" \
  "^$ART/cpu-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}\.[0-9]{3}Z-[0-9a-f]{8}\.cpuprofile$" "$FILE"
check_cmp "the profile file exists" "[ -s '$FILE' ]"
# at least 2 s: more when the jam still held the loop as the 2 s ended (the wake-up waits for it)
DURATION=$(json durationSeconds)
check_match "durationSeconds is 2 or a little more" '^2\.[0-9]*$' "$DURATION"
# wall-clock sampling: one sample a millisecond whatever the load (95% at least, no extra)
check_cmp "one sample per ms of the profile (got $SAMPLES in ${DURATION}s)" \
  "python3 -c 'import sys; d = $DURATION * 1000; sys.exit(0 if 0.95 * d <= $SAMPLES <= 1.01 * d + 2 else 1)'"
lab GET /api/lab/status
check "no profile in progress after it" false "$(json cpuProfileInProgress)"

# the file: samples match the answer, and the jam window is the busy line's
VERDICT=$(python3 - "$FILE" "$T0" "$T1" "$SAMPLES" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1])); t0, t1, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
nodes = {x["id"]: x for x in p["nodes"]}
assert p["nodes"][0]["callFrame"]["functionName"] == "(root)", "first node is not (root)"
assert len(p["samples"]) == len(p["timeDeltas"]) == n, "samples/timeDeltas/answer disagree"
assert all(isinstance(d, int) and d >= 0 for d in p["timeDeltas"]), "a time delta is negative"
t, inside, busy = p["startTime"], 0, 0
for s, d in zip(p["samples"], p["timeDeltas"]):
    t += d
    if t0 <= t <= t1:
        inside += 1
        cf = nodes[s]["callFrame"]
        busy += cf["functionName"] == "spin" and cf["url"].endswith("/event-loop-jam.lua")
spin = [x for x in p["nodes"] if x["callFrame"]["functionName"] == "spin"]
ticks = {pt["line"]: pt["ticks"] for x in spin for pt in x.get("positionTicks", [])}
line = max(ticks, key=ticks.get) if ticks else None
print(f"inside={inside} busy={busy} share={busy / max(inside, 1):.3f} line={line} "
      f"lineshare={ticks.get(line, 0) / max(sum(ticks.values()), 1):.3f}")
EOF
)
echo "# jam window: $VERDICT"
check_match "the jam window holds about 1500 samples" 'inside=1(4[5-9][0-9]|5[0-4][0-9])' "$VERDICT"
check_cmp "spin holds at least 90% of the jam window's samples" "python3 -c 'import sys; sys.exit(0 if float(\"$VERDICT\".split(\"share=\")[1].split()[0]) >= 0.90 else 1)'"
check_match "spin's hot line is the busy line (11)" 'line=11 lineshare=(0\.9|1\.0)' "$VERDICT"

# the folded file sums to the same count, and names the busy function under the jam's run
check_cmp "folded file exists" "[ -s '$FOLDED' ]"
check "folded counts sum to the sample count" "$SAMPLES" "$(awk '{s += $NF} END {print s}' "$FOLDED")"
check_match "folded has run;spin" '\(anonymous @ event-loop-jam\.lua:[0-9]+\) \(event-loop-jam\.lua:[0-9]+\);spin \(event-loop-jam\.lua:6\) [0-9]+' "$(cat "$FOLDED")"
check_match "folded has (idle)" '(^|
)\(idle\) [0-9]+' "$(cat "$FOLDED")"

# proflab analyze: the busy function first by self time, with its file, line and hot line
REPORT=$("$PROFLAB_BIN" analyze "$FILE" --top 5)
check "analyze exits 0" 0 "$?"
FIRST=$(echo "$REPORT" | sed -n '/by self time/{n;n;p}')
check_match "analyze: spin first by self time" 'spin +.*event-loop-jam\.lua:6 +\(line 11: (9[0-9]|100)\.[0-9]% of self\)' "$FIRST"
check_match "analyze: a total-time table" 'Top 5 by total time' "$REPORT"
"$PROFLAB_BIN" analyze "$FILE" --top 0 >/dev/null 2>&1
check "analyze --top 0 is a usage error" 2 "$?"
"$PROFLAB_BIN" analyze "$WORK/missing.cpuprofile" >/dev/null 2>"$WORK/an.err"
check "analyze of a missing file fails" 1 "$?"
echo '{"nodes":[]}' >"$WORK/empty.cpuprofile"
"$PROFLAB_BIN" analyze "$WORK/empty.cpuprofile" >/dev/null 2>"$WORK/an.err"
check "analyze of a file without nodes fails" 1 "$?"
check_match "and says why" 'not a .cpuprofile' "$(cat "$WORK/an.err")"

# a short profile at 100 us still works, and the loop stays free meanwhile
curl -sS -X POST -H "x-lab-token: $TOKEN" "$URL/api/lab/cpu-profile?seconds=1&interval_us=100" -o "$WORK/fast.json" &
FAST=$!
sleep 0.3
req GET "$URL/api/health"
check "health answers while a profile runs" 200 "$STATUS"
check_cmp "and quickly (${TIME}s)" "python3 -c 'import sys; sys.exit(0 if $TIME < 0.2 else 1)'"
wait "$FAST"
BODY=$(cat "$WORK/fast.json")
check_cmp "1 s at 100 us: at least 9500 samples (got $(json samples))" "[ '$(json samples)' -ge 9500 ]"

# attribution: a coroutine resumed from Lua, a C function, a stack deeper than 256 frames
for mode in coro crep deep; do
  lab POST "/api/lab/prof-work?mode=$mode"
  check "prof-work?mode=$mode is 200" 200 "$STATUS"
  VERDICT=$(python3 - "$(json filePath)" "$mode" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1])); mode = sys.argv[2]
nodes = {x["id"]: x for x in p["nodes"]}
parent = {c: x["id"] for x in p["nodes"] for c in x.get("children", [])}
def path(i):
    out = []
    while i in nodes:
        out.append(nodes[i]["callFrame"]["functionName"]); i = parent.get(i)
    return out[::-1]
paths = [path(s) for s in p["samples"]]
n = len(paths)
leaf = lambda name: sum(1 for q in paths if q[-1] == name) / n
if mode == "coro":
    print(f"inner={leaf('inner'):.2f} wrapped={sum(1 for q in paths if q[-1] == 'inner' and q[-2].startswith('(anonymous @ prof-work.lua:')) / n:.2f}")
elif mode == "crep":
    print(f"rep={leaf('string.rep'):.2f} under={sum(1 for q in paths if q[-2:] == ['reps', 'string.rep']) / n:.2f}")
else:
    cut = [q for q in paths if q[1] == "(truncated)"]
    print(f"truncated={len(cut) / n:.2f} depth={max(len(q) for q in paths)} inner={leaf('inner'):.2f}")
EOF
)
  echo "# $mode: $VERDICT"
  case $mode in
    coro) check_match "samples inside coroutine.wrap land on its function (>= 90%)" 'inner=(0\.9|1\.0).* wrapped=(0\.9|1\.0)' "$VERDICT" ;;
    crep) check_match "samples inside a C function name it, under its Lua caller: reps;string.rep (>= 50%)" 'rep=(0\.[5-9]|1\.0).* under=(0\.[5-9]|1\.0)' "$VERDICT" ;;
    deep) check_match "a 300-deep stack is cut at 256 frames under (truncated)" 'truncated=(0\.9|1\.0)[0-9]* depth=258 inner=(0\.9|1\.0)' "$VERDICT"
          check_cmp "the answer counts the cut stacks" "[ '$(json truncated)' -gt 0 ]" ;;
  esac
done

stop_server prof
finish
