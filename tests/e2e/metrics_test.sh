#!/usr/bin/env bash
# /api/metrics: promtool-clean exposition, sound histograms and no duplicate series (read back
# by promcheck.py), route templates, scenario metrics, memory figures, and during a jam the
# admin listener and the watchdog.
source "$(dirname "$0")/lib.sh"
SCEN=$(cd "$E2E_DIR/../../scenarios" && pwd)
PROMCHECK="python3 $E2E_DIR/promcheck.py"
command -v promtool >/dev/null || { not_ok "promtool is installed (Debian: prometheus)"; finish; exit 1; }
start_server metrics LAB_ENABLE=true LAB_TOKEN="$TOKEN" -- \
  --scenarios "$SCEN" --scenarios "$E2E_DIR/scenarios-metrics" --admin-listen 127.0.0.1:0 || exit 1
ADMIN=$(sed -n 's/.*msg="admin listening" url=\([^ ]*\).*/\1/p' "$LOG" | head -n1)
check_match "the admin listener logs its URL" '^http://127\.0\.0\.1:[0-9]+/api/metrics$' "$ADMIN"

# scrape NAME [URL]: the exposition into $WORK/NAME.prom
scrape() {
  local out=$WORK/$1.prom
  curl -sS -o "$out" -w '%{http_code} %{time_total}' "${2:-$URL/api/metrics}" > "$WORK/$1.meta" 2>"$WORK/curl.err" || true
}
# val NAME METRIC [label=value ...]: one series' value from a scrape
val() { local f=$1; shift; $PROMCHECK get "$WORK/$f.prom" "$@" 2>&1; }
# sound NAME: promtool lint and promcheck both clean
sound() {
  local lint
  lint=$(promtool check metrics < "$WORK/$1.prom" 2>&1); local rc=$?
  check "promtool check metrics ($1): exit 0, no findings" "0:" "$rc:$lint"
  check "promcheck ($1): histograms sound, no duplicate series" "" "$($PROMCHECK check "$WORK/$1.prom")"
}
ge() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }

req GET "$URL/api/metrics"
check "GET /api/metrics is 200 without a token" 200 "$STATUS"
check_match "Content-Type is the 0.0.4 text format" $'content-type: text/plain; version=0.0.4; charset=utf-8\r' "$HEADERS"
req POST "$URL/api/metrics"
check "POST /api/metrics is 405" 405 "$STATUS"
req GET "$ADMIN"
check "the admin listener answers GET /api/metrics" 200 "$STATUS"
check_match "with the 0.0.4 Content-Type" $'Content-Type: text/plain; version=0.0.4; charset=utf-8\r' "$HEADERS"
req HEAD "$ADMIN" -I
check "and HEAD" 200 "$STATUS"
req POST "$ADMIN"
check "POST on the admin listener is 405" "405 method_not_allowed" "$STATUS $(json error)"
req GET "${ADMIN%/api/metrics}/api/lab/status"
check "the admin listener serves nothing else (404)" "404 not_found" "$STATUS $(json error)"

# traffic on every kind of route, then the figures
req GET "$URL/api/health"
req GET "$URL/api/health"
req GET "$URL/api/nowhere/secret-$$"
lab GET "/api/lab/no-such-scenario-$$"
lab GET "/api/lab/artifacts"
artifacts_status=$STATUS
lab GET "/api/lab/artifacts/none-$$.cpuprofile"
artifact_status=$STATUS
lab POST "/api/lab/listener-growth?count=7&kb=1"
lab POST "/api/lab/unbounded-cache?users=5&kb=1"
lab POST "/api/lab/metrics-demo?kind=pen&n=3&size=2000&depth=10"
check "metrics-demo answers" '{"observed":3,"orders":3,"queue":11,"sum":6000}' "$BODY"
lab POST "/api/lab/metrics-demo?kind=weird%22kind%5C&n=1"
scrape base
sound base
for fam in process_cpu_user_seconds_total process_cpu_system_seconds_total process_cpu_seconds_total \
  process_resident_memory_bytes process_virtual_memory_bytes process_heap_bytes process_open_fds process_max_fds \
  process_start_time_seconds proflab_eventloop_lag_min_seconds proflab_eventloop_lag_max_seconds \
  proflab_eventloop_lag_mean_seconds proflab_eventloop_lag_stddev_seconds proflab_eventloop_lag_p50_seconds \
  proflab_eventloop_lag_p90_seconds proflab_eventloop_lag_p99_seconds proflab_eventloop_lag_seconds \
  proflab_eventloop_utilization proflab_lua_heap_bytes proflab_lua_gc_cycles_total proflab_lua_gc_seconds_total \
  proflab_lab_retained_bytes proflab_lab_retained_buffers proflab_lab_cpu_profile_in_progress proflab_lab_artifacts proflab_lab_artifacts_bytes proflab_lab_scenario_calls_in_flight proflab_eventloop_blocked_seconds \
  proflab_eventloop_blocks_total proflab_eventloop_block_duration_seconds http_requests_total \
  http_request_duration_seconds; do
  grep -q "^# TYPE $fam " "$WORK/base.prom" && ok "family $fam" || not_ok "family $fam is exposed"
