#!/usr/bin/env bash
# proflab walk: every walkthrough passes against a child engine; a disabled lab, a wrong
# token and a jam that does not jam make it fail, saying why.
source "$(dirname "$0")/lib.sh"

names=$("$PROFLAB_BIN" walk --list | awk '{print $1}')
check_cmp "walk --list lists walkthroughs" "[ $(echo "$names" | wc -w) -ge 2 ]" "($names)"
check_match "walk --list: name then summary" 'event-loop-jam +Block the loop' "$("$PROFLAB_BIN" walk --list)"
explain=$("$PROFLAB_BIN" walk event-loop-jam --explain)
check_match "walk --explain prints the narrative and steps" '1\. Baseline' "$explain"

for n in $names; do
  rc=0
  "$PROFLAB_BIN" walk "$n" --tap > "$WORK/walk-$n.tap" 2>&1 || rc=$?
  check "walkthrough $n passes" 0 "$rc"
  [ "$rc" = 0 ] || sed 's/^/#   /' "$WORK/walk-$n.tap" | tail -n 30
  check_match "walkthrough $n reports TAP" '^TAP version 13' "$(head -n1 "$WORK/walk-$n.tap")"
done

# an engine with the lab disabled: the first lab step fails, saying so
start_server nolab || exit 1
rc=0; out=$("$PROFLAB_BIN" walk memory-growth --target "$URL" --token whatever 2>&1) || rc=$?
check "walk against a disabled lab fails" 1 "$rc"
check_match "it says the lab is disabled" 'not ok 1|FAIL .*the lab is disabled' "$out"
stop_server nolab

start_server wrongtoken LAB_ENABLE=true LAB_TOKEN="$TOKEN" || exit 1
rc=0; out=$("$PROFLAB_BIN" walk memory-growth --target "$URL" --token wrong 2>&1) || rc=$?
check "walk with a wrong token fails" 1 "$rc"
check_match "it says the token was refused" 'refused the lab token \(bad_token\)' "$out"
rc=0; out=$(LAB_TOKEN="$TOKEN" "$PROFLAB_BIN" walk memory-growth --target "$URL" 2>&1) || rc=$?
check "walk --target with LAB_TOKEN from the environment passes" 0 "$rc"
stop_server wrongtoken

# a jam that sleeps instead of spinning: the walkthrough must fail on the health check
rc=0; out=$("$PROFLAB_BIN" walk event-loop-jam --scenarios "$E2E_DIR/scenarios-sleepy-jam" 2>&1) || rc=$?
check "the jam walkthrough fails when the jam does not block" 1 "$rc"
check_match "it names the health check that did not wait" 'FAIL  the health check waited for the jam' "$out"
finish
