import Foundation
import PodKit
import PodLinux

// Linux pod benchmark (not a test): one pod cycle on the linux backend next to two baselines
// measured in the same run. It fails only when a pod fails, never on speed.
//
//     swift run -c release linux-pod-bench [cycles] [--tmpfs] [--owner-mb N] [--pod-only]   (default 200; root)
//
// Pod cycle: create a sandbox (pause in new net/ipc/uts/pid namespaces, cgroups, record),
// start 2 containers running `true` on the busybox image (overlay root, /proc, /dev, cgroup
// each), wait for both exits, remove everything. Baselines: `unshare --fork --pid --net --ipc
// --uts --mount true` (the floor: namespaces and one process, nothing else); the same pod built
// from a shell with unshare + nsenter (scripts/shell-pod.sh); and namespaces alone from a shell
// (no root file system, no cgroups). Medians of `cycles` runs each; the ratios are what matter.
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

/// Runs argv and waits; its exit status.
func run(_ argv: [String]) -> Int32 {
    var pid: pid_t = 0
    let args = argv.map { strdup($0) } + [nil]
    defer { args.forEach { free($0) } }
    guard posix_spawnp(&pid, argv[0], nil, nil, args, nil) == 0 else { return 127 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status
}

/// Undone, newest first, when the benchmark fails (exit skips `defer`): a pod being cycled, the
/// scratch directory.
var cleanups: [@MainActor () -> Void] = []

@MainActor func fail(_ message: String) -> Never {
    let text = "linux-pod-bench: \(message)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    for cleanup in cleanups.reversed() { cleanup() }
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
let cycles = arguments.first.flatMap { Int($0) } ?? 200
// --tmpfs: the state directory on a tmpfs, as /run is on most hosts (it is ext4 on this VM).
let onTmpfs = arguments.contains("--tmpfs")
// --pod-only: the pod cycle alone (to profile it with perf), no baselines.
let podOnly = arguments.contains("--pod-only")
// --owner-mb N: the owning process holds N MB of touched memory, as a big embedding program
// would (what a container start must not copy).
let ownerMB = arguments.firstIndex(of: "--owner-mb").flatMap { $0 + 1 < arguments.count ? Int(arguments[$0 + 1]) : nil } ?? 0
let ballast = ownerMB > 0 ? malloc(ownerMB << 20) : nil
if let ballast { memset(ballast, 1, ownerMB << 20) }
if let reason = LinuxBackend.unavailableReason() { fail("the linux backend is unavailable: \(reason)") }
let scratch = "/tmp/linux-pod-bench-\(getpid())"
_ = run(["mkdir", "-p", scratch])
cleanups.append { _ = run(["rm", "-rf", scratch]) }
if onTmpfs && mount("tmpfs", scratch, "tmpfs", 0, "mode=755") != 0 {
    fail("mount tmpfs on \(scratch): \(String(cString: strerror(errno)))")
}
if onTmpfs { cleanups.append { umount2(scratch, Int32(MNT_DETACH)) } }
defer { for cleanup in cleanups.reversed() { cleanup() } }

// The busybox image, as scripts/busybox-image.sh makes it.
let rootfs = scratch + "/rootfs"
_ = run(["mkdir", "-p", rootfs + "/bin"])
_ = run(["cp", "/bin/busybox", rootfs + "/bin/busybox"])
_ = run(["ln", "-s", "busybox", rootfs + "/bin/true"])
do {
    try ImageStore(directory: scratch + "/images").importImage("busybox", from: rootfs)
} catch {
    fail("image import: \(error)")
}

// 1. The floor.
var floor: [Double] = []
for _ in 0..<(podOnly ? 0 : cycles) {
    let start = now()
    guard run(["unshare", "--fork", "--pid", "--net", "--ipc", "--uts", "--mount", "true"]) == 0 else { fail("unshare failed") }
    floor.append(now() - start)
}

// 2. The pod cycle.
let backend: LinuxBackend
do {
    backend = try LinuxBackend(options: LinuxBackendOptions(stateDir: scratch + "/state", imageDir: scratch + "/images"))
} catch {
    fail("\(error)")
}
let spec = PodSpec(
    name: "bench", shareProcessNamespace: true,
    containers: [
        ContainerSpec(name: "a", image: "busybox", command: ["true"]), ContainerSpec(name: "b", image: "busybox", command: ["true"]),
    ])
var pods: [Double] = []
var phases: [String: [Double]] = [:]
var cycling: SandboxID?
cleanups.append { if let cycling { try? backend.removeSandbox(cycling) } }
for _ in 0..<cycles {
    let start = now()
    var mark = start
    func phase(_ name: String) {
        let t = now()
        phases[name, default: []].append(t - mark)
        mark = t
    }
    do {
        let sandbox = try backend.createSandbox(SandboxRequest(pod: spec, uid: "bench"))
        cycling = sandbox.id
        phase("1 create sandbox")
        var ids = Set<ProcessID>()
        for container in spec.containers {
            ids.insert(
                try backend.spawn(
                    SpawnRequest(
                        context: .container(sandbox.id, ContainerRequest(container)),
                        argv: container.command)
                ).id)
        }
        phase("2 start 2 containers")
        while !ids.isEmpty {
            for event in backend.poll(until: backend.now + 10) {
                if case .processExited(let id, let exit) = event {
                    guard exit.exitCode == 0 else { fail("a container exited \(exit.exitCode)") }
                    ids.remove(id)
                }
            }
        }
        phase("3 wait for the exits")
        try backend.removeSandbox(sandbox.id)
        cycling = nil
        phase("4 remove")
    } catch {
        fail("pod cycle: \(error)")
    }
    pods.append(now() - start)
}
guard backend.inventory().isEmpty else { fail("leaked: \(backend.inventory().details)") }

// 3. Two pods from a shell. The same pod (scripts/shell-pod.sh): the pause, two containers on
// the busybox image with an overlay root and /proc each, the pod's cgroups, teardown — what the
// target is about. And, for reference, namespaces alone: `unshare` holding them with a sleeping
// process, 2 x `nsenter ... true` running the host's `true` (no root file system, no cgroups).
let script = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/") + "/scripts/shell-pod.sh"
let cgroupV1 =
    access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) == 0 && access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) == 0
    && access("/sys/fs/cgroup/cpu/cgroup.procs", F_OK) == 0