done
check "no block at idle" 0 "$(val base proflab_eventloop_blocks_total)"
check "counters and histograms never step back across 300 scrapes" "" "$($PROMCHECK monotonic "$URL/api/metrics" 300)"
check_cmp "an idle loop is mostly waiting for I/O (utilization < 0.5: the epoll_wait marks work)" "python3 -c 'import sys; sys.exit(0 if 0 < $(val base proflab_eventloop_utilization) < 0.5 else 1)'"
check_cmp "its idle time is counted" "python3 -c 'import sys; sys.exit(0 if $(val base proflab_eventloop_idle_seconds_total) > 0 else 1)'"
check_cmp "an idle loop's lag p50 is the 10 ms resolution (as in Node)" "python3 -c 'import sys; sys.exit(0 if 0.0095 < $(val base proflab_eventloop_lag_p50_seconds) < 0.02 else 1)'"
check_match "proflab_info names the versions" 'proflab_info\{version="[0-9.]+",lua="Lua 5\.4\.[0-9]+",h2o="2\.2\.[0-9]+",openssl="OpenSSL [^"]+"\} 1' "$(cat "$WORK/base.prom")"
check "health counted by route template" 2 "$(val base http_requests_total method=GET route=/api/health status=200)"
check "an unknown path counts as <other>, never itself" 1 "$(val base http_requests_total method=GET route='<other>' status=404)"
check "an unknown scenario counts as /api/lab/<unknown>" 1 "$(val base http_requests_total method=GET route='/api/lab/<unknown>' status=404)"
check "the artifact list counts by its route" 1 "$(val base http_requests_total method=GET route=/api/lab/artifacts status="$artifacts_status")"
check "an artifact download counts as /api/lab/artifacts/<name>" 1 "$(val base http_requests_total method=GET route='/api/lab/artifacts/<name>' status="$artifact_status")"
check "no raw path in any label" "" "$(grep -E "secret-$$|no-such-scenario-$$|none-$$" "$WORK/base.prom")"
check "a scenario route is its template" 1 "$(val base http_request_duration_seconds_count method=POST route=/api/lab/listener-growth)"
check_cmp "process_open_fds counts descriptors" "python3 -c 'import sys; sys.exit(0 if 3 <= $(val base process_open_fds) < 1000 else 1)'"
check "listener-growth exports its listener count" 7 "$(val base listener_growth_listeners)"
check "unbounded-cache exports its entries" 20 "$(val base unbounded_cache_entries)"
check_cmp "unbounded-cache exports its bytes" "ge $(val base unbounded_cache_bytes) 20480"
check "a scenario counter by label" 3 "$(val base demo_orders_total kind=pen)"
check "a label value with a quote and a backslash reads back" 1 "$(val base demo_orders_total 'kind=weird"kind\')"
check "a scenario histogram's count" 3 "$(val base demo_order_size_bytes_count kind=pen)"
check "a scenario histogram's bucket" 0 "$(val base demo_order_size_bytes_bucket kind=pen le=1000)"
check "a scenario histogram's +Inf" 3 "$(val base demo_order_size_bytes_bucket kind=pen le=+Inf)"
check "a scenario gauge (set 0, inc 2, dec 1 by the last call)" 1 "$(val base demo_queue_depth)"
check "uptime: the start time is now-ish" 1 "$(python3 -c 'import sys,time; print(1 if abs(time.time() - float(sys.argv[1])) < 120 else 0)' "$(val base process_start_time_seconds)")"

