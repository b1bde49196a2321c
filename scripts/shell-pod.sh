#!/bin/bash
# The pod of linux-pod-bench built from a shell with unshare + nsenter, as someone would without
# swift-pods: a pause holding new net/ipc/uts/pid namespaces (hostname set, lo up), two
# containers running `true` on the busybox image (an overlay root and /proc each), the pod's
# cgroups with the values the linux backend writes for a BestEffort pod, then teardown. It does
# less than the backend (no /dev, /tmp, /dev/shm, pivot_root, capability drop, state record), so
# the comparison leans its way.
#
#     scripts/shell-pod.sh LOWER_DIRS RUN_DIR CGROUP_NAME      (root; cgroup v1 memory/pids/cpu)
# LOWER_DIRS: the overlay lower directories of the image, top first, colon-separated.
set -e
img=$1 run=$2 cg=$3
target= holder=
# A step that fails leaves nothing: the pause killed, the run directory and the cgroups gone.
cleanup() {
    [ -z "$target" ] || kill -9 "$target" 2>/dev/null || true
    [ -z "$holder" ] || kill -9 "$holder" 2>/dev/null || true  # unshare --kill-child takes the pause
    wait 2>/dev/null || true
    rm -rf "$run"
    rmdir /sys/fs/cgroup/{memory,pids,cpu}/$cg/{pause,a,b} /sys/fs/cgroup/{memory,pids,cpu}/$cg 2>/dev/null || true
}
trap 'status=$?; [ $status = 0 ] || cleanup; exit $status' EXIT
mkdir -p $run/rootfs $run/a/upper/proc $run/a/work $run/b/upper/proc $run/b/work \
    /sys/fs/cgroup/{memory,pids,cpu}/$cg/{pause,a,b}
for d in "" /pause /a /b; do
    echo 2 > /sys/fs/cgroup/cpu/$cg$d/cpu.shares
    echo 100000 > /sys/fs/cgroup/cpu/$cg$d/cpu.cfs_period_us
    echo -1 > /sys/fs/cgroup/cpu/$cg$d/cpu.cfs_quota_us
    echo -1 > /sys/fs/cgroup/memory/$cg$d/memory.limit_in_bytes
done
echo 4096 > /sys/fs/cgroup/pids/$cg/pids.max
# The pause: in its cgroups before the namespaces exist; says "ready" once lo is up.
exec 3< <(for h in memory pids cpu; do echo $BASHPID > /sys/fs/cgroup/$h/$cg/pause/cgroup.procs; done
          exec 2>/dev/null unshare --fork --pid --net --ipc --uts --kill-child \
              sh -c 'hostname bench && ip link set lo up && echo ready && exec sleep 1000 > /dev/null')
holder=$!
read -u 3 ready
read target < /proc/$holder/task/$holder/children || [ -n "$target" ]  # no newline: read says 1
for c in a b; do
    nsenter -t $target --net --ipc --uts --pid -- unshare --mount --propagation private sh -c '
        for h in memory pids cpu; do echo $$ > /sys/fs/cgroup/$h/$1/$2/cgroup.procs; done
        mount -t overlay overlay -o lowerdir=$3,upperdir=$4/$2/upper,workdir=$4/$2/work $4/rootfs
        mount -t proc proc $4/rootfs/proc
        exec chroot $4/rootfs /bin/true' sh $cg $c $img $run
done
kill -9 $target
wait $holder || true
exec 3<&-
rm -rf $run
rmdir /sys/fs/cgroup/{memory,pids,cpu}/$cg/{pause,a,b} /sys/fs/cgroup/{memory,pids,cpu}/$cg
