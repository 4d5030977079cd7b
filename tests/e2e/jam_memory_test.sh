#!/usr/bin/env bash
# The reference lab's Part 2 with curl: a jam that a concurrent health check waits for,
# memory-leak twice then memory-clear with RSS read from /proc.
source "$(dirname "$0")/lib.sh"
start_server jam LAB_ENABLE=true LAB_TOKEN="$TOKEN" || exit 1

# the jam blocks the loop: a health check sent 200 ms in waits for the rest of it
curl -s -o "$WORK/jam.json" -w '%{http_code}' -X POST -H "x-lab-token: $TOKEN" "$URL/api/lab/event-loop-jam?ms=1500" > "$WORK/jam.status" & jam=$!
sleep 0.2
req GET "$URL/api/health"
check "health during a jam is 200" 200 "$STATUS"
check_cmp "health waited for the jam (>= 1.2 s)" "python3 -c 'import sys; sys.exit(0 if $TIME >= 1.2 else 1)'" "(took $TIME s)"
wait $jam
STATUS=$(cat "$WORK/jam.status"); BODY=$(cat "$WORK/jam.json")
check "the jam answers 200" 200 "$STATUS"
check "jammedMs" 1500 "$(json jammedMs)"
check_cmp "the jam lasted 1500 ms (+5 ms)" "python3 -c 'import sys; e=$(json elapsedMs); sys.exit(0 if 1500 <= e <= 1505 else 1)'" "(elapsedMs $(json elapsedMs))"
check_match "result is the golden ratio" '^1\.61803398' "$(json result)"

# memory: RSS grows by what is retained, and comes back after clear
rss0=$(rss_kb)
lab POST "/api/lab/memory-leak?mb=64"
check "memory-leak 64 answers the status" 1 "$(json retainedBufferCount)"
lab POST "/api/lab/memory-leak?mb=64"
check "twice: 2 buffers" 2 "$(json retainedBufferCount)"
check "twice: 134217728 bytes" 134217728 "$(json retainedBytes)"
rss1=$(rss_kb)
check_cmp "RSS grew by at least 128 MiB" "[ $((rss1 - rss0)) -ge $((128 * 1024)) ]" "(grew $(( (rss1 - rss0) / 1024 )) MiB)"
lab GET /api/lab/status
check "status agrees" 134217728 "$(json retainedBytes)"
check "memory-leak contributes to status" 2 "$(json scenarios.memory-leak.buffers)"
lab POST /api/lab/memory-clear
check "memory-clear answers the status" 0 "$(json retainedBufferCount)"
check "memory-clear: 0 bytes" 0 "$(json retainedBytes)"
rss2=$(rss_kb)
check_cmp "RSS back within 8 MiB of before" "[ $((rss2 - rss0)) -le $((8 * 1024)) ]" "(before $((rss0 / 1024)) MiB, after clear $((rss2 / 1024)) MiB)"
echo "# RSS: before ${rss0} kB, after 2x64 MiB ${rss1} kB, after clear ${rss2} kB"
stop_server jam
finish
