#!/usr/bin/env bash
# `podsh image pull` SIGKILLed at random points, ROUNDS times, from Debian's docker-registry on
# 127.0.0.1 behind a relay of 8 MiB/s (Tests/Tools/slow-proxy.py): after every kill the store
# holds no corrupt blob and no layer without its record, and the next pull resumes the partial
# layer with a Range request — the registry's access log says how many bytes of the big layer it
# served in all, against its size. Every tenth round `image prune` runs too (it removes the
# partials no pull holds). At the end one pull must finish, and prune after removing the image
# must leave nothing. Root, docker-registry and skopeo; outside CI (make pull-kill-rounds ROUNDS=50).
#     scripts/pull-kill-rounds.sh PODSH ROUNDS
set -euo pipefail
cd "$(dirname "$0")/.."
podsh=$(readlink -f "${1:-.build/debug/podsh}")
rounds=${2:-50}
for tool in docker-registry skopeo; do
  command -v "$tool" >/dev/null || { echo "pull-kill-rounds: $tool is missing (scripts/setup.sh --validator)" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
store=$work/store
. scripts/local-registry.sh
start_registry "$work"
port=$registry_port
pids+=($registry_pid)
head -c $((24 << 20)) /dev/urandom > "$work/big.bin"
python3 - "$work" <<'PY'
import json, subprocess, sys
work = sys.argv[1]
layers = [[{"name": "bin/busybox", "file": "/bin/busybox", "mode": 0o755}],
          [{"name": "big.bin", "file": work + "/big.bin"}],
          [{"name": "top", "data": "top\n"}]]
image = {"ref": "latest", "compression": "gz", "config": {"Cmd": ["/bin/busybox", "true"]}, "layers": layers}
subprocess.run(["python3", "Tests/Tools/make-image.py", "oci", work + "/layout"], input=json.dumps(image).encode(),
               check=True, stdout=subprocess.DEVNULL)
PY
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$work/layout" "docker://127.0.0.1:$port/killed:1"
python3 Tests/Tools/slow-proxy.py "$work/proxy-port" "$port" $((8 << 20)) &
pids+=($!)
disown
until [ -s "$work/proxy-port" ]; do sleep 0.05; done
ref="127.0.0.1:$(cat "$work/proxy-port")/killed:1"
big=$(python3 -c "
import json,sys
idx=json.load(open('$work/layout/index.json'))
m=json.load(open('$work/layout/blobs/sha256/'+idx['manifests'][0]['digest'][7:]))
l=m['layers'][1]; print(l['digest'], l['size'])")
digest=${big% *}; size=${big#* }
. scripts/store-checks.sh
check() { check_store "$store" "round $1"; }
completed=0
for round in $(seq "$rounds"); do
  "$podsh" image pull "$ref" --insecure --image-dir "$store" >/dev/null 2>&1 &
  pid=$!
  # A random point in the first 3 s (a whole pull takes about 3 s through the relay).
  delay=$((RANDOM % 3000))
  sleep "$((delay / 1000)).$(printf "%03d" $((delay % 1000)))"
  kill -KILL "$pid" 2>/dev/null || true
  if wait "$pid" 2>/dev/null; then
    completed=$((completed + 1))
    "$podsh" image rm "$ref" --image-dir "$store"
    "$podsh" image prune --image-dir "$store" >/dev/null
  fi
  ((round % 10)) || "$podsh" image prune --image-dir "$store" >/dev/null
  check "$round"
done
"$podsh" image pull "$ref" --insecure --image-dir "$store" 2> "$work/last.err" >/dev/null || { cat "$work/last.err" >&2; exit 1; }
check last
served=$(grep -F "/blobs/$digest HTTP" "$work/registry.log" | awk '{s += $10} END {print s + 0}')
requests=$(grep -cF "/blobs/$digest HTTP" "$work/registry.log" || true)
ranges=$(grep -F "/blobs/$digest HTTP" "$work/registry.log" | awk '$9 == 206' | wc -l)
"$podsh" image rm "$ref" --image-dir "$store"
"$podsh" image prune --image-dir "$store" >/dev/null
left=$(cd "$store" && find blobs images layers tmp -mindepth 1 -maxdepth 1 ! -name mountpoints ! -name sha256 | wc -l)
blobs=$(ls -A "$store/blobs/sha256" | wc -l)
[ "$left" -eq 0 ] && [ "$blobs" -eq 0 ] || { echo "after removing the image: $left entries, $blobs blobs left" >&2; exit 1; }
echo "pull-kill-rounds: $rounds rounds ($completed finished before the kill); the $size-byte layer: $requests GETs, $ranges resumed with a Range, $served bytes served ($(python3 -c "print(f'{$served/$size:.2f}')")x its size for $((completed + 1)) whole pulls); nothing left"
