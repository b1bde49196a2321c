#!/usr/bin/env bash
# Imports Debian's busybox-static as the linux backend's image "busybox": a root file system
# of /bin/busybox and one link per applet. Needs root (the image directory) and busybox-static.
#     scripts/busybox-image.sh [PODSH] [--image-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
podsh="${1:-.build/debug/podsh}"
shift || true
[ -x /bin/busybox ] || { echo "busybox-image: /bin/busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/root"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$rootfs/etc/passwd"
"$podsh" image import busybox "$rootfs" "$@"
