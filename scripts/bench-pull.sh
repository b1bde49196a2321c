#!/usr/bin/env bash
# Pull benchmark (not a test): `podsh image pull` against what people do without it — `skopeo
# copy docker://… oci:DIR` then `umoci unpack` (fetch, then unpack to a root file system) — both
# from one Debian docker-registry on 127.0.0.1 in this run, RUNS runs each into fresh
# directories, medians. Then a second tag sharing all but its top layer is pulled into the store
# the first is in: the bytes the registry served for it (from its access log) against the
# image's size. The image: busybox, three layers of 2,000 files each and one of 16 MiB that does
# not compress (gzip). Everything on a tmpfs. Target: podsh at least 2x faster. Root,
# docker-registry, skopeo, umoci; `podman pull` is measured too when podman is installed (a
# root and run root of its own on the tmpfs, the overlay driver, into a fresh store each run).
#     scripts/bench-pull.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
for tool in docker-registry skopeo umoci; do
  command -v "$tool" >/dev/null || { echo "bench-pull: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
swift build -c release --product podsh --static-swift-stdlib --scratch-path .build-static >/dev/null
podsh=$(readlink -f .build-static/release/podsh)
work=$(mktemp -d)
# On a tmpfs of its own: the disk's journal and discards (the store of the last run is deleted
# before each) would otherwise be most of what is measured, and vary from run to run.
mount -t tmpfs -o size=2g swift-pods-bench "$work"
registry_pid=
# Mounts below a directory, deepest first (podman's storage mounts its overlay directory).
umount_below() {
  awk -v p="$1" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount "$m" || true; done
}
cleanup() {
  if [ -n "$registry_pid" ]; then kill -KILL "$registry_pid" 2>/dev/null || true; fi
  umount_below "$work/podman"
  umount "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
. scripts/local-registry.sh
start_registry "$work"
port=$registry_port
head -c $((16 << 20)) /dev/urandom > "$work/random.bin"
python3 - "$work" <<'PY'
import json, subprocess, sys
work = sys.argv[1]
def files(layer):
    return [{"name": "data%d/f%d" % (layer, i), "data": ("layer %d file %d\n" % (layer, i)) * 20} for i in range(2000)]
base = [[{"name": "bin/busybox", "file": "/bin/busybox", "mode": 0o755}], files(1), files(2), files(3),
        [{"name": "random.bin", "file": work + "/random.bin"}]]
for tag, top in (("1", "one\n"), ("2", "two\n")):
    image = {"ref": "latest", "compression": "gz", "config": {"Cmd": ["/bin/busybox", "true"]},
             "layers": base + [[{"name": "top", "data": top}]]}
    subprocess.run(["python3", "Tests/Tools/make-image.py", "oci", work + "/layout" + tag], input=json.dumps(image).encode(),
                   check=True, stdout=subprocess.DEVNULL)
PY
for tag in 1 2; do
  skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$work/layout$tag" "docker://127.0.0.1:$port/bench:$tag"
done
ref="127.0.0.1:$port/bench:1"
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=()
theirs=()
podmans=()
podman=$(command -v podman || true)
podman_pull() {
  "$podman" --root "$work/podman" --runroot "$work/podman-run" --storage-driver overlay \
    pull -q --tls-verify=false "docker://$ref" >/dev/null
}
for run in $(seq "$runs"); do
  rm -rf "$work/store" "$work/oci" "$work/bundle"
  if [ -n "$podman" ]; then
    umount_below "$work/podman"
    rm -rf "$work/podman" "$work/podman-run"
    start=$(now)
    podman_pull
    podmans+=($(( ($(now) - start) / 1000000 )))
  fi
  start=$(now)
  "$podsh" image pull "$ref" --insecure -q --image-dir "$work/store" >/dev/null
  ours+=($(( ($(now) - start) / 1000000 )))
  start=$(now)
  skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$ref" "oci:$work/oci:bench" >/dev/null
  umoci unpack --image "$work/oci:bench" "$work/bundle" >/dev/null 2>&1
  theirs+=($(( ($(now) - start) / 1000000 )))
done
ours_ms=$(printf '%s\n' "${ours[@]}" | median)
theirs_ms=$(printf '%s\n' "${theirs[@]}" | median)
# The second tag into the store that has the first.
before=$(wc -l < "$work/registry.log")
start=$(now)
"$podsh" image pull "127.0.0.1:$port/bench:2" --insecure -q --image-dir "$work/store" >/dev/null
second_ms=$(( ($(now) - start) / 1000000 ))
served=$(tail -n +$((before + 1)) "$work/registry.log" | grep -F '"GET /v2/bench/blobs/' | awk '{s += $10} END {print s + 0}')
size=$(du -sb "$work/data/docker/registry/v2/blobs" | cut -f1)
echo "podsh image pull: ${ours_ms} ms (median of $runs: ${ours[*]})"
echo "skopeo copy + umoci unpack: ${theirs_ms} ms (median of $runs: ${theirs[*]})"
echo "ratio: $(awk "BEGIN { printf \"%.2f\", $theirs_ms / $ours_ms }")x faster (target >= 2x)"
if [ -n "$podman" ]; then
  podman_ms=$(printf '%s\n' "${podmans[@]}" | median)
  echo "podman pull: ${podman_ms} ms (median of $runs: ${podmans[*]}); podsh $(awk "BEGIN { printf \"%.2f\", $podman_ms / $ours_ms }")x faster"
else
  echo "podman pull: not measured (podman is not installed)"
fi
echo "second tag (one new layer): ${second_ms} ms, $served bytes served of the registry's $size bytes of blobs"
