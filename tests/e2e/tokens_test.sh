#!/usr/bin/env bash
# Derived tokens over HTTP: minting, scopes, expiry, hostile tokens, and the CLI. Tokens are also
# written by tokmint.py (Python's hmac/hashlib), an implementation independent of the engine's.
source "$(dirname "$0")/lib.sh"
MINT="python3 $E2E_DIR/tokmint.py"
ART=$WORK/art
mkdir -p "$ART" && chmod 700 "$ART"
head -c 100000 /dev/urandom >"$ART/cpu-a.cpuprofile"
head -c 100000 /dev/urandom >"$ART/heap-b.heapsnapshot"

start_server tok LAB_ENABLE=true LAB_TOKEN="$TOKEN" -- --artifacts "$ART" || exit 1
as() { local t=$1 m=$2 p=$3; shift 3; req "$m" "$URL$p" -H "Authorization: Bearer $t" "$@"; }
TOKENS=()

# minting over HTTP: master token or admin scope
lab POST "/api/lab/tokens?scope=lab:event-loop-jam,artifacts:read&ttl=15m"
check "master mints a token" 200 "$STATUS"
JAM=$(json token); TOKENS+=("$JAM")
check_match "the token is pl1.<payload>.<mac>" '^pl1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$' "$JAM"
check "the answer lists the scope" '["lab:event-loop-jam", "artifacts:read"]' "$(json scope)"
check_match "expiresAt is ISO-8601 15 minutes ahead" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.000Z$' "$(json expiresAt)"
exp_s=$(python3 -c 'import sys,datetime; print(int(datetime.datetime.strptime(sys.argv[1],"%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=datetime.timezone.utc).timestamp()))' "$(json expiresAt)")
check_cmp "expiresAt is now + 900 s" "(( exp_s - $(date +%s) >= 895 && exp_s - $(date +%s) <= 901 ))"

lab POST "/api/lab/tokens?scope=admin&ttl=1h"; ADMIN=$(json token); TOKENS+=("$ADMIN")
as "$ADMIN" POST "/api/lab/tokens?scope=inspect&ttl=90s"
check "an admin token mints" 200 "$STATUS"
as "$ADMIN" POST "/api/lab/tokens?scope=inspect&ttl=2h"
check "a minted token cannot outlive its minter" 403 "$STATUS"
as "$JAM" POST "/api/lab/tokens?scope=admin&ttl=1m"
check "a non-admin token cannot mint" 403 "$STATUS"
check "... out_of_scope" out_of_scope "$(json error)"

while IFS='|' read -r q status code; do
  lab POST "/api/lab/tokens?$q"
  check "mint ?$q is $status" "$status" "$STATUS"
  check "mint ?$q is $code" "$code" "$(json error)"
done <<'CASES'
scope=root&ttl=1m|400|bad_parameter
scope=lab:UPPER&ttl=1m|400|bad_parameter
scope=admin&ttl=25h|400|bad_parameter
scope=admin&ttl=0s|400|bad_parameter
scope=admin&ttl=15|400|bad_parameter
scope=admin&ttl=1d|400|bad_parameter
scope=admin&ttl=-5m|400|bad_parameter
ttl=1m|400|missing_parameter
scope=admin&scope=admin|400|repeated_parameter
scope=admin&x=1|400|unknown_parameter
scope=,,,|400|bad_parameter
artifact=../../etc/passwd|400|bad_parameter
artifact=nope.bin|404|unknown_artifact
CASES
lab GET "/api/lab/tokens"
check "GET /api/lab/tokens is 405" 405 "$STATUS"

# scopes
as "$JAM" POST "/api/lab/event-loop-jam?ms=1"
check "lab:event-loop-jam calls event-loop-jam" 200 "$STATUS"
req POST "$URL/api/lab/event-loop-jam?ms=1" -H "x-lab-token: $JAM"
check "a derived token works in x-lab-token too" 200 "$STATUS"
as "$JAM" POST "/api/lab/memory-clear"
check "... but not memory-clear" 403 "$STATUS"
check "... out_of_scope" out_of_scope "$(json error)"
check_match "... the message names the scope needed" 'lab:memory-clear' "$BODY"
as "$JAM" GET "/api/lab/status"
check "any valid token reads status" 200 "$STATUS"
as "$JAM" GET "/api/lab"
check "any valid token reads the catalog" 200 "$STATUS"
as "$JAM" GET "/api/lab/artifacts"
check "artifacts:read lists artifacts" 200 "$STATUS"
as "$JAM" DELETE "/api/lab/artifacts/cpu-a.cpuprofile"
check "artifacts:read cannot delete" 403 "$STATUS"
STAR=$($MINT "$TOKEN" 'lab:*' -1 +600); TOKENS+=("$STAR")
as "$STAR" POST "/api/lab/memory-clear"
check "lab:* calls any scenario" 200 "$STATUS"
as "$STAR" GET "/api/lab/artifacts"
check "lab:* does not list artifacts" 403 "$STATUS"
INSPECT=$($MINT "$TOKEN" inspect -1 +600); TOKENS+=("$INSPECT")
as "$INSPECT" POST "/api/lab/event-loop-jam?ms=1"
check "inspect does not call scenarios" 403 "$STATUS"
as "$ADMIN" DELETE "/api/lab/artifacts/heap-b.heapsnapshot"
check "admin deletes" 200 "$STATUS"

