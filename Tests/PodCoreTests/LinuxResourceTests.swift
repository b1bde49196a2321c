import Foundation
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

extension LinuxPods {
    /// The pod cgroup of a pod this runtime runs.
    func podCgroup(_ name: String) throws -> String {
        let record = try runtime.record(name)
        return try #require(record.sandbox.flatMap { backend.cgroup(of: $0.id) })
    }

    /// The cgroup of a container's current run.
    func containerCgroup(_ pod: String, _ container: String) throws -> String {
        let record = try runtime.record(pod)
        let process = try #require(record.containers.first { $0.name == container }?.process)
        return try #require(backend.cgroup(ofProcess: process))
    }

    /// A cgroup interface file of the host's hierarchy, trimmed.
    func cgroupFile(_ path: String, _ file: String) -> String {
        let dir: String
        if let v1 = backend.cgroups as? CgroupV1Driver {
            let controller = String(file.prefix { $0 != "." })
            dir = (v1.mounts[controller] ?? "/nonexistent") + "/" + path
        } else if let v2 = backend.cgroups as? CgroupV2Driver {
            dir = v2.root + "/" + path
        } else {
            dir = "/nonexistent"
        }
        return LinuxSystem.readFile(dir + "/" + file).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension RealLinux {
    @Suite("Linux pods for real: cgroups, OOM and pids", .serialized)
    struct LinuxResourceTests {
        static func resources(
            cpu: String? = nil, memory: String? = nil, cpuLimit: String? = nil, memoryLimit: String? = nil
        ) throws -> ResourceRequirements {
            ResourceRequirements(
                requests: ResourceList(
                    cpu: try cpu.map { try Quantity(parsing: $0) }, memory: try memory.map { try Quantity(parsing: $0) }),
                limits: ResourceList(
                    cpu: try cpuLimit.map { try Quantity(parsing: $0) }, memory: try memoryLimit.map { try Quantity(parsing: $0) }))
        }

        @Test func a64MiLimitOOMKillsTheHogAndItsSiblingLives() throws {
            let env = try LinuxPods(needsBusybox: false)
            let hog = ContainerSpec(
                name: "hog", image: "host",
                command: ["python3", "-c", "b = bytearray(b'x') * (200 << 20); print('survived', len(b))"],
                resources: try Self.resources(memoryLimit: "64Mi"))
            let sibling = ContainerSpec(name: "sibling", image: "host", command: ["sleep", "3600"])
            let pod = try env.runtime.run(PodSpec(name: "oom", restartPolicy: .never, containers: [hog, sibling]))
            #expect(try pod.wait(timeout: 30) { $0.containers[0].state.termination != nil } == .satisfied)
            let status = try pod.status()
            let ended = try #require(status.containers[0].state.termination)
            #expect(ended.reason == .oomKilled)
            #expect(ended.exitCode == 137)
            #expect(ended.cause == .oomKilled)
            #expect(status.containers[1].state.isRunning, "the sibling survives")
            #expect(try pod.events().contains { $0.reason == "OOMKilled" && $0.container == "hog" })
            #expect(!(try pod.logs("hog")).contains("survived"))
            // A process killed by a signal from outside is not an OOM kill.
            try pod.kill("sibling")
            #expect(try pod.wait(timeout: 10) { $0.containers[1].state.termination != nil } == .satisfied)
            #expect(try pod.status().containers[1].state.termination?.reason == .error)
            env.closeAndCheck()
        }

        @Test func aMemoryEmptyDirIsChargedToThePod() throws {
            let env = try LinuxPods()
            var writer = env.box(
                "writer", ["dd", "if=/dev/zero", "of=/m/big", "bs=1M", "count=200"],
                mounts: [VolumeMount(name: "m", mountPath: "/m")])
            writer.resources = try Self.resources(memoryLimit: "64Mi")
            let pod = try env.runtime.run(
                PodSpec(
                    name: "tmpfs", restartPolicy: .never,
                    volumes: [VolumeSpec(name: "m", source: .emptyDir(EmptyDirVolumeSource(medium: .memory)))],
                    containers: [writer]))
            #expect(try pod.wait(timeout: 30) { $0.containers[0].state.termination != nil } == .satisfied)
            let ended = try #require(try pod.status().containers[0].state.termination)
            // Pages of a tmpfs are charged to the cgroup of whoever writes them: 200 MiB in a 64Mi
            // container ends in an OOM kill, as on a kubelet node — of the writer, not the pause:
            // the pause is the last the OOM killer picks (kubelet's oom_score_adj order).
            #expect(ended.reason == .oomKilled, "\(ended) \((try? pod.logs("writer")) ?? "")")
            #expect(ended.exitCode == 137)
            env.closeAndCheck()
        }

        @Test func oomScoreAdjFollowsKubeletsPolicy() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(
                PodSpec(
                    name: "oomadj",
                    containers: [
                        env.box("burstable", ["sleep", "3600"]).with(try Self.resources(memory: "64Mi", memoryLimit: "128Mi")),
                        env.box("besteffort", ["sleep", "3600"]),
                    ]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            func adj(_ c: String) throws -> Int {
                Int(try pod.exec(c, ["cat", "/proc/self/oom_score_adj"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -9999
            }
            let capacity = LinuxBackend.memoryCapacity
            #expect(
                try adj("burstable")
                    == ResourceMath.oomScoreAdj(pod: try pod.spec(), container: try pod.spec().containers[0], memoryCapacity: capacity))
            #expect(try adj("burstable") >= 3 && (try adj("burstable")) <= 999)
            #expect(try adj("besteffort") == 1000 || (try adj("besteffort")) >= 3, "a pod with one Burstable container is Burstable")
            // The pause: kubelet's -998 where this process may lower it (CAP_SYS_RESOURCE), else 0 —
            // below every container either way.
            let pause = try #require(try pod.status().infra.pid)
            let pauseAdj = Int(LinuxSystem.readFile("/proc/\(pause)/oom_score_adj").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 9999
            #expect(pauseAdj == -998 || pauseAdj == 0, "\(pauseAdj)")
            #expect(pauseAdj < (try adj("burstable")))
            env.closeAndCheck()
        }

        @Test func podPidsLimitStopsAForkBomb() throws {
            let env = try LinuxPods(needsBusybox: false, podPidsLimit: 32)
            let bomb = """
                import os, time
                n = 0
                try:
                    while True:
                        if os.fork() == 0:
                            time.sleep(60)
                            os._exit(0)
                        n += 1
                except OSError as e:
                    print(n, e.errno)
                """
            let pod = try env.runtime.run(
                PodSpec(
                    name: "bomb", restartPolicy: .never,
                    containers: [
                        ContainerSpec(name: "c", image: "host", command: ["python3", "-c", bomb])
                    ]))
            #expect(try pod.wait(phase: .succeeded, timeout: 30) == .satisfied)
            let fields = try pod.logs("c").split(whereSeparator: { $0 == " " || $0 == "\n" })
            #expect(fields.count == 2, "\(fields)")
            let forked = Int(fields.first ?? "") ?? -1
            #expect((20...30).contains(forked), "at most 32 pids in the pod, the pause and python included: \(forked)")
            #expect(fields.last == "\(EAGAIN)", "fork fails with EAGAIN")
            env.closeAndCheck()
        }

        @Test func containersAreConfined() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(
                PodSpec(name: "jail", shareProcessNamespace: true, containers: [env.box("c", ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            func run(_ script: String) throws -> ExecResult { try pod.exec("c", ["sh", "-c", script]) }
            // Docker's capabilities; no_new_privs only with allowPrivilegeEscalation: false.
            let status = try run("grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status").stdout
            #expect(
                status == "CapPrm:\t00000000a00425fb\nCapEff:\t00000000a00425fb\nCapBnd:\t00000000a00425fb\nNoNewPrivs:\t0\n", "\(status)")
            // No CAP_SYS_ADMIN: no mounts, no hostname changes, no way back to the host's root.
            let mount = try run("mkdir -p /mnt; mount -t tmpfs t /mnt")
            #expect(mount.exitCode != 0 && mount.stderr.contains("ermission denied") || mount.stderr.contains("not permitted"), "\(mount)")
            #expect(try run("hostname other").exitCode != 0)
            #expect(try run("cd /..; ls").stdout == (try run("ls /")).stdout, "/.. is /")
            #expect(
                try run("chroot /proc/1/root true").exitCode != 0,
                "no chroot into the pause's root... \((try? run("chroot /proc/1/root true").stderr) ?? "")")
            // The container's /proc is the pod's: no host process is visible.
            let visible = try run("ls /proc | grep -c '^[0-9]'").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect((Int(visible) ?? 99) < 8, "\(visible) processes visible")
            // The host's files are not there (the busybox image has no /usr).
            #expect(try run("ls /usr").exitCode != 0)
            env.closeAndCheck()
        }

        @Test func cgroupFilesHoldKubeletsValues() throws {
            let env = try LinuxPods(needsBusybox: false)
            func sleeper(_ name: String, _ resources: ResourceRequirements = ResourceRequirements()) -> ContainerSpec {
                ContainerSpec(name: name, image: "host", command: ["sleep", "3600"], resources: resources)
            }
            let guaranteed = try env.runtime.run(
                PodSpec(
                    name: "guaranteed",
                    containers: [sleeper("c", try Self.resources(cpu: "500m", memory: "128Mi", cpuLimit: "500m", memoryLimit: "128Mi"))]))
            let burstable = try env.runtime.run(
                PodSpec(
                    name: "burstable",
                    containers: [
                        sleeper("a", try Self.resources(cpu: "250m", memory: "64Mi", memoryLimit: "128Mi")),
                        sleeper("b", try Self.resources(cpuLimit: "1", memoryLimit: "32Mi")),
                    ]))
            let bestEffort = try env.runtime.run(PodSpec(name: "besteffort", containers: [sleeper("c")]))
            for pod in [guaranteed, burstable, bestEffort] { #expect(try pod.wait(phase: .running) == .satisfied) }
            let unlimited: Set<String> = ["max", "-1", "9223372036854771712"]
            func check(
                _ path: String, shares: String, quota: String?, memory: String?, pids: String?,
                sourceLocation: SourceLocation = #_sourceLocation
            ) {
                let isV1 = env.backend.cgroups.version == "v1"
                if isV1 {
                    #expect(env.cgroupFile(path, "cpu.shares") == shares, "cpu.shares of \(path)", sourceLocation: sourceLocation)
                    let q = env.cgroupFile(path, "cpu.cfs_quota_us")
                    if let quota {
                        #expect(q == quota, "quota of \(path)", sourceLocation: sourceLocation)
                    } else {
                        #expect(q == "-1", sourceLocation: sourceLocation)
                    }
                    #expect(env.cgroupFile(path, "cpu.cfs_period_us") == "100000", sourceLocation: sourceLocation)
                    let m = env.cgroupFile(path, "memory.limit_in_bytes")
                    if let memory {
                        #expect(m == memory, "memory of \(path)", sourceLocation: sourceLocation)
                    } else {
                        #expect(unlimited.contains(m), "\(m)", sourceLocation: sourceLocation)
                    }
                } else {
                    #expect(
                        env.cgroupFile(path, "cpu.weight") == String(ResourceMath.cpuWeight(shares: Int64(shares)!)),
                        sourceLocation: sourceLocation)
                    #expect(env.cgroupFile(path, "cpu.max") == "\(quota ?? "max") 100000", sourceLocation: sourceLocation)
                    #expect(env.cgroupFile(path, "memory.max") == (memory ?? "max"), sourceLocation: sourceLocation)
                }
                let p = env.cgroupFile(path, "pids.max")
                #expect(p == (pids ?? "max"), "pids.max of \(path)", sourceLocation: sourceLocation)
            }
            // Guaranteed: 500m -> 512 shares, 50000 us of 100000; 128Mi.
            check(try env.podCgroup("guaranteed"), shares: "512", quota: "50000", memory: "134217728", pids: "4096")
            check(try env.containerCgroup("guaranteed", "c"), shares: "512", quota: "50000", memory: "134217728", pids: nil)
            // Burstable: shares from requests (a: 250m; b's request defaults to its limit 1 -> 1024);
            // a has no cpu limit, so no pod quota; both have memory limits: 160Mi at the pod.
            check(try env.podCgroup("burstable"), shares: "1280", quota: nil, memory: "167772160", pids: "4096")
            check(try env.containerCgroup("burstable", "a"), shares: "256", quota: nil, memory: "134217728", pids: nil)
            check(try env.containerCgroup("burstable", "b"), shares: "1024", quota: "100000", memory: "33554432", pids: nil)
            // BestEffort: 2 shares, nothing else.
            check(try env.podCgroup("besteffort"), shares: "2", quota: nil, memory: nil, pids: "4096")
            check(try env.containerCgroup("besteffort", "c"), shares: "2", quota: nil, memory: nil, pids: nil)
            // The processes are where they belong.
            let cgroup = try env.containerCgroup("guaranteed", "c")
            if case .running(_, let pid) = try guaranteed.status().containers[0].state {
                #expect(env.backend.cgroups.processes(cgroup) == [pid_t(pid)])
            } else {
                Issue.record("the guaranteed container is not running")
            }
            let parents = [try env.podCgroup("guaranteed"), try env.podCgroup("burstable"), try env.podCgroup("besteffort")]
            env.closeAndCheck()
            for path in parents {
                #expect(env.cgroupFile(path, "cpu.shares").isEmpty && env.cgroupFile(path, "pids.max").isEmpty, "\(path) removed")
            }
        }
    }
}

@Suite("cgroup drivers")
struct CgroupDriverTests {
    @Test func theV2DriverWritesKubeletsFilesIntoATree() throws {
        let root = LinuxTestSupport.scratch("cgroup2")
        defer { LinuxTestSupport.remove(root) }
        try "cpuset cpu io memory hugetlb pids rdma misc\n".write(toFile: root + "/cgroup.controllers", atomically: true, encoding: .utf8)
        let driver = CgroupV2Driver(root: root)
        let values = CgroupValues(cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, memoryLimit: 134217728)
        try driver.create("swift-pods/web-1/app-1", values: values, pidsMax: nil)
        try driver.create("swift-pods/web-1", values: CgroupValues(cpuShares: 2), pidsMax: 4096)
        func read(_ path: String) -> String { LinuxSystem.readFile(root + "/" + path) }
        #expect(read("cgroup.subtree_control") == "+cpu +memory +pids")
        #expect(read("swift-pods/web-1/app-1/cpu.weight") == "20")  // 1 + (510 * 9999) / 262142
        #expect(read("swift-pods/web-1/app-1/cpu.max") == "50000 100000")
        #expect(read("swift-pods/web-1/app-1/memory.max") == "134217728")
        #expect(read("swift-pods/web-1/app-1/pids.max") == "max")
        #expect(read("swift-pods/web-1/cpu.weight") == "1")
        #expect(read("swift-pods/web-1/cpu.max") == "max 100000")
        #expect(read("swift-pods/web-1/memory.max") == "max")
        #expect(read("swift-pods/web-1/pids.max") == "4096")
        #expect(driver.procsFiles("swift-pods/web-1/app-1") == [root + "/swift-pods/web-1/app-1/cgroup.procs"])
        try "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n".write(
            toFile: root + "/swift-pods/web-1/app-1/memory.events", atomically: true, encoding: .utf8)
        #expect(driver.oomKills("swift-pods/web-1/app-1") == 1)
        try "12\n34\n".write(toFile: root + "/swift-pods/web-1/app-1/cgroup.procs", atomically: true, encoding: .utf8)
        #expect(driver.processes("swift-pods/web-1/app-1") == [12, 34])
    }

    @Test func theV1DriverWritesEachHierarchy() throws {
        let root = LinuxTestSupport.scratch("cgroup1")
        defer { LinuxTestSupport.remove(root) }
        let mounts = ["memory": root + "/memory", "pids": root + "/pids", "cpu": root + "/cpu"]
        let driver = CgroupV1Driver(mounts: mounts)
        try driver.create("swift-pods/p/c", values: CgroupValues(cpuShares: 256, memoryLimit: 67108864), pidsMax: 100)
        func read(_ path: String) -> String { LinuxSystem.readFile(root + "/" + path) }
        #expect(read("cpu/swift-pods/p/c/cpu.shares") == "256")
        #expect(read("cpu/swift-pods/p/c/cpu.cfs_quota_us") == "-1")
        #expect(read("cpu/swift-pods/p/c/cpu.cfs_period_us") == "100000")
        #expect(read("memory/swift-pods/p/c/memory.limit_in_bytes") == "67108864")
        #expect(read("pids/swift-pods/p/c/pids.max") == "100")
        #expect(driver.procsFiles("swift-pods/p/c").count == 3)
        try "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n".write(
            toFile: root + "/memory/swift-pods/p/c/memory.oom_control", atomically: true, encoding: .utf8)
        #expect(driver.oomKills("swift-pods/p/c") == 2)
    }

    @Test func detectionReadsMountinfo() throws {
        let hybrid = """
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """
        let v1 = try #require(try CgroupDrivers.detect(mountinfo: hybrid).get() as? CgroupV1Driver)
        #expect(v1.mounts == ["cpu": "/sys/fs/cgroup/cpu", "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"])
        let root = LinuxTestSupport.scratch("cgroup2-detect")
        defer { LinuxTestSupport.remove(root) }
        try "cpu memory pids\n".write(toFile: root + "/cgroup.controllers", atomically: true, encoding: .utf8)
        let pure = "30 23 0:26 / \(root) rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        let v2 = try #require(try CgroupDrivers.detect(mountinfo: pure).get() as? CgroupV2Driver)
        #expect(v2.root == root)
        #expect(throws: BackendError.self) { try CgroupDrivers.detect(mountinfo: "").get() }
    }
}

extension ContainerSpec {
    func with(_ resources: ResourceRequirements) -> ContainerSpec {
        var copy = self
        copy.resources = resources
        return copy
    }
}
