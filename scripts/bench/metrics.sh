#!/usr/bin/env bash
# metrics.sh: the cost of proflab's metrics, side by side with Node.js 20 + prom-client.
#
#   1. one scrape of /api/metrics: server CPU and latency per scrape, exposition size, at idle
#      and with 100 scenario metrics (scripts/bench/metrics-scenarios/many-metrics.lua, 300 series)
#   2. wrk on /api/metrics: proflab vs scripts/bench/node-metrics.js (prom-client's default
#      metrics), requests/s and the ratio (target: at least 5x)
#   3. CPU of an idle proflab (lag monitor + watchdog + the loop) over BENCH_IDLE_SECONDS, from
#      /proc/PID/stat (target: under 0.5%), beside an idle Node.js server with prom-client
#
# Usage: scripts/bench/metrics.sh
# Environment:
#   PROFLAB_BIN          the binary (default <repo>/build-bench/proflab; build it with
#                        cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench)
#   BENCH_SECONDS        wrk duration (default 10); BENCH_CONNECTIONS (default 50)
#   BENCH_SCRAPES        sequential scrapes for the per-scrape cost (default 2000)
#   BENCH_IDLE_SECONDS   idle CPU window (default 20)
#   BENCH_SERVER_CPU / BENCH_WRK_CPU  cores for the servers and for wrk/curl (default 0 / 1)
# prom-client is installed from npm into a temporary folder (npm install prom-client@15).
# Needs: wrk, node >= 20, npm, taskset, curl, python3. Loopback only; every loop is bounded.
set -euo pipefail
die() { echo "metrics.sh: error: $*" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROFLAB_BIN=${PROFLAB_BIN:-$ROOT/build-bench/proflab}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-50}
BENCH_SCRAPES=${BENCH_SCRAPES:-2000}
BENCH_IDLE_SECONDS=${BENCH_IDLE_SECONDS:-20}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
WRK_CPU=${BENCH_WRK_CPU:-1}
for v in BENCH_SECONDS BENCH_CONNECTIONS BENCH_SCRAPES BENCH_IDLE_SECONDS; do
  [[ ${!v} =~ ^[1-9][0-9]{0,5}$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[ -x "$PROFLAB_BIN" ] || die "no proflab at $PROFLAB_BIN (see the build line in this script's header)"
for t in wrk node npm taskset curl python3; do command -v "$t" >/dev/null || die "$t is needed"; done

WORK=$(mktemp -d /tmp/proflab-bench-metrics.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "# installing prom-client into $WORK/npm (npm registry)" >&2
(cd "$WORK" && mkdir npm && cd npm && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error prom-client@15 >/dev/null) \
  || die "npm install prom-client failed"
PROM_CLIENT_VERSION=$(node -p "require('$WORK/npm/node_modules/prom-client/package.json').version")

# start NAME CMD...: the server on SERVER_CPU, its URL from "msg=listening url=..." in its log
start() {
  local name=$1; shift
  taskset -c "$SERVER_CPU" "$@" 2>"$WORK/$name.log" &
  PID=$!
  PIDS+=("$PID")
  URL=""
  for _ in $(seq 1 100); do
    URL=$(sed -n 's/.*msg=listening url=\(http:[^ ]*\).*/\1/p' "$WORK/$name.log" | head -n1)
    [ -n "$URL" ] && return 0
    sleep 0.05
  done
  cat "$WORK/$name.log" >&2
  die "$name did not start"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# per-scrape cost: BENCH_SCRAPES sequential scrapes through one keep-alive connection
# (wrk -c1 for a fixed count is not possible; wrk -c1 for a short time gives latency)
scrape_cost() { # PID URL -> "cpu_us_per_scrape mean_latency_us bytes"
  local pid=$1 url=$2 t0 t1
  curl -s -o "$WORK/one.prom" "$url/api/metrics"
  t0=$(cpu_ticks "$pid")
  python3 - "$url" "$BENCH_SCRAPES" > "$WORK/lat.txt" <<'EOF'
import http.client, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); n = int(sys.argv[2])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
t = time.perf_counter()
for _ in range(n):
    c.request("GET", "/api/metrics"); r = c.getresponse(); r.read()
    assert r.status == 200
print((time.perf_counter() - t) / n * 1e6)
EOF
  t1=$(cpu_ticks "$pid")
  echo "$(( (t1 - t0) * 1000000 / HZ / BENCH_SCRAPES )) $(printf '%.0f' "$(cat "$WORK/lat.txt")") $(wc -c < "$WORK/one.prom")"
}

wrk_rps() { # URL -> requests/s
  taskset -c "$WRK_CPU" wrk -t1 -c"$BENCH_CONNECTIONS" -d2s "$1/api/metrics" >/dev/null 2>&1 || true
  taskset -c "$WRK_CPU" wrk -t1 -c"$BENCH_CONNECTIONS" -d"${BENCH_SECONDS}s" --latency "$1/api/metrics" > "$WORK/wrk.txt" 2>&1
  grep -q "Non-2xx" "$WORK/wrk.txt" && die "wrk saw errors: $(cat "$WORK/wrk.txt")"
  awk '/Requests\/sec/ {print int($2)}' "$WORK/wrk.txt"
}

# 1 and 2: proflab
start proflab env -u LAB_ENABLE LAB_ENABLE=true LAB_TOKEN=bench "$PROFLAB_BIN" serve --listen 127.0.0.1:0
read -r p_cpu p_lat p_bytes <<<"$(taskset -c "$WRK_CPU" bash -c "$(declare -f scrape_cost cpu_ticks); WORK=$WORK HZ=$HZ BENCH_SCRAPES=$BENCH_SCRAPES scrape_cost $PID $URL")"
p_rps=$(wrk_rps "$URL")
kill "$PID"; wait "$PID" 2>/dev/null || true

start proflab100 env LAB_ENABLE=true LAB_TOKEN=bench "$PROFLAB_BIN" serve --listen 127.0.0.1:0 \
  --scenarios "$ROOT/scenarios" --scenarios "$HERE/metrics-scenarios"
curl -sf -X POST -H "x-lab-token: bench" "$URL/api/lab/many-metrics" >/dev/null || die "many-metrics failed"
series=$(curl -s "$URL/api/metrics" | grep -c '^bench_' || true)
read -r q_cpu q_lat q_bytes <<<"$(taskset -c "$WRK_CPU" bash -c "$(declare -f scrape_cost cpu_ticks); WORK=$WORK HZ=$HZ BENCH_SCRAPES=$BENCH_SCRAPES scrape_cost $PID $URL")"
q_rps=$(wrk_rps "$URL")
kill "$PID"; wait "$PID" 2>/dev/null || true

start node env NODE_PATH="$WORK/npm/node_modules" node "$HERE/node-metrics.js" 127.0.0.1:0
read -r n_cpu n_lat n_bytes <<<"$(taskset -c "$WRK_CPU" bash -c "$(declare -f scrape_cost cpu_ticks); WORK=$WORK HZ=$HZ BENCH_SCRAPES=$BENCH_SCRAPES scrape_cost $PID $URL")"
n_rps=$(wrk_rps "$URL")
kill "$PID"; wait "$PID" 2>/dev/null || true

# 3: idle CPU
start idle env LAB_ENABLE=true LAB_TOKEN=bench "$PROFLAB_BIN" serve --listen 127.0.0.1:0
sleep 1
i0=$(cpu_ticks "$PID"); sleep "$BENCH_IDLE_SECONDS"; i1=$(cpu_ticks "$PID")
idle_pid=$PID
start nodeidle env NODE_PATH="$WORK/npm/node_modules" node "$HERE/node-metrics.js" 127.0.0.1:0
sleep 1
j0=$(cpu_ticks "$PID"); sleep "$BENCH_IDLE_SECONDS"; j1=$(cpu_ticks "$PID")
kill "$idle_pid" "$PID"

pct() { python3 -c "import sys; print('%.3f' % ((int(sys.argv[2]) - int(sys.argv[1])) / $HZ / $BENCH_IDLE_SECONDS * 100))" "$1" "$2"; }
p_idle=$(pct "$i0" "$i1"); n_idle=$(pct "$j0" "$j1")
ratio=$(python3 -c "print('%.1f' % ($p_rps / max($n_rps, 1)))")

echo
echo "proflab metrics benchmark ($(nproc) cores; servers on core $SERVER_CPU, clients on core $WRK_CPU; prom-client $PROM_CLIENT_VERSION, node $(node -v))"
printf '%-44s %14s %14s %14s\n' "" "proflab" "proflab+100" "node+prom-client"
printf '%-44s %14s %14s %14s\n' "exposition size (bytes)" "$p_bytes" "$q_bytes" "$n_bytes"
printf '%-44s %14s %14s %14s\n' "server CPU per scrape (us, $BENCH_SCRAPES scrapes)" "$p_cpu" "$q_cpu" "$n_cpu"
printf '%-44s %14s %14s %14s\n' "latency per sequential scrape (us)" "$p_lat" "$q_lat" "$n_lat"
printf '%-44s %14s %14s %14s\n' "wrk -c$BENCH_CONNECTIONS ${BENCH_SECONDS}s requests/s" "$p_rps" "$q_rps" "$n_rps"
printf '%-44s %14s %14s %14s\n' "idle CPU over ${BENCH_IDLE_SECONDS}s (%)" "$p_idle" "-" "$n_idle"
echo "bench_ sample lines in proflab+100 (100 families, 300 series): $series"
verdict() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo PASS; else echo FAIL; fi; }
echo "requests/s ratio proflab / node+prom-client: ${ratio}x (target >= 5x: $(verdict "$ratio >= 5"))"
echo "idle CPU of proflab (lag monitor + watchdog + loop): ${p_idle}% (target < 0.5%: $(verdict "$p_idle < 0.5"))"
