#!/usr/bin/env bash
# `podsh image load` (and import) SIGKILLed at random points, ROUNDS times, each followed by
# `podsh image prune`: afterwards the store holds no staging, no layer without its record, no
# blob whose bytes do not match its name, and once every image is removed and pruned, nothing
# but the mount-point layer. Root; outside CI (make image-kill-rounds ROUNDS=100).
#     scripts/image-kill-rounds.sh PODSH ROUNDS
set -euo pipefail
cd "$(dirname "$0")/.."
podsh=$(readlink -f "${1:-.build/debug/podsh}")
rounds=${2:-100}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store=$work/store
# A rootfs of busybox and 2,000 small files, as a tarball, and an OCI archive of three layers.
mkdir -p "$work/rootfs/bin" "$work/rootfs/data"
cp /bin/busybox "$work/rootfs/bin/"
for i in $(seq 2000); do echo "file $i" > "$work/rootfs/data/$i"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
python3 - "$work" <<'PY'
import json, subprocess, sys
work = sys.argv[1]
layers = [{"tar": work + "/rootfs.tar"},
          [{"name": "big/%d" % i, "data": "x" * 4096} for i in range(500)],
          [{"name": "big/.wh.1"}, {"name": "top", "data": "top\n"}]]
image = {"ref": "killed:1", "compression": "gz", "config": {"Cmd": ["sh"]}, "layers": layers}
subprocess.run(["python3", "Tests/Tools/make-image.py", "oci-archive", work + "/image.tar"], input=json.dumps(image).encode(),
               check=True, stdout=subprocess.DEVNULL)
PY
. scripts/store-checks.sh
check() {
  local tmp
  tmp=$(ls -A "$store/tmp" 2>/dev/null | wc -l)
  [ "$tmp" -eq 0 ] || { echo "round $1: $tmp staging entries left after prune" >&2; ls -la "$store/tmp" >&2; exit 1; }
  check_store "$store" "round $1"
}
completed=0
for round in $(seq "$rounds"); do
  if ((round % 2)); then
    "$podsh" image load "$work/image.tar" --image-dir "$store" >/dev/null 2>&1 &
  else
    "$podsh" image import "imported:$round" "$work/rootfs.tar" --image-dir "$store" >/dev/null 2>&1 &
  fi
  pid=$!
  # A random point in the first 1.5 s (a whole load takes about a second here, an import less).
  delay=$((RANDOM % 1500))
  sleep "$((delay / 1000)).$(printf "%03d" $((delay % 1000)))"
  kill -KILL "$pid" 2>/dev/null || true
  if wait "$pid" 2>/dev/null; then completed=$((completed + 1)); fi
  "$podsh" image prune --image-dir "$store" >/dev/null
  check "$round"
  # Whatever got in runs as an image should: the store answers for it.
  "$podsh" image ls --image-dir "$store" >/dev/null
done
for ref in $("$podsh" image ls --json --image-dir "$store" | python3 -c 'import json,sys; [print(json.loads(l)["ref"]) for l in sys.stdin]'); do
  "$podsh" image rm "$ref" --image-dir "$store"
done
"$podsh" image prune --image-dir "$store" >/dev/null
check end
left=$(cd "$store" && find blobs images layers tmp -mindepth 1 -maxdepth 1 ! -name mountpoints ! -name sha256 | wc -l)
blobs=$(ls -A "$store/blobs/sha256" | wc -l)
[ "$left" -eq 0 ] && [ "$blobs" -eq 0 ] || { echo "after removing every image: $left entries, $blobs blobs left" >&2; exit 1; }
echo "image-kill-rounds: $rounds rounds ($completed finished before the kill), nothing left"