# declarations and updates are checked
lab GET /api/lab
for s in badname duplicate reserved nototal; do
  check "metrics-$s does not load" false "$(python3 -c 'import json,sys; print(json.dumps([x["loaded"] for x in json.loads(sys.argv[1])["scenarios"] if x["name"]==sys.argv[2]][0]))' "$BODY" "metrics-$s")"
done
catalog_error() { python3 -c 'import json,sys; print([x.get("error","") for x in json.loads(sys.argv[1])["scenarios"] if x["name"]==sys.argv[2]][0])' "$BODY" "$1"; }
check_match "a bad name says why" "'bad-name' is not a Prometheus metric name" "$(catalog_error metrics-badname)"
check_match "a duplicate names the first declaration" "listener_growth_listeners is already declared \(by .*scenarios/listener-growth.lua:[0-9]+\)" "$(catalog_error metrics-duplicate)"
check_match "engine names are refused" "process_open_fds: names starting with process_ are the engine's own" "$(catalog_error metrics-reserved)"
check_match "a counter needs _total" "counter demo_orders must end in _total" "$(catalog_error metrics-nototal)"
for probe in negative undeclared missing set-counter; do
  lab POST "/api/lab/metrics-demo?probe=$probe"
  check "metrics-demo probe=$probe is a scenario error" 500 "$STATUS"
done
check_match "a counter only goes up" "a counter only goes up" "$(lab POST '/api/lab/metrics-demo?probe=negative'; json message)"
check_match "an undeclared label is named" "label 'color' is not declared" "$(lab POST '/api/lab/metrics-demo?probe=undeclared'; json message)"

# memory: retained bytes and RSS follow memory-leak and memory-clear
scrape mem0
lab POST "/api/lab/memory-leak?mb=64"
lab POST "/api/lab/memory-leak?mb=64"
scrape mem1
lab POST /api/lab/memory-clear
scrape mem2
r0=$(val mem0 proflab_lab_retained_bytes); r1=$(val mem1 proflab_lab_retained_bytes); r2=$(val mem2 proflab_lab_retained_bytes)
m0=$(val mem0 process_resident_memory_bytes); m1=$(val mem1 process_resident_memory_bytes); m2=$(val mem2 process_resident_memory_bytes)
check "retained bytes grew by 128 MiB" 134217728 "$((r1 - r0))"
check "two retained buffers" 2 "$(val mem1 proflab_lab_retained_buffers)"
check_cmp "RSS grew by at least 128 MiB" "[ $((m1 - m0)) -ge 134217728 ]" "(grew $(( (m1 - m0) >> 20 )) MiB)"
check "retained bytes back to 0 after memory-clear" 0 "$r2"
check_cmp "RSS back within 8 MiB after memory-clear" "[ $((m2 - m0)) -le $((8 << 20)) ]" "(before $((m0 >> 20)) MiB, after $((m2 >> 20)) MiB)"
check_cmp "memory-clear's collection counted a GC cycle" "ge $(val mem2 proflab_lua_gc_cycles_total) $(( $(val mem0 proflab_lua_gc_cycles_total) + 1 ))"
check_cmp "and its time" "python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' $(val mem2 proflab_lua_gc_seconds_total) $(val mem0 proflab_lua_gc_seconds_total)"
check_cmp "the Lua heap is counted" "ge $(val mem2 proflab_lua_heap_bytes) 10000"

