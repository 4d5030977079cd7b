#!/usr/bin/env bash
# inspector.sh: what a DevTools session attached to the inspector costs the code it watches,
# beside node --inspect in the same run (scripts/bench/inspector.mjs has the method): no session,
# a session attached, a breakpoint in another function, a breakpoint in the working function on
# a line that never runs. Prints medians and ratios.
#
# Usage: scripts/bench/inspector.sh
# Environment: PROFLAB_BIN (default <repo>/build/proflab; build it Release), BENCH_RUNS (medians
#              of, default 9), BENCH_ROUNDS (units of work per run, default 20).
# Needs: node >= 20 and tests/consumers' npm packages (`npm ci` there; make test does it).
# Exit status: 0 when every measurement ran, 2 on an error.
set -euo pipefail

die() { echo "inspector.sh: error: $*" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROFLAB_BIN=${PROFLAB_BIN:-$ROOT/build/proflab}
RUNS=${BENCH_RUNS:-9}
ROUNDS=${BENCH_ROUNDS:-20}
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 3 ] && [ "$RUNS" -le 101 ] || die "BENCH_RUNS must be an integer from 3 to 101"
[[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 10000 ] || die "BENCH_ROUNDS must be an integer from 1 to 10000"
[ -x "$PROFLAB_BIN" ] || die "no proflab binary at $PROFLAB_BIN (build it: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && make -C build proflab)"
command -v node >/dev/null || die "node is not installed"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "node >= 20 is needed"

echo "inspector.sh: $RUNS runs of $ROUNDS rounds each side; proflab $PROFLAB_BIN, node $(node --version)"
node "$HERE/inspector.mjs" "$PROFLAB_BIN" "$ROOT" "$RUNS" "$ROUNDS" || die "the measurement failed"