# time, with tokens written by tokmint.py
T=$($MINT "$TOKEN" 'lab:*' -100 -40); TOKENS+=("$T")
as "$T" GET "/api/lab/status"
check "expired 40 s ago (past the 30 s skew) is 401" 401 "$STATUS"
check "... token_expired" token_expired "$(json error)"
check_match "... saying so" 'expired' "$(json message)"
T=$($MINT "$TOKEN" 'lab:*' -100 -10); TOKENS+=("$T")
as "$T" GET "/api/lab/status"
check "expired 10 s ago is within the skew" 200 "$STATUS"
T=$($MINT "$TOKEN" 'lab:*' +120 +600); TOKENS+=("$T")
as "$T" GET "/api/lab/status"
check "issued 2 min in the future is 401" 401 "$STATUS"
check "... token_not_yet_valid" token_not_yet_valid "$(json error)"
T=$($MINT "$TOKEN" 'lab:*' -10 +86400); TOKENS+=("$T")
as "$T" GET "/api/lab/status"
check "a lifetime over 24 h is refused" 401 "$STATUS"
T=$($MINT "other-secret" 'lab:*' -1 +600)
as "$T" GET "/api/lab/status"
check "another LAB_TOKEN's token is 401 bad_token" bad_token "$(json error)"

# hostile tokens (every single-byte change is in tests/unit/tok)
for bad in "${JAM:0:${#JAM}-1}" "${JAM}A" "pl2.${JAM:4}" "PL1.${JAM:4}" "pl1.@@@@.${JAM: -43}" "pl1.${JAM#pl1.}=" \
           "$(printf 'pl1.%05000d.x' 0)" "Bearer" "pl1.." "${JAM/./..}"; do
  as "$bad" GET "/api/lab/status"
  check "hostile token '${bad:0:24}...' (${#bad} bytes) is 401" 401 "$STATUS"
done
req GET "$URL/api/lab/status" -H "Authorization: Basic $(printf 'x:%s' "$TOKEN" | base64)"
check "Authorization other than Bearer is 401" 401 "$STATUS"
req GET "$URL/api/lab/status" -H "Authorization: Bearer $TOKEN"
check "the master token as Bearer is accepted (same check as x-lab-token)" 200 "$STATUS"

# the CLI
T=$(env LAB_TOKEN="$TOKEN" "$PROFLAB_BIN" token mint --scope lab:memory-clear --ttl 90s); TOKENS+=("$T")
check_match "proflab token mint prints the token alone" '^pl1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$' "$T"
as "$T" POST "/api/lab/memory-clear"
check "a CLI-minted token is accepted by the server" 200 "$STATUS"
out=$(env LAB_TOKEN="$TOKEN" "$PROFLAB_BIN" token inspect "$T"); rc=$?
check "token inspect with LAB_TOKEN exits 0" 0 "$rc"
check_match "token inspect shows scope and signature" 'scope: +lab:memory-clear.*signature: valid' "$(echo $out)"
out=$(env -u LAB_TOKEN "$PROFLAB_BIN" token inspect "$T"); rc=$?
check_match "token inspect without LAB_TOKEN decodes, unverified" 'not checked' "$out"
env LAB_TOKEN=wrong "$PROFLAB_BIN" token inspect "$T" >/dev/null; rc=$?
check "token inspect with another LAB_TOKEN exits 1" 1 "$rc"
"$PROFLAB_BIN" token inspect "pl1.xx.yy" >/dev/null 2>&1; rc=$?
check "token inspect of garbage exits 2" 2 "$rc"
for args in "--scope root --ttl 1m" "--scope admin --ttl 25h" "--scope admin" "--ttl 1m" "--scope admin --ttl 1m --artifact ../x" "--bogus"; do
  env LAB_TOKEN="$TOKEN" "$PROFLAB_BIN" token mint $args >/dev/null 2>&1; rc=$?
  check "token mint $args exits 2" 2 "$rc"
done
env -u LAB_TOKEN "$PROFLAB_BIN" token mint --scope admin --ttl 1m >/dev/null 2>&1; rc=$?
check "token mint without LAB_TOKEN exits 2" 2 "$rc"

stop_server tok
leaks=0
for t in "$TOKEN" "${TOKENS[@]}"; do grep -qF -- "$t" "$WORK"/*.log && leaks=$((leaks + 1)); done
check "no token appears in the log" 0 "$leaks"
finish
