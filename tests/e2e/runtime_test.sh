#!/usr/bin/env bash
# The scenario runtime: coroutines and lab.sleep, errors, load failures, the Lua heap ceiling,
# folder overrides, and a graceful stop with a call in flight.
source "$(dirname "$0")/lib.sh"
SCEN=$(cd "$E2E_DIR/../../scenarios" && pwd)
start_server runtime LAB_ENABLE=true LAB_TOKEN="$TOKEN" LAB_LUA_MAX_MB=64 -- \
  --scenarios "$SCEN" --scenarios "$E2E_DIR/scenarios-extra" --scenarios "$E2E_DIR/scenarios-broken" || exit 1

# lab.sleep yields to the loop: a health check during a 1 s sleep answers at once
curl -s -o /dev/null -H "x-lab-token: $TOKEN" "$URL/api/lab/sleepy?ms=1000" & sleeper=$!
sleep 0.2
req GET "$URL/api/health"
check "health answers during a lab.sleep" 200 "$STATUS"
check_cmp "health took under 100 ms during the sleep" "python3 -c 'import sys; sys.exit(0 if $TIME < 0.1 else 1)'" "(took $TIME s)"
wait $sleeper
lab GET "/api/lab/sleepy?ms=300&times=3"
check "three sleeps in one run" 200 "$STATUS"
check_cmp "slept about 300 ms" "python3 -c 'import sys; s=$(json slept); sys.exit(0 if 295 <= s < 400 else 1)'" "(slept $(json slept))"
# ten concurrent sleepers all finish in about the time of one
t0=$(date +%s%N)
pids=()
for i in $(seq 1 10); do curl -s -o /dev/null -H "x-lab-token: $TOKEN" "$URL/api/lab/sleepy?ms=500" & pids+=($!); done
wait "${pids[@]}"
t1=$(date +%s%N)
check_cmp "10 concurrent 500 ms sleeps take < 1.5 s" "[ $(( (t1 - t0) / 1000000 )) -lt 1500 ]" "(took $(( (t1 - t0) / 1000000 )) ms)"

# runtime errors: 500 with message and traceback
lab POST /api/lab/boom
check "runtime error is 500" 500 "$STATUS"
check "runtime error code" scenario_error "$(json error)"
check_match "message names file and line" 'boom.lua:1: boom on purpose' "$(json message)"
check_match "traceback names the frames" "in (local|upvalue|function) 'inner'" "$(json traceback)"

# lab.fail picks the status; enum and required parameters
lab POST "/api/lab/teapot?word=coffee"
check "lab.fail status" 422 "$STATUS"
check "lab.fail code" no_coffee "$(json error)"
lab POST "/api/lab/teapot"
check "missing required parameter" 400 "$STATUS"
check "missing code" missing_parameter "$(json error)"
lab POST "/api/lab/teapot?word=milk"
check "enum refuses other words" 400 "$STATUS"
check_match "enum lists the words" 'one of tea, coffee' "$(json message)"
lab POST "/api/lab/teapot?word=tea"
check "answer JSON: null, arrays, nesting" '{"list":[1,2,3],"nested":{"deep":{"ok":true}},"null":null,"served":"tea"}' "$BODY"

for what in number yield nested-sleep function cycle; do
  lab POST "/api/lab/oddities?what=$what"
  check "oddity $what is 500" 500 "$STATUS"
  check_match "oddity $what explains" '"message":"[^"]{10,}' "$BODY"
done

# the Lua heap ceiling: 507, and the engine keeps serving
lab POST /api/lab/hog
check "allocation past LAB_LUA_MAX_MB is 507" 507 "$STATUS"
check "507 code" lua_memory_limit "$(json error)"
lab GET /api/lab/status
check "status after the hog" 200 "$STATUS"
check_cmp "the hog's heap was collected (< 16 MiB)" "[ $(json luaHeapBytes) -lt 16777216 ]" "(luaHeapBytes $(json luaHeapBytes))"
lab POST "/api/lab/event-loop-jam?ms=5"
check "scenarios still run after the hog" 200 "$STATUS"

# load failures: the route answers 503 with the load error, the catalog lists it
lab GET /api/lab
catalog=$BODY
err_of() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=[x for x in d["scenarios"] if x["name"]==sys.argv[2]]; print(s[0].get("error","<loaded>") if s else "<absent>")' "$catalog" "$1"; }
check_match "syntax error listed" "syntax.lua:3: .*expected" "$(err_of syntax)"
check_match "reserved name listed" "'status' is a reserved name" "$(err_of status)"
check_match "bad type listed" "type must be integer, number, string or boolean" "$(err_of baddecl)"
check_match "bad default listed" "bad default: ms must be an integer from 1 to 5" "$(err_of baddefault)"
check_match "no table listed" "must return a table" "$(err_of noreturn)"
check_match "load-time error listed" "fails while loading" "$(err_of loaderror)"
check_match "undo of a missing scenario listed" "undo names scenario 'nothing-here'" "$(err_of badundo)"
check "bad file name skipped" "<absent>" "$(err_of Bad.Name)"
check_match "bad file name warned" 'skipping .*Bad.Name.lua' "$(cat "$LOG")"
lab POST /api/lab/syntax
check "a broken scenario answers 503" 503 "$STATUS"
check_match "503 carries the load error" 'failed to load: .*syntax.lua:3' "$(json message)"
lab GET /api/lab/status
check "status still answers with broken scenarios" 200 "$STATUS"

# a later folder overrides a scenario of the same name
lab POST /api/lab/memory-clear
check "override: the later memory-clear runs" true "$(json overridden)"
check_match "override is logged" 'msg="scenario overridden" scenario=memory-clear' "$(cat "$LOG")"

# SIGTERM with a call in flight: it finishes, its answer arrives, exit 0
curl -s -o "$WORK/inflight.json" -w '%{http_code}' -H "x-lab-token: $TOKEN" "$URL/api/lab/sleepy?ms=800" > "$WORK/inflight.status" & inflight=$!
sleep 0.2
kill -TERM "$PID"
wait $inflight
check "the in-flight call is answered during shutdown" 200 "$(cat "$WORK/inflight.status")"
check_match "with its result" '"slept":8[0-9][0-9]' "$(cat "$WORK/inflight.json")"
rc=0; wait "$PID" || rc=$?
check "exit 0 after a graceful stop" 0 "$rc"
check_match "stop logged with the call in flight" 'msg=stopping signal=SIGTERM in_flight=1' "$(cat "$LOG")"
req GET "$URL/api/health"
check "no longer accepting" 000 "$STATUS"

# the grace bound: a call longer than LAB_SHUTDOWN_GRACE_MS is dropped, exit still 0
start_server grace LAB_ENABLE=true LAB_TOKEN="$TOKEN" LAB_SHUTDOWN_GRACE_MS=300 -- --scenarios "$E2E_DIR/scenarios-extra" || exit 1
curl -s -o /dev/null -m 10 -H "x-lab-token: $TOKEN" "$URL/api/lab/sleepy?ms=5000" &
sleep 0.2
t0=$(date +%s%N)
stop_server grace
t1=$(date +%s%N)
check_cmp "stopped within the grace bound (< 1.5 s)" "[ $(( (t1 - t0) / 1000000 )) -lt 1500 ]" "(took $(( (t1 - t0) / 1000000 )) ms)"
check_match "dropped call logged" 'still running at the grace limit' "$(cat "$LOG")"
finish