var samePods: [Double] = []
if !podOnly && cgroupV1 {
    // The image's overlay lower directories, as the store stacks them (colon-separated).
    guard let lower = try? ImageStore(directory: scratch + "/images").lowerDirectories(for: "busybox").joined(separator: ":") else {
        fail("the busybox image has no layers")
    }
    for cycle in 0..<cycles {
        let start = now()
        guard run(["bash", script, lower, scratch + "/shell-pod", "swift-pods-bench-\(getpid())-\(cycle)"]) == 0
        else {
            fail("the shell pod (\(script)) failed")
        }
        samePods.append(now() - start)
    }
}
let namespacesOnly = """
    exec 2>/dev/null
    unshare --fork --pid --net --ipc --uts --mount --mount-proc sleep 1000 &
    holder=$!
    while [ -z "$(cat /proc/$holder/task/$holder/children 2>/dev/null)" ]; do :; done
    target=$(cat /proc/$holder/task/$holder/children)
    nsenter -t $target --net --ipc --uts --pid --mount true
    nsenter -t $target --net --ipc --uts --pid --mount true
    kill -9 $target
    wait $holder
    exit 0
    """
var shells: [Double] = []
for _ in 0..<(podOnly ? 0 : cycles) {
    let start = now()
    guard run(["bash", "-c", namespacesOnly]) == 0 else { fail("the namespaces-only shell pod failed") }
    shells.append(now() - start)
}

let f = median(floor) * 1000, p = median(pods) * 1000, same = median(samePods) * 1000, s = median(shells) * 1000
print(
    "linux pod cycle (pause + 2 containers running true on busybox, through teardown), medians of \(cycles),"
        + " state directory on \(onTmpfs ? "a tmpfs" : "/tmp's file system")\(ownerMB > 0 ? ", owner holding \(ownerMB) MB" : ""):")
if !podOnly {
    print(String(format: "  unshare --fork --pid --net --ipc --uts --mount true   %7.2f ms   (floor)", f))
}
if podOnly {
    print(String(format: "  pod cycle (linux backend)                            %7.2f ms", p))
} else {
    print(String(format: "  pod cycle (linux backend)                            %7.2f ms   %.2fx the floor   (target <= 4x)", p, p / f))
}
if podOnly {
    // no baselines
} else if cgroupV1 {
    print(
        String(
            format: "  the same pod from a shell (scripts/shell-pod.sh)     %7.2f ms   %.2fx the pod cycle (target >= 3x)", same, same / p))
} else {
    print(
        "  the same pod from a shell: skipped (scripts/shell-pod.sh knows cgroup v1 only; this host has no v1 memory/pids/cpu hierarchies)")
}
if !podOnly {
    print(
        String(
            format: "  namespaces alone from a shell (unshare + 2 x nsenter) %6.2f ms   %.2fx the pod cycle (no root fs, no cgroups)", s,
            s / p))
}

print("  where a pod cycle's time goes (medians):")
for (name, values) in phases.sorted(by: { $0.key < $1.key }) {
    print(String(format: "    %-24@ %6.2f ms", name, median(values) * 1000))
}
