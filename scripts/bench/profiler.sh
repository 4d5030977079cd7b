#!/usr/bin/env bash
# profiler.sh: what the CPU profiler costs and how many samples it delivers, with node --cpu-prof
# measured beside it in the same run.
#
#   1. overhead: a fixed CPU-bound Lua workload (scripts/bench/scenarios/bench-cpu.lua), timed
#      inside the engine, unprofiled and under the sampler at 1 kHz, runs alternating; the median
#      of each. The same for scripts/bench/cpu-work.js under node and node --cpu-prof (1 kHz too).
#   2. yield: a busy loop of BENCH_YIELD_SECONDS at 100 us, 1 ms and 10 ms: samples received
#      against duration / interval.
#   3. the machine's price of one timer signal (scripts/bench/signal-cost.c, an empty SIGPROF
#      handler every 100 us on a busy C loop): the floor under any signal-driven sampler.
#
# Usage: scripts/bench/profiler.sh
# Environment:
#   PROFLAB_BIN           the binary (default: <repo>/build/proflab; build it Release)
#   BENCH_RUNS            runs of each side for the medians (default 11, at least 5)
#   BENCH_RUN_MS          target length of one workload run in ms (default 2000)
#   BENCH_YIELD_SECONDS   length of each busy loop of the yield test (default 3)
#   BENCH_CPU             core for the engine and node (default 0); the client runs on another
# Needs: node >= 20, taskset, curl, python3, cc. Exit status: 0 when every measurement ran (whatever
# the PASS/FAIL verdicts), 2 on an error.
set -euo pipefail

die() { echo "profiler.sh: error: $*" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROFLAB_BIN=${PROFLAB_BIN:-$ROOT/build/proflab}
RUNS=${BENCH_RUNS:-11}
RUN_MS=${BENCH_RUN_MS:-2000}
YIELD_S=${BENCH_YIELD_SECONDS:-3}
CPU=${BENCH_CPU:-0}
TOKEN=bench-token-$$

int_in() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || die "$1 must be an integer from $3 to $4, got '$2'"; }
int_in BENCH_RUNS "$RUNS" 5 101
int_in BENCH_RUN_MS "$RUN_MS" 200 60000
int_in BENCH_YIELD_SECONDS "$YIELD_S" 1 120
int_in BENCH_CPU "$CPU" 0 4095
for tool in node taskset curl python3 cc; do command -v "$tool" >/dev/null || die "$tool is needed"; done
[ -x "$PROFLAB_BIN" ] || die "no proflab binary at $PROFLAB_BIN (make build, or set PROFLAB_BIN)"
NCPU=$(nproc)
[ "$CPU" -lt "$NCPU" ] || die "BENCH_CPU=$CPU but this machine has $NCPU cores"
CLIENT_CPU=$(( (CPU + 1) % NCPU ))

WORK=$(mktemp -d /tmp/proflab-bench-prof.XXXXXX)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

LAB_ENABLE=true LAB_TOKEN=$TOKEN taskset -c "$CPU" "$PROFLAB_BIN" serve --listen 127.0.0.1:0 \
  --scenarios "$ROOT/scenarios" --scenarios "$HERE/scenarios" --artifacts "$WORK/artifacts" 2>"$WORK/server.log" &
SERVER=$!
URL=""
for _ in $(seq 1 200); do
  URL=$(sed -n 's/.*msg=listening url=\(http:[^ ]*\).*/\1/p' "$WORK/server.log" | head -n1)
  [ -n "$URL" ] && break
  kill -0 "$SERVER" 2>/dev/null || break
  sleep 0.05
done
[ -n "$URL" ] || { cat "$WORK/server.log" >&2; die "the server did not start"; }

# call QUERY: one bench-cpu call; prints its JSON answer
call() {
  local out
  out=$(taskset -c "$CLIENT_CPU" curl -sS -f -X POST -H "x-lab-token: $TOKEN" "$URL/api/lab/bench-cpu?$1") ||
    die "bench-cpu?$1 failed"
  echo "$out"
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.1f}")' "$@"; }

echo "proflab CPU profiler benchmark ($(date -u +%FT%TZ), $("$PROFLAB_BIN" version), $(node --version))"
echo "engine and node on core $CPU, client on core $CLIENT_CPU; $RUNS runs per side, alternating"
echo

