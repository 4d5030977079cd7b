#!/usr/bin/env bash
# Install the Debian 12 packages proflab needs to build, run and test.
# Usage: scripts/deps.sh [build|test]   (test also brings the test-only tools)
# As root: installs what is missing. Otherwise: prints the apt-get line and fails.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libh2o-evloop-dev libwslay-dev liblua5.4-dev lua5.4
            libmsgpack-dev libssl-dev libjansson-dev libcurl4-openssl-dev openssl)
test_pkgs=(libcmocka-dev lua-busted curl clang libclang-rt-14-dev wrk prometheus chromium python3 nodejs npm)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs 20 may come from outside Debian's archive on this machine: accept any node >= 20 on PATH.
if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
clean=(); for p in "${missing[@]}"; do [ -n "$p" ] && clean+=("$p"); done
missing=("${clean[@]+"${clean[@]}"}")
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "proflab needs these Debian packages; run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
