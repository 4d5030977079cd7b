#!/usr/bin/env bash
# tokens.sh: token verification rate, and artifact download throughput against a plain file copy.
#
#   verify:   tok_verify on one core (taskset -c 0), a realistic token (2 scopes, an artifact),
#             BENCH_VERIFIES times; target over 500,000 per second
#   download: a BENCH_MB MiB artifact (default 1024) over loopback with curl, to a file and to
#             /dev/null, against cp of the same file and cat > /dev/null (page cache warm in
#             both); target: download at least 80% of the copy speed. While it runs, GET
#             /api/health is timed every 50 ms: the worst answer is the loop lag a big
#             download causes.
#   rss:      the idle server's RSS (target under 16 MB) and whether libcurl is mapped in it
#
# Usage: scripts/bench/tokens.sh
# Environment: PROFLAB_BIN (default <repo>/build-bench/proflab), BENCH_MB (1024),
#              BENCH_VERIFIES (2000000), BENCH_KEEP=1 keeps the work directory, CC (cc).
# Needs: curl, python3, a C compiler, pkg-config msgpack. Exit status 0 when everything ran
# (the figures are printed, not judged), 2 on an error.
set -euo pipefail

die() { echo "tokens.sh: error: $*" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROFLAB_BIN=${PROFLAB_BIN:-$ROOT/build-bench/proflab}
BENCH_MB=${BENCH_MB:-1024}
BENCH_VERIFIES=${BENCH_VERIFIES:-2000000}
BENCH_KEEP=${BENCH_KEEP:-0}
CC=${CC:-cc}
TOKEN=bench-token-$$

[[ $BENCH_MB =~ ^[0-9]+$ ]] && [ "$BENCH_MB" -ge 16 ] && [ "$BENCH_MB" -le 16384 ] || die "BENCH_MB must be from 16 to 16384"
[[ $BENCH_VERIFIES =~ ^[0-9]+$ ]] && [ "$BENCH_VERIFIES" -ge 1000 ] || die "BENCH_VERIFIES must be at least 1000"
[ -x "$PROFLAB_BIN" ] || die "no proflab binary at $PROFLAB_BIN (build it: cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && make -C build-bench proflab)"
for c in curl python3 "$CC" pkg-config taskset; do command -v "$c" >/dev/null || die "$c is not installed"; done

WORK=$(mktemp -d /tmp/proflab-bench-tokens.XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [ "$BENCH_KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

secs() { python3 -c 'import time; print(time.monotonic())'; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }

echo "== token verification (one core)"
# shellcheck disable=SC2046 # pkg-config prints several words
"$CC" -std=gnu11 -O2 -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED -I"$ROOT/engine" "$HERE/tok_verify.c" \
  "$ROOT/engine/tok/tok.c" $(pkg-config --cflags --libs msgpack) -lcrypto -o "$WORK/tok_verify" || die "cannot build tok_verify"
taskset -c 0 "$WORK/tok_verify" "$BENCH_VERIFIES" >"$WORK/verify.txt" || die "tok_verify failed"
verify=$(awk '$1=="verify_per_s"{print $2}' "$WORK/verify.txt")
printf '%-34s %12s %12s %8s\n' "" measured target ratio
printf '%-34s %12s %12s %8s\n' "verifications/s (valid token)" "$verify" 500000 "$(ratio "$verify" 500000)"
printf '%-34s %12s\n' "ns per verification" "$(awk '$1=="verify_ns"{print $2}' "$WORK/verify.txt")"
printf '%-34s %12s\n' "refusals/s (one byte changed)" "$(awk '$1=="refuse_per_s"{print $2}' "$WORK/verify.txt")"
printf '%-34s %12s\n' "mints/s" "$(awk '$1=="mint_per_s"{print $2}' "$WORK/verify.txt")"
printf '%-34s %12s\n' "token bytes" "$(awk '$1=="token_bytes"{print $2}' "$WORK/verify.txt")"

echo
echo "== artifact download: ${BENCH_MB} MiB over loopback"
ART=$WORK/art
mkdir -p "$ART"
head -c $((BENCH_MB * 1048576)) /dev/urandom >"$ART/cpu-bench.bin"
env -u LAB_PUBLIC_URL LAB_ENABLE=true LAB_TOKEN="$TOKEN" LAB_ARTIFACTS_MAX_MB=$((BENCH_MB * 2 + 16)) \
  "$PROFLAB_BIN" serve --listen 127.0.0.1:0 --artifacts "$ART" 2>"$WORK/server.log" &
PID=$!
URL=""
for _ in $(seq 1 600); do
  URL=$(sed -n 's/.*msg=listening url=\(http:[^ ]*\).*/\1/p' "$WORK/server.log" | head -n1)
  [ -n "$URL" ] && break
  kill -0 "$PID" 2>/dev/null || die "the server did not start: $(cat "$WORK/server.log")"
  sleep 0.1
done
[ -n "$URL" ] || die "the server did not start"
sleep 0.5
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status")
curl_mapped=$(grep -c libcurl "/proc/$PID/maps" || true)
LINK=$(curl -sS -X POST -H "x-lab-token: $TOKEN" "$URL/api/lab/tokens?artifact=cpu-bench.bin&ttl=1h" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["download"])')
bytes=$((BENCH_MB * 1048576))
cat "$ART/cpu-bench.bin" >/dev/null # warm the page cache for both sides

t0=$(secs); cp "$ART/cpu-bench.bin" "$WORK/copy.bin"; sync -f "$WORK/copy.bin" 2>/dev/null || true; t1=$(secs)
cp_s=$(python3 -c "print($t1 - $t0)"); rm -f "$WORK/copy.bin"
t0=$(secs); cat "$ART/cpu-bench.bin" >/dev/null; t1=$(secs)
cat_s=$(python3 -c "print($t1 - $t0)")

# health probes every 50 ms while the downloads run
( while :; do curl -sS -o /dev/null -w '%{time_total}\n' "$URL/api/health" >>"$WORK/health.txt" 2>/dev/null || true; sleep 0.05; done ) &
PROBE=$!
dl_file=$(curl -sS -o "$WORK/dl.bin" -w '%{time_total} %{http_code}' "$LINK")
sync -f "$WORK/dl.bin" 2>/dev/null || true
dl_null=$(curl -sS -o /dev/null -w '%{time_total} %{http_code}' "$LINK")
kill "$PROBE" 2>/dev/null; wait "$PROBE" 2>/dev/null || true
[ "${dl_file#* }" = 200 ] && [ "${dl_null#* }" = 200 ] || die "download failed: $dl_file / $dl_null"
[ "$(stat -c %s "$WORK/dl.bin")" = "$bytes" ] || die "downloaded size differs"
dl_file_s=${dl_file% *}
dl_null_s=${dl_null% *}
rm -f "$WORK/dl.bin"
t0=$(secs); (cd "$WORK" && "$PROFLAB_BIN" fetch "$LINK" -o fetched.bin 2>/dev/null); t1=$(secs)
fetch_s=$(python3 -c "print($t1 - $t0)")
[ -f "$WORK/fetched.bin" ] || die "proflab fetch failed"
rm -f "$WORK/fetched.bin"

mbs() { python3 -c "import sys; print(f'{$bytes/1048576/float(sys.argv[1]):.0f}')" "$1"; }
printf '%-42s %10s %10s %8s\n' "" "MiB/s" "seconds" ratio
printf '%-42s %10s %10.2f %8s\n' "cp (plain file copy, disk to disk)" "$(mbs "$cp_s")" "$cp_s" 1.00
printf '%-42s %10s %10.2f %8s\n' "download with curl to a file" "$(mbs "$dl_file_s")" "$dl_file_s" "$(ratio "$cp_s" "$dl_file_s")"
printf '%-42s %10s %10.2f %8s\n' "proflab fetch (+ SHA-256 check) to a file" "$(mbs "$fetch_s")" "$fetch_s" "$(ratio "$cp_s" "$fetch_s")"
printf '%-42s %10s %10.2f %8s\n' "cat > /dev/null (page cache read)" "$(mbs "$cat_s")" "$cat_s" 1.00
printf '%-42s %10s %10.2f %8s\n' "download with curl to /dev/null" "$(mbs "$dl_null_s")" "$dl_null_s" "$(ratio "$cat_s" "$dl_null_s")"
echo "(target: download to a file at least 0.80 of cp)"
python3 - "$WORK/health.txt" <<'PY'
import sys
t = sorted(float(x) for x in open(sys.argv[1]) if x.strip())
if t:
    print(f"GET /api/health during the downloads: {len(t)} probes, median {t[len(t)//2]*1000:.1f} ms, "
          f"p99 {t[min(len(t)-1, int(len(t)*0.99))]*1000:.1f} ms, worst {t[-1]*1000:.1f} ms")
PY
echo
printf 'idle server RSS: %s kB (target < 16384); libcurl mapped in the server: %s\n' "$rss_kb" \
  "$([ "$curl_mapped" -gt 0 ] && echo yes || echo no)"
