#!/usr/bin/env bash
# Runs each fuzz target for SECONDS seconds (make fuzz SECONDS=N; CI: 60), from the seed corpus
# in Fuzz/corpus/TARGET plus what earlier runs found (.build-fuzz/corpus/TARGET). Prints each
# target's executions; a crash leaves its input in .build-fuzz/crashes/TARGET/ and fails the run
# (turn it into a regression: Fuzz/regressions/TARGET/, replayed by the tests).
#   scripts/fuzz.sh SECONDS TARGET...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=$1
shift
binary=.build-fuzz/debug/pod-fuzz
[ -x "$binary" ] || { echo "fuzz: $binary is not built (make fuzz-build)" >&2; exit 1; }
failed=0
for target in "$@"; do
  work=.build-fuzz/corpus/$target
  crashes=.build-fuzz/crashes/$target
  mkdir -p "$work" "$crashes"
  log=.build-fuzz/$target.log
  # Leak detection is off: the Swift runtime's caches and the targets' one Lua state live for
  # the whole run and would be reported as leaks.
  if ASAN_OPTIONS=detect_leaks=0 POD_FUZZ_TARGET=$target "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
      -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "Fuzz/corpus/$target" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz $target: ${runs:-?} runs in ${seconds} s, no crash (corpus: $(ls "$work" | wc -l) inputs)"
  else
    echo "fuzz $target: FAILED — the input is in $crashes/; the end of $log:" >&2
    tail -n 30 "$log" >&2
    failed=1
  fi
done
exit $failed