# ---------------------------------------------------------------- 1. overhead
call rounds=10 >/dev/null # warm-up
probe=$(field "$(call rounds=20)" ms)
ROUNDS=$(python3 -c "print(max(1, round(20 * $RUN_MS / max($probe, 1))))")
off=() on=() coff=() con=() samples=() stops=() costs=()
for _ in $(seq 1 "$RUNS"); do
  a=$(call "rounds=$ROUNDS")
  off+=("$(field "$a" ms)") coff+=("$(field "$a" cpuMs)")
  a=$(call "rounds=$ROUNDS&interval_us=1000")
  on+=("$(field "$a" ms)") con+=("$(field "$a" cpuMs)")
  samples+=("$(field "$a" samples)") stops+=("$(field "$a" stopMs)") costs+=("$(field "$a" costUs)")
done

probe=$(taskset -c "$CPU" node "$HERE/cpu-work.js" 100 | cut -d' ' -f1)
NROUNDS=$(python3 -c "print(max(1, round(100 * $RUN_MS / max($probe, 1))))")
noff=() non=() ncoff=() ncon=()
for _ in $(seq 1 "$RUNS"); do
  read -r w c _ < <(taskset -c "$CPU" node "$HERE/cpu-work.js" "$NROUNDS")
  noff+=("$w") ncoff+=("$c")
  read -r w c _ < <(taskset -c "$CPU" node --cpu-prof --cpu-prof-interval 1000 --cpu-prof-dir "$WORK/node-prof" "$HERE/cpu-work.js" "$NROUNDS")
  non+=("$w") ncon+=("$c")
done

python3 - "$(median "${off[@]}")" "$(median "${on[@]}")" "$(median "${coff[@]}")" "$(median "${con[@]}")" \
  "$(median "${noff[@]}")" "$(median "${non[@]}")" "$(median "${ncoff[@]}")" "$(median "${ncon[@]}")" \
  "$ROUNDS" "$NROUNDS" "$(median "${samples[@]}")" "$(median "${stops[@]}")" "$(median "${costs[@]}")" <<'EOF'
import sys
v = list(map(float, sys.argv[1:9]))
rounds, nrounds, samples, stop = sys.argv[9], sys.argv[10], float(sys.argv[11]), float(sys.argv[12])
cost = float(sys.argv[13])
print("1. Overhead of sampling at 1 kHz on CPU-bound work (medians, ms of the work itself)")
print(f"   {'':30} {'wall off':>9} {'wall on':>9} {'overhead':>9}   {'CPU off':>9} {'CPU on':>9} {'overhead':>9}")
for name, (wo, wn, co, cn), verdict in (("proflab (Lua, " + rounds + " rounds)", v[0:4], True),
                                        ("node --cpu-prof (" + nrounds + " rounds)", v[4:8], False)):
    ow, oc = 100 * (wn / wo - 1), 100 * (cn / co - 1)
    tail = f"   {'PASS' if ow <= 3 else 'FAIL'} (wall <= 3%)" if verdict else ""
    print(f"   {name:30} {wo:9.1f} {wn:9.1f} {ow:8.2f}%   {co:9.1f} {cn:9.1f} {oc:8.2f}%{tail}")
print(f"   proflab: {samples:.0f} samples per profiled run; reading stacks took {cost / 1000:.1f} ms "
      f"({cost / max(samples, 1):.1f} us a sample, {100 * cost / 1000 / v[3]:.2f}% of the run, signal delivery not included); "
      f"stop + writing the .cpuprofile in memory: {stop:.1f} ms")
EOF
echo

# ---------------------------------------------------------------- 2. yield
echo "2. Yield: samples received in a ${YIELD_S} s busy loop"
printf "   %-12s %10s %10s %8s\n" interval expected received ratio
for iv in 100 1000 10000; do
  a=$(call "busy_ms=$((YIELD_S * 1000))&interval_us=$iv")
  python3 - "$iv" "$(field "$a" ms)" "$(field "$a" samples)" <<'EOF'
import sys
iv, ms, got = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
want = ms * 1000 / iv
r = got / want
print(f"   {str(iv) + ' us':12} {want:10.0f} {got:10d} {100 * r:7.1f}%   {'PASS' if r >= 0.95 else 'FAIL'} (>= 95%)")
EOF
done
echo

# ---------------------------------------------------------------- 3. signal cost
cc -O2 -o "$WORK/signal-cost" "$HERE/signal-cost.c" || die "cannot build signal-cost.c"
read -r alone signalled hits per < <(taskset -c "$CPU" "$WORK/signal-cost" 100)
echo "3. One timer signal on this machine: a busy C loop took ${alone} s of CPU alone, ${signalled} s under"
echo "   ${hits} SIGPROF (empty handler, every 100 us): ${per} us per signal, so $(python3 -c "print(f'{$per / 10:.2f}')")% at 1 kHz"
echo "   before the profiler does anything"