# a 3 s jam: the admin listener answers at once and shows the block growing
scrape before_jam
blocks0=$(val before_jam proflab_eventloop_blocks_total)
log_at_jam=$(wc -l < "$LOG")
curl -s -o "$WORK/jam.json" -X POST -H "x-lab-token: $TOKEN" "$URL/api/lab/event-loop-jam?ms=3000" & jam=$!
sleep 0.6
scrape a1 "$ADMIN"
sleep 1
scrape a2 "$ADMIN"
read -r st1 t1 < "$WORK/a1.meta"; read -r st2 t2 < "$WORK/a2.meta"
check "admin answers 200 during the jam" "200 200" "$st1 $st2"
check_cmp "admin answered within 100 ms during the jam" "python3 -c 'import sys; sys.exit(0 if max($t1, $t2) < 0.1 else 1)'" "(took $t1 s and $t2 s)"
b1=$(val a1 proflab_eventloop_blocked_seconds); b2=$(val a2 proflab_eventloop_blocked_seconds)
check_cmp "the ongoing block shows in the first admin scrape" "python3 -c 'import sys; sys.exit(0 if 0.3 < $b1 < 1.5 else 1)'" "(blocked_seconds $b1)"
check_cmp "blocked_seconds rose by about 1 s between scrapes 1 s apart" "python3 -c 'import sys; d=$b2-$b1; sys.exit(0 if 0.85 < d < 1.25 else 1)'" "($b1 then $b2)"
sound a2
wait $jam
scrape after_jam
check_cmp "the loop's lag max is at least 3 s" "ge $(val after_jam proflab_eventloop_lag_max_seconds) 3"
check "no block in progress after the jam" 0 "$(val after_jam proflab_eventloop_blocked_seconds)"
check "one more block counted" $((blocks0 + 1)) "$(val after_jam proflab_eventloop_blocks_total)"
check_cmp "the finished block is in the duration histogram (>= 3 s)" "ge $(val after_jam proflab_eventloop_block_duration_seconds_sum) 3"
check "the bucket le=2.5 does not hold it" "$(val before_jam proflab_eventloop_block_duration_seconds_bucket le=2.5)" "$(val after_jam proflab_eventloop_block_duration_seconds_bucket le=2.5)"
sound after_jam
tail -n +$((log_at_jam + 1)) "$LOG" > "$WORK/jam.log"
jamline=$(grep -m1 'msg="event loop blocked 100 ms+' "$WORK/jam.log")
check_match "the watchdog names the jam's file and line while it lasts" 'msg="event loop blocked 100 ms\+ at scenarios/event-loop-jam\.lua:(9|1[0-3]) in spin"' "$jamline"
check_match "and logs the full duration when the loop returns" 'msg="event loop unblocked after 30[0-9][0-9] ms at scenarios/event-loop-jam\.lua:[0-9]+ in spin"' "$(grep -m1 'unblocked after' "$WORK/jam.log")"
lab GET /api/lab/status
check_cmp "status shows the last block's duration" "ge $(json lastBlock.durationMs) 3000"
check_match "status shows the last block's stack, run named from the scenario table" '^\["scenarios/event-loop-jam\.lua:[0-9]+ in spin", "scenarios/event-loop-jam\.lua:[0-9]+ in run"\]$' "$(json lastBlock.stack)"
check "status names the blocking line" "$(sed -n 's/.*at="\([^"]*\)".*/\1/p' <<<"$jamline")" "$(json lastBlock.at)"

stop_server metrics

# a block inside C code called from Lua: said while it lasts, then the Lua line once Lua resumes
start_server cblock LAB_ENABLE=true LAB_TOKEN="$TOKEN" LAB_BLOCKED_THRESHOLD_MS=10 || exit 1
lab POST "/api/lab/memory-leak?mb=512"
check "memory-leak 512 answers" 200 "$STATUS"
check_match "a block in lab.buffer is reported as C code" 'msg="event loop blocked 10 ms\+ in C code \(no Lua instruction ran since\)"' "$(cat "$LOG")"
check_match "then the Lua line that called it" 'msg="event loop unblocked after [0-9]+ ms at scenarios/memory-leak\.lua:[0-9]+ in run"' "$(grep 'memory-leak.lua' "$LOG" | grep unblocked)"
stop_server cblock
PID=""
env LAB_BLOCKED_THRESHOLD_MS=5 "$PROFLAB_BIN" serve --listen 127.0.0.1:0 > /dev/null 2> "$WORK/bad.log"; rc=$?
check "LAB_BLOCKED_THRESHOLD_MS=5 is refused at start" "2 proflab: LAB_BLOCKED_THRESHOLD_MS must be from 10 to 3600000, got '5'" "$rc $(cat "$WORK/bad.log")"
"$PROFLAB_BIN" serve --admin-listen nowhere > /dev/null 2> "$WORK/bad.log"; rc=$?
check "--admin-listen without a port is refused" "2 proflab serve: --admin-listen wants HOST:PORT, got 'nowhere'" "$rc $(cat "$WORK/bad.log")"
finish
