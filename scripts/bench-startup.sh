#!/usr/bin/env bash
# Start-up benchmark (not a test): `podsh -e 'print(1)'` against `lua5.4 -e 'print(1)'`, both
# measured in this run, 200 runs each, median per run. Target: podsh within 3x of lua5.4.
# Builds podsh in release mode with the Swift standard library linked statically (measured:
# that halves a Swift program's start-up) into .build-static.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product podsh --static-swift-stdlib --scratch-path .build-static >/dev/null
podsh=.build-static/release/podsh
median() {
  local -a times=()
  for _ in $(seq 200); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n '100p'
}
lua_us=$(median lua5.4 -e 'print(1)')
podsh_us=$(median "$podsh" -e 'print(1)')
echo "lua5.4 -e 'print(1)': ${lua_us} µs (median of 200)"
echo "podsh -e 'print(1)': ${podsh_us} µs (median of 200)"
echo "ratio: $(awk "BEGIN { printf \"%.2f\", $podsh_us / $lua_us }")x (target <= 3x)"
