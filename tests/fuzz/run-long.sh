#!/usr/bin/env bash
# run-long.sh: build the libFuzzer targets with clang into a temporary folder, then run each
# for SECONDS (default 60) on a fresh corpus seeded from tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/run-long.sh [SECONDS] [TARGET...]      targets: params json tok artname promtext insp
#                                                      (default: all)
#
# Environment: CLANG (default clang), KEEP=1 keeps the temporary folder after a clean run
# (it is always kept when a target fails, with the crashing input in <target>/artifacts/).
# To grow the committed seeds from a long run, minimise first:
#   <tmp>/fuzz_params -merge=1 tests/fuzz/corpus/params <tmp>/params/corpus
set -euo pipefail

secs=${1:-60}
[[ $# -gt 0 ]] && shift
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(params json tok artname promtext insp)
if ! [[ $secs =~ ^[0-9]+$ ]] || [[ $secs -eq 0 ]]; then
  echo "run-long.sh: SECONDS must be a positive whole number, got '$secs'" >&2
  exit 2
fi

for t in "${targets[@]}"; do
  case $t in
    params | json | tok | artname | promtext | insp) ;;
    *) echo "run-long.sh: unknown target '$t' (params, json, tok, artname, promtext, insp)" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
clang=${CLANG:-clang}
command -v "$clang" >/dev/null || { echo "run-long.sh: $clang not found" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/proflab-fuzz.XXXXXX")
keep=${KEEP:-0}
cleanup() { if [[ $keep == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

flags=(-std=gnu11 -g -O1 "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=all
       -fno-omit-frame-pointer -Wall -Wextra -Werror -Wno-unused-parameter -I"$root/engine")

build() {
  case $1 in
    params)
      "$clang" "${flags[@]}" "$root/tests/fuzz/rt/params_fuzz.c" "$root/engine/rt/params.c" -o "$tmp/fuzz_params" ;;
    json)
      # shellcheck disable=SC2046 # pkg-config prints several words on purpose
      "$clang" "${flags[@]}" -I"$root/tests/unit/json" "$root/tests/fuzz/json/json_fuzz.c" \
        "$root/engine/json/json.c" "$root/tests/unit/json/jansson_check.c" \
        $(pkg-config --cflags --libs jansson) -lm -o "$tmp/fuzz_json" ;;
    tok)
      "$clang" "${flags[@]}" "$root/tests/fuzz/tok/tok_fuzz.c" "$root/engine/tok/tok.c" -lmsgpackc -lcrypto \
        -o "$tmp/fuzz_tok" ;;
    artname)
      "$clang" "${flags[@]}" "$root/tests/fuzz/artifacts/name_fuzz.c" "$root/engine/artifacts/artifacts.c" \
        "$root/engine/artifacts/store.c" "$root/engine/log/log.c" "$root/engine/tok/tok.c" -lmsgpackc -lcrypto \
        -o "$tmp/fuzz_artname" ;;
    promtext)
      "$clang" "${flags[@]}" "$root/tests/fuzz/walk/promtext_fuzz.c" "$root/engine/walk/promtext.c" -lm \
        -o "$tmp/fuzz_promtext" ;;
    insp)
      # shellcheck disable=SC2046 # pkg-config prints several words on purpose
      "$clang" "${flags[@]}" "$root/tests/fuzz/insp/insp_fuzz.c" "$root/engine/insp/head.c" "$root/engine/insp/msg.c" \
        $(pkg-config --cflags --libs jansson lua5.4) -lwslay -o "$tmp/fuzz_insp" ;;
  esac
}

for t in "${targets[@]}"; do
  echo "== building fuzz_$t"
  build "$t"
done

failed=()
for t in "${targets[@]}"; do
  mkdir -p "$tmp/$t/corpus" "$tmp/$t/artifacts"
  echo "== fuzz_$t for ${secs}s"
  if "$tmp/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$tmp/$t/artifacts/" "$tmp/$t/corpus" "$root/tests/fuzz/corpus/$t" \
       >"$tmp/$t/log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$tmp/$t/log" || true
  else
    failed+=("$t")
    tail -n 40 "$tmp/$t/log"
    echo "fuzz_$t FAILED; crashing input(s):" "$tmp/$t/artifacts/"*
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  keep=1
  echo "failed: ${failed[*]}"
  exit 1
fi
echo "all clean"
