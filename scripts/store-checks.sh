# Sourced by the kill-rounds scripts: check_store STORE WHEN fails (exit 1, naming WHEN) when
# the image store holds a layer directory without its record or a blob whose bytes do not match
# its name.
check_store() {
  local store=$1 when=$2 dir name blob
  for dir in "$store"/layers/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    [ "$name" = mountpoints ] || [ -f "$store/layers/$name.json" ] || { echo "$when: layer $name has no record" >&2; exit 1; }
  done
  for blob in "$store"/blobs/sha256/*; do
    [ -e "$blob" ] || continue
    [ "$(sha256sum "$blob" | cut -c1-64)" = "$(basename "$blob")" ] || { echo "$when: blob $blob is corrupt" >&2; exit 1; }
  done
}
