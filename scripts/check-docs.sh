#!/usr/bin/env bash
# Builds the documentation (the DocC catalogs and every public symbol's doc comment) of the
# library targets with swift-docc-plugin, and fails on any warning: a broken link, a missing
# article, a malformed comment. Run by `make test`, so by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(PodCore PodKit PodSim PodLinux PodManifests PodBackends PodLua)
args=()
for t in "${targets[@]}"; do args+=(--target "$t"); done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! swift package generate-documentation --warnings-as-errors "${args[@]}" >"$log" 2>&1; then
  grep -E "warning|error" "$log" >&2 || cat "$log" >&2
  echo "docs: the documentation has warnings (above)" >&2
  exit 1
fi
echo "docs: ${targets[*]} build without warnings"
