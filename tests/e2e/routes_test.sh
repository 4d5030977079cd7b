#!/usr/bin/env bash
# Every route over HTTP/1.1, HTTPS/1.1 and HTTPS/2, as the reference lab's curl commands call them.
source "$(dirname "$0")/lib.sh"

start_server routes LAB_ENABLE=true LAB_TOKEN="$TOKEN" -- --tls-listen 127.0.0.1:0 --tls-self-signed || exit 1
check_match "self-signed certificate fingerprint is logged" 'sha256=([0-9A-F]{2}:){31}[0-9A-F]{2}' "$(cat "$LOG")"

for proto in http1 https1 https2; do
  case $proto in
    http1) base=$URL; flags=(--http1.1); want=1.1 ;;
    https1) base=$TLS_URL; flags=(--http1.1); want=1.1 ;;
    https2) base=$TLS_URL; flags=(--http2); want=2 ;;
  esac
  req GET "$base/api/health" "${flags[@]}"
  check "$proto: GET /api/health is 200" 200 "$STATUS"
  check "$proto: negotiated HTTP/$want" "$want" "$HTTP_VERSION"
  check "$proto: health says healthy" healthy "$(json status)"
  check_match "$proto: health has version and uptime" '"version":"[0-9.]+".*"uptime":[0-9.]+' "$BODY"
  check_match "$proto: JSON content type" 'content-type: application/json' "$(echo "$HEADERS" | tr 'A-Z' 'a-z')"
  check_match "$proto: Content-Length, not chunked" "content-length: ${#BODY}" "$(echo "$HEADERS" | tr 'A-Z' 'a-z')"

  req GET "$base/api/lab/status" "${flags[@]}" -H "x-lab-token: $TOKEN"
  check "$proto: GET /api/lab/status is 200" 200 "$STATUS"
  check "$proto: labEnabled" true "$(json labEnabled)"
  check "$proto: appEnv null as in the reference" null "$(json appEnv)"
  for f in retainedBufferCount retainedBytes cpuProfileInProgress luaHeapBytes rssBytes; do
    check_match "$proto: status has $f" "\"$f\":" "$BODY"
  done

  req GET "$base/api/lab" "${flags[@]}" -H "x-lab-token: $TOKEN"
  check "$proto: GET /api/lab (catalog) is 200" 200 "$STATUS"
  for s in event-loop-jam memory-leak memory-clear listener-growth unbounded-cache request-buffer-retention; do
    check_match "$proto: catalog lists $s" "\"name\":\"$s\"" "$BODY"
  done

  req POST "$base/api/lab/event-loop-jam?ms=20" "${flags[@]}" -H "x-lab-token: $TOKEN"
  check "$proto: POST event-loop-jam?ms=20 is 200" 200 "$STATUS"
  check "$proto: jammedMs" 20 "$(json jammedMs)"
done

# the catalog describes parameters with type, range and default, and how to undo an exercise
lab GET /api/lab
check "catalog: event-loop-jam ms range" '{"accepts": "an integer from 1 to 60000 (default 2000)", "default": 2000, "doc": "how long to keep the loop busy", "max": 60000, "min": 1, "name": "ms", "required": false, "type": "integer"}' \
  "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=[x for x in d["scenarios"] if x["name"]=="event-loop-jam"][0]; print(json.dumps(s["params"][0], sort_keys=True))' "$BODY")"
check "catalog: memory-leak is undone by memory-clear" '{"method": "POST", "path": "/api/lab/memory-clear", "scenario": "memory-clear"}' \
  "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=[x for x in d["scenarios"] if x["name"]=="memory-leak"][0]; print(json.dumps(s["undo"], sort_keys=True))' "$BODY")"
check "catalog: every exercise that leaves something behind can be undone (not the tools: jam, snapshot, profile, clear)" "" \
  "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(" ".join(x["name"] for x in d["scenarios"] if "undo" not in x and x["name"] not in ("memory-clear","event-loop-jam","heap-snapshot","cpu-profile")))' "$BODY")"

# each realistic exercise contributes to status, and its undo brings it back
lab POST "/api/lab/listener-growth?count=25"
check "listener-growth adds 25 listeners" 25 "$(json listeners)"
check_match "listener-growth warns past maxListeners" 'level=warn msg="MaxListenersExceededWarning' "$(cat "$LOG")"
lab POST "/api/lab/unbounded-cache?users=10&kb=1"
check "unbounded-cache caches users x routes" 40 "$(json entries)"
lab POST "/api/lab/request-buffer-retention" --data-binary 'payload-kept-forever'
check "request-buffer-retention keeps the request body" 20 "$(json bytes)"
lab GET /api/lab/status
check "status: listener-growth contributes" 25 "$(json scenarios.listener-growth.listeners)"
check "status: unbounded-cache contributes" 40 "$(json scenarios.unbounded-cache.entries)"
check "status: request-buffer-retention contributes" 1 "$(json scenarios.request-buffer-retention.entries)"
lab POST "/api/lab/listener-growth?remove=true"; lab POST "/api/lab/unbounded-cache?clear=true"
lab POST "/api/lab/request-buffer-retention?clear=true"
lab GET /api/lab/status
check "undo: listeners back to 0" 0 "$(json scenarios.listener-growth.listeners)"
check "undo: cache back to 0" 0 "$(json scenarios.unbounded-cache.entries)"
check "undo: request log back to 0" 0 "$(json scenarios.request-buffer-retention.entries)"

# HEAD and wrong methods
req HEAD "$URL/api/health" -I
check "HEAD /api/health is 200" 200 "$STATUS"
check "HEAD has no body" "" "$(echo "$BODY" | grep -F "{")"
req POST "$URL/api/health"
check "POST /api/health is 405" 405 "$STATUS"
check_match "405 names the allowed methods" 'allow: get, head' "$(echo "$HEADERS" | tr 'A-Z' 'a-z')"
lab GET "/api/lab/event-loop-jam"
check "GET on a POST scenario is 405" 405 "$STATUS"
check "405 error code" method_not_allowed "$(json error)"
lab POST "/api/lab/status"
check "POST /api/lab/status is 405" 405 "$STATUS"

# the access log: one logfmt line per request, and lab actions with their parameters
check_match "access log line" 'msg=request method=POST path=/api/lab/event-loop-jam status=200 duration_ms=[0-9.]+ bytes=[0-9]+ proto=h2' "$(cat "$LOG")"
check_match "lab action line" 'msg="lab action" scenario=event-loop-jam params="ms=20" status=200' "$(cat "$LOG")"
check "the token never appears in the log" 0 "$(grep -c -- "$TOKEN" "$LOG")"

# SIGTERM with idle keep-alive HTTP/1.1 and HTTP/2 connections open: they are closed, exit 0
coproc IDLE { python3 "$E2E_DIR/idle_conns.py" "${URL##*:}" "${TLS_URL##*:}" 2>&1; }
read -r -t 10 line <&"${IDLE[0]}"
check "idle HTTP/1.1 and HTTP/2 connections are open" ready "$line"
stop_server routes
kill "$IDLE_PID" 2>/dev/null
finish
