#!/usr/bin/env bash
# The guard on every /api/lab route: disabled, token, production; checked before parameters.
source "$(dirname "$0")/lib.sh"

expect_all() { # expect_all LABEL STATUS CODE [curl args]
  local label=$1 status=$2 code=$3; shift 3
  for r in "GET /api/lab" "GET /api/lab/status" "POST /api/lab/event-loop-jam?ms=abc" "POST /api/lab/no-such" "GET /api/lab/tokens"; do
    req ${r%% *} "$URL${r#* }" "$@"
    check "$label: ${r} is $status" "$status" "$STATUS"
    check "$label: ${r} error $code" "$code" "$(json error)"
    check_match "$label: ${r} has a message" '"message":"[^"]+' "$BODY"
  done
}

start_server off || exit 1
expect_all "no LAB_ENABLE" 404 lab_disabled -H "x-lab-token: $TOKEN"
req GET "$URL/api/health"
check "health stays open when the lab is off" 200 "$STATUS"
stop_server off

start_server notoken LAB_ENABLE=TRUE || exit 1
expect_all "LAB_ENABLE without LAB_TOKEN" 404 lab_disabled -H "x-lab-token: anything"
check_match "a warning says why" 'LAB_ENABLE is true but LAB_TOKEN is empty' "$(cat "$LOG")"
stop_server notoken

start_server on LAB_ENABLE=True LAB_TOKEN="$TOKEN" || exit 1
expect_all "no token" 401 missing_token
expect_all "wrong token" 401 bad_token -H "x-lab-token: wrong"
expect_all "token prefix" 401 bad_token -H "x-lab-token: ${TOKEN:0:5}"
expect_all "token plus suffix" 401 bad_token -H "x-lab-token: ${TOKEN}x"
expect_all "long token" 401 bad_token -H "x-lab-token: $(head -c 6000 /dev/zero | tr '\0' a)"
req GET "$URL/api/lab/status" -H "x-lab-token: $TOKEN"
check "right token" 200 "$STATUS"
req POST "$URL/api/lab/event-loop-jam?ms=abc" -H "x-lab-token: $TOKEN"
check "with the token, parameters are checked" 400 "$STATUS"
stop_server on

for env in APP_ENV NODE_ENV; do
  start_server prod LAB_ENABLE=true LAB_TOKEN="$TOKEN" "$env=production" || exit 1
  expect_all "$env=production" 403 production -H "x-lab-token: $TOKEN"
  expect_all "$env=production, wrong token first" 401 bad_token -H "x-lab-token: nope"
  req GET "$URL/api/lab/status" -H "x-lab-token: $TOKEN"
  stop_server prod
  start_server prodok LAB_ENABLE=true LAB_TOKEN="$TOKEN" "$env=production" LAB_ALLOW_PROD=true || exit 1
  req GET "$URL/api/lab/status" -H "x-lab-token: $TOKEN"
  check "$env=production with LAB_ALLOW_PROD=true" 200 "$STATUS"
  check "status shows the environment" '"production"' "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])[sys.argv[2]]))' "$BODY" "$([ $env = APP_ENV ] && echo appEnv || echo nodeEnv)")"
  stop_server prodok
done
check "the token never appears in a log" 0 "$(cat "$WORK"/*.log | grep -c -- "$TOKEN")"
finish
