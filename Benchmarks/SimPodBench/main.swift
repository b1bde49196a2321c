import Foundation
import PodCore

// Sim pod benchmark (not a test): lifecycles per second and resident bytes per live pod on the
// sim backend, each next to a baseline measured in the same run. It fails only when a pod
// fails or something leaks, never on speed.
//
//     swift run -c release sim-pod-bench [lifecycles] [pods...]     (defaults: 20000 10000 100000)
//
// Lifecycle: create + start a pod of 2 containers (shared PID namespace), stop it gracefully,
// remove it. Baseline: building and dropping the same PodSpecs alone. Memory: resident set
// growth (/proc/self/statm) while N pods run, divided by N; baseline: the same N PodSpecs kept.
#if canImport(Glibc)
import Glibc
#endif

func nowSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Resident set size in bytes, from /proc/self/statm (its second field, in pages).
func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 256)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
    let fields = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func spec(_ i: Int) -> PodSpec {
    PodSpec(
        name: "pod-\(i)", shareProcessNamespace: true,
        containers: [
            ContainerSpec(name: "app", image: "busybox", command: ["sleep", "100000"]),
            ContainerSpec(name: "sidecar", image: "busybox", command: ["sleep", "100000"]),
        ])
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let lifecycles = arguments.first ?? 20_000
let populations = arguments.count > 1 ? Array(arguments.dropFirst()) : [10_000, 100_000]

// Lifecycles per second.
var sink = 0
var start = nowSeconds()
for i in 0..<lifecycles { sink &+= spec(i).containers.count }
let baselineTime = nowSeconds() - start

// Warm up (caches, allocator) with a tenth as many lifecycles, untimed.
do {
    let warmup = PodRuntime()
    for i in 0..<max(1, lifecycles / 10) {
        guard let pod = try? warmup.run(spec(i)) else { break }
        try? pod.stop()
        try? pod.remove()
    }
}

let sim = SimBackend()
let runtime = PodRuntime(backend: sim)
var phases = [0.0, 0.0, 0.0, 0.0]
start = nowSeconds()
for i in 0..<lifecycles {
    do {
        var mark = nowSeconds()
        func lap(_ phase: Int) {
            let t = nowSeconds()
            phases[phase] += t - mark
            mark = t
        }
        let pod = try runtime.create(spec(i))
        lap(0)
        try pod.start()
        lap(1)
        try pod.stop()
        lap(2)
        try pod.remove()
        lap(3)
    } catch {
        print("lifecycle \(i) failed: \(error)")
        exit(1)
    }
}
let lifecycleTime = nowSeconds() - start
let perSecond = Double(lifecycles) / lifecycleTime
print(
    "sim pod lifecycle (create, start 2 containers, stop, remove): \(Int(perSecond)) lifecycles/s "
        + "(\(String(format: "%.2f", lifecycleTime * 1e6 / Double(lifecycles))) µs each)")
print(
    "  baseline, PodSpec built and dropped: \(Int(Double(lifecycles) / baselineTime)) specs/s; "
        + "lifecycle / baseline time ratio \(String(format: "%.1f", lifecycleTime / baselineTime))x; target >= 50000 lifecycles/s")
let split = zip(["create", "start", "stop", "remove"], phases)
    .map { "\($0) \(String(format: "%.1f", $1 * 1e6 / Double(lifecycles)))" }.joined(separator: ", ")
print("  per phase, µs: \(split)")
guard sim.inventory().isEmpty else {
    print("leak: \(sim.inventory().details.prefix(5))")
    exit(1)
}

// Resident bytes per live running pod.
for count in populations {
    var specs: [PodSpec] = []
    specs.reserveCapacity(count)
    let before = residentBytes()
    for i in 0..<count { specs.append(spec(i)) }
    let specBytes = residentBytes() - before

    let liveBackend = SimBackend()
    let live = PodRuntime(backend: liveBackend)
    let beforePods = residentBytes()
    for i in 0..<count {
        do { _ = try live.run(specs[i]) } catch {
            print("pod \(i) failed: \(error)")
            exit(1)
        }
    }
    let podBytes = residentBytes() - beforePods
    let inventory = liveBackend.inventory()
    print(
        "\(count) live pods (\(inventory.processes) processes, \(inventory.namespaces) namespaces): "
            + "\(podBytes / count) resident bytes per pod; baseline, the PodSpec alone: \(specBytes / count) bytes; "
            + "ratio \(String(format: "%.1f", Double(podBytes) / Double(max(specBytes, 1))))x; target <= 4096 bytes per pod")
    live.close()
    specs.removeAll()
}
if sink == 0 { print("") }
