#!/usr/bin/env bash
# heap.sh: heap snapshot cost, proflab against Node.js 20, in one run.
#
#   proflab: a Lua heap holding BENCH_OBJECTS small tables ({id = i, tag = "t"}, held in one array),
#            then POST /api/lab/heap-snapshot BENCH_ROUNDS times (the first one also assigns the ids)
#   node:    BENCH_OBJECTS small objects ({id: i, tag: 't'}, held in one array), then
#            v8.writeHeapSnapshot(), BENCH_ROUNDS fresh processes
#
# Printed side by side: snapshot time (median), file bytes per held object and per node, peak extra
# memory while the snapshot runs (VmHWM after it, reset with clear_refs before, minus VmRSS before),
# and the ratio proflab/node. Target: proflab's time at most half of Node's.
#
# Usage: scripts/bench/heap.sh
# Environment: PROFLAB_BIN (default <repo>/build-bench/proflab), BENCH_OBJECTS (1000000),
#              BENCH_ROUNDS (3), BENCH_KEEP=1 keeps the work directory.
# Needs: node >= 20, curl, python3. Exit status: 0 when every measurement ran, 2 on an error.
set -euo pipefail

die() { echo "heap.sh: error: $*" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROFLAB_BIN=${PROFLAB_BIN:-$ROOT/build-bench/proflab}
BENCH_OBJECTS=${BENCH_OBJECTS:-1000000}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_KEEP=${BENCH_KEEP:-0}
TOKEN=bench-token-$$

[[ $BENCH_OBJECTS =~ ^[0-9]+$ ]] && [ "$BENCH_OBJECTS" -ge 1000 ] && [ "$BENCH_OBJECTS" -le 10000000 ] ||
  die "BENCH_OBJECTS must be an integer from 1000 to 10000000"
[[ $BENCH_ROUNDS =~ ^[0-9]+$ ]] && [ "$BENCH_ROUNDS" -ge 1 ] && [ "$BENCH_ROUNDS" -le 20 ] ||
  die "BENCH_ROUNDS must be an integer from 1 to 20"
[ -x "$PROFLAB_BIN" ] || die "no proflab binary at $PROFLAB_BIN (build it: cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && make -C build-bench proflab)"
command -v node >/dev/null || die "node is not installed"
command -v curl >/dev/null || die "curl is not installed"
command -v python3 >/dev/null || die "python3 is not installed"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "node >= 20 is needed"

WORK=$(mktemp -d /tmp/proflab-bench-heap.XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [ "$BENCH_KEEP" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

kb() { awk -v k="$2:" '$1 == k { print $2 * 1024 }' "/proc/$1/status"; }

# ---------------------------------------------------------------- proflab
LAB_ENABLE=true LAB_TOKEN=$TOKEN "$PROFLAB_BIN" serve --listen 127.0.0.1:0 --artifacts "$WORK/art" \
  --scenarios "$ROOT/scenarios" --scenarios "$HERE/scenarios-heap" 2>"$WORK/proflab.log" &
PID=$!
URL=""
for _ in $(seq 1 200); do
  URL=$(sed -n 's/.*msg=listening url=\(http:[^ ]*\).*/\1/p' "$WORK/proflab.log" | head -n1)
  [ -n "$URL" ] && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.05
done
[ -n "$URL" ] || { cat "$WORK/proflab.log" >&2; die "proflab did not start"; }
post() { curl -sS --fail-with-body -X POST -H "x-lab-token: $TOKEN" "$URL/api/lab/$1"; }

echo "heap.sh: $BENCH_OBJECTS small objects, $BENCH_ROUNDS rounds; proflab $PROFLAB_BIN, node $(node --version)"
post "heap-bench-fill?n=$BENCH_OBJECTS" >"$WORK/fill.json" || die "heap-bench-fill failed: $(cat "$WORK/fill.json")"
: >"$WORK/proflab.jsonl"
for r in $(seq 1 "$BENCH_ROUNDS"); do
  echo 5 >"/proc/$PID/clear_refs" || die "cannot reset the peak RSS of proflab"
  before=$(kb "$PID" VmRSS)
  t0=$(date +%s%N)
  post heap-snapshot >"$WORK/snap.json" || die "heap-snapshot failed: $(cat "$WORK/snap.json")"
  t1=$(date +%s%N)
  peak=$(kb "$PID" VmHWM)
  python3 - "$WORK/snap.json" "$before" "$peak" "$(( (t1 - t0) / 1000 ))" >>"$WORK/proflab.jsonl" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
s.update(rssBefore=int(sys.argv[2]), peakRss=int(sys.argv[3]), wallMs=int(sys.argv[4]) / 1000)
print(json.dumps(s))
EOF
  rm -f "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["filePath"])' "$WORK/snap.json")"
done
kill -TERM "$PID"
wait "$PID" || true
PID=""

# ---------------------------------------------------------------- node
: >"$WORK/node.jsonl"
for r in $(seq 1 "$BENCH_ROUNDS"); do
  node "$HERE/heap-node.js" "$BENCH_OBJECTS" "$WORK" >>"$WORK/node.jsonl" || die "the node side failed"
  nodes=$(head -c 4096 "$WORK/node.heapsnapshot" | python3 -c 'import re,sys; print(re.search(r"\"node_count\":(\d+)", sys.stdin.read()).group(1))')
  python3 -c 'import json,sys; l=open(sys.argv[1]).read().splitlines(); d=json.loads(l[-1]); d["nodes"]=int(sys.argv[2]); l[-1]=json.dumps(d); open(sys.argv[1],"w").write("\n".join(l)+"\n")' "$WORK/node.jsonl" "$nodes"
  rm -f "$WORK/node.heapsnapshot"
done

# ---------------------------------------------------------------- report
python3 - "$WORK/proflab.jsonl" "$WORK/node.jsonl" "$BENCH_OBJECTS" <<'EOF'
import json, statistics, sys
p = [json.loads(l) for l in open(sys.argv[1])]
n = [json.loads(l) for l in open(sys.argv[2])]
objects = int(sys.argv[3])
MB = 1024 * 1024
med = lambda xs: statistics.median(xs)
p_ms, n_ms = med([x["durationMs"] for x in p]), med([x["ms"] for x in n])
p_later = med([x["durationMs"] for x in p[1:]]) if len(p) > 1 else p_ms
p_extra = med([(x["peakRss"] - x["rssBefore"]) for x in p]) / MB
n_extra = med([(x["peakRss"] - x["rssBefore"]) for x in n]) / MB
rows = [
    ("snapshot time, median (ms)", f"{p_ms:.0f}", f"{n_ms:.0f}", f"{p_ms / n_ms:.2f}"),
    ("  proflab: first (assigns ids) / later (ms)", f"{p[0]['durationMs']:.0f} / {p_later:.0f}", "", ""),
    ("  proflab: request wall time, median (ms)", f"{med([x['wallMs'] for x in p]):.0f}", "", ""),
    ("file bytes", f"{p[0]['bytes']}", f"{n[0]['bytes']}", f"{p[0]['bytes'] / n[0]['bytes']:.2f}"),
    ("nodes in the file", f"{p[0]['nodes']}", f"{n[0]['nodes']}", ""),
    ("file bytes per held object", f"{p[0]['bytes'] / objects:.1f}", f"{n[0]['bytes'] / objects:.1f}", ""),
    ("file bytes per node", f"{p[0]['bytes'] / p[0]['nodes']:.1f}", f"{n[0]['bytes'] / n[0]['nodes']:.1f}", ""),
    ("heap before the snapshot (MiB)", f"{p[-1]['luaHeapBytes'] / MB:.1f} Lua", f"{n[0]['heapUsed'] / MB:.1f} V8 used", ""),
    ("RSS before the snapshot (MiB)", f"{med([x['rssBefore'] for x in p]) / MB:.1f}", f"{med([x['rssBefore'] for x in n]) / MB:.1f}", ""),
    ("peak extra RSS during it (MiB)", f"{p_extra:.1f}", f"{n_extra:.1f}", f"{p_extra / n_extra:.2f}"),
    ("  proflab: extra / Lua heap", f"{p_extra * MB / p[-1]['luaHeapBytes']:.2f}", "", ""),
    ("  proflab: walker's own count, median (MiB)", f"{med([x.get('extraPeakBytes', 0) for x in p]) / MB:.1f}", "", ""),
    ("self sizes / (allocator + native)", f"{p[-1]['selfBytes'] / (p[-1]['luaHeapBytes'] + p[-1]['nativeBytes']):.3f}", "", ""),
]
w = max(len(r[0]) for r in rows)
print(f"{'':{w}}  {'proflab':>14}  {'node 20':>14}  {'ratio':>6}")
for r in rows:
    print(f"{r[0]:{w}}  {r[1]:>14}  {r[2]:>14}  {r[3]:>6}")
verdict = "PASS" if p_ms <= n_ms / 2 else "FAIL"
print(f"\ntarget: proflab's snapshot time at most half of Node's: {p_ms:.0f} ms vs {n_ms:.0f} ms -> {verdict}")
EOF
