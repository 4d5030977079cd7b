#!/usr/bin/env bash
# Hostile input: every case gets the right status and a JSON error; the server keeps serving.
source "$(dirname "$0")/lib.sh"
start_server hostile LAB_ENABLE=true LAB_TOKEN="$TOKEN" LAB_MAX_RETAINED_MB=200 || exit 1

# METHOD PATH STATUS ERROR-CODE MESSAGE-REGEX
while IFS='|' read -r method path status code msg; do
  [ -z "$method" ] && continue
  lab "$method" "$path"
  check "$method $path -> $status" "$status" "$STATUS"
  check "$method $path -> $code" "$code" "$(json error)"
  [ -n "$msg" ] && check_match "$method $path message" "$msg" "$(json message)"
done <<'CASES'
POST|/api/lab/event-loop-jam?ms=abc|400|bad_parameter|ms must be an integer from 1 to 60000 \(default 2000\); got 'abc'
POST|/api/lab/event-loop-jam?ms=1.5|400|bad_parameter|ms must be an integer from 1 to 60000
POST|/api/lab/event-loop-jam?ms=|400|bad_parameter|ms must be
POST|/api/lab/event-loop-jam?ms|400|bad_parameter|ms must be
POST|/api/lab/event-loop-jam?ms=0|400|bad_parameter|from 1 to 60000
POST|/api/lab/event-loop-jam?ms=-5|400|bad_parameter|got '-5'
POST|/api/lab/event-loop-jam?ms=60001|400|bad_parameter|from 1 to 60000
POST|/api/lab/event-loop-jam?ms=999999|400|bad_parameter|got '999999'
POST|/api/lab/event-loop-jam?ms=99999999999999999999999|400|bad_parameter|ms must be
POST|/api/lab/event-loop-jam?ms=1e3|400|bad_parameter|ms must be
POST|/api/lab/event-loop-jam?ms=0x10|400|bad_parameter|ms must be
POST|/api/lab/event-loop-jam?ms=%2B5|400|bad_parameter|ms must be
POST|/api/lab/event-loop-jam?ms=5%|400|bad_parameter|broken percent-encoding
POST|/api/lab/event-loop-jam?ms=%zz|400|bad_parameter|broken percent-encoding
POST|/api/lab/event-loop-jam?ms=1&ms=2|400|repeated_parameter|ms is given more than once
POST|/api/lab/event-loop-jam?mss=1|400|unknown_parameter|unknown parameter 'mss'; it accepts ms
POST|/api/lab/event-loop-jam?ms=%00|400|bad_parameter|\\x00
POST|/api/lab/memory-leak?mb=5000|400|bad_parameter|mb must be an integer from 1 to 1024 \(default 64\)
POST|/api/lab/memory-leak?mb=0|400|bad_parameter|from 1 to 1024
POST|/api/lab/memory-clear?x=1|400|unknown_parameter|it takes no parameters
POST|/api/lab/listener-growth?remove=maybe|400|bad_parameter|remove must be true, false, 1 or 0
POST|/api/lab/no-such-scenario|404|unknown_scenario|GET /api/lab lists them
POST|/api/lab/..%2f..%2fetc%2fpasswd|404|not_found|
POST|/api/lab/../../etc/passwd|404|not_found|
GET|/api/lab/a/b|404|not_found|
GET|/nope|404|not_found|
GET|/api/lab/tokens|405|method_not_allowed|answers POST
PUT|/api/lab/artifacts|405|method_not_allowed|
PUT|/api/lab/event-loop-jam|405|method_not_allowed|answers POST
DELETE|/api/lab/status|405|method_not_allowed|
CASES

# the retained-memory ceiling: 409, and nothing allocated
lab POST "/api/lab/memory-leak?mb=128"
check "leak under the ceiling" 200 "$STATUS"
lab POST "/api/lab/memory-leak?mb=128"
check "leak past LAB_MAX_RETAINED_MB is 409" 409 "$STATUS"
check "409 code" retained_limit "$(json error)"
check_match "409 says what to do" 'LAB_MAX_RETAINED_MB \(200 MiB\).*clear them first' "$(json message)"
lab GET /api/lab/status
check "refused growth retained nothing" 134217728 "$(json retainedBytes)"
lab POST /api/lab/memory-clear

# oversized header, oversized body, garbage request line, TLS-less garbage
printf 'x-big: %s\r\n' "$(head -c 600000 /dev/zero | tr '\0' a)" > "$WORK/big-header"
req GET "$URL/api/health" -H "@$WORK/big-header"
check_match "a 600 kB header is refused (4xx)" '^4[0-9][0-9]$' "$STATUS"
head -c 2000000 /dev/zero > "$WORK/big.bin"
lab POST "/api/lab/request-buffer-retention" --data-binary "@$WORK/big.bin"
check "a 2 MB body is 413" 413 "$STATUS"
printf 'GARBAGE\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/${URL##*:}; cat >&3; head -c 12 <&3" > "$WORK/garbage" 2>/dev/null
check_match "a garbage request line is 400" 'HTTP/1.1 400' "$(cat "$WORK/garbage")"
req GET "$URL/api/health"
check "still serving after all of it" 200 "$STATUS"

stop_server hostile
finish
