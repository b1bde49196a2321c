import Foundation
import PodTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `podsh ps/inspect/logs/stop/rm/gc` through the real binary, on pods made by another podsh
/// that is then killed; and leak-proofing: 100 pod lifecycles cut short at random points (the
/// pause, a container or the owner SIGKILLed), then `podsh gc`, then nothing of ours is left.
@Suite("podsh state commands on linux", .serialized)
struct LinuxStateCommandTests {
    final class Scratch {
        let root = NSTemporaryDirectory() + "podsh-state-\(UUID().uuidString.prefix(8))"
        let cgroupParent = "swift-pods-test-\(UUID().uuidString.prefix(8).lowercased())"
        var state: String { root + "/state" }
        var images: String { root + "/images" }
        init() { try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: root) }

        var flags: [String] { ["--state-dir", state, "--cgroup-parent", cgroupParent, "--allow-host-image"] }

        /// Live processes (not zombies) in a cgroup below our parent: what the pods left.
        func processes() -> [String] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap { Int32($0) }.compactMap { pid in
                guard let cgroup = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8),
                    cgroup.contains("/\(cgroupParent)/"),
                    let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].split(separator: " ").first != "Z"
                else { return nil }
                return "\(pid) \((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "?")"
            }
        }

        /// Cgroup directories below our parent, in every hierarchy.
        func cgroups() -> [String] {
            ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup"].flatMap { base in
                (FileManager.default.subpaths(atPath: base + "/" + cgroupParent) ?? []).map { base + "/" + cgroupParent + "/" + $0 }.filter
                { path in
                    var isDirectory: ObjCBool = false
                    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
                }
            }
        }

        func mounts() -> [String] {
            ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").split(separator: "\n")
                .map(String.init).filter { $0.contains(root) }
        }

        func entries() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: state + "/pods")) ?? [] }

        func removeParent() {
            for base in ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup"] {
                rmdir(base + "/" + cgroupParent)
            }
        }
    }

    static func requireLinux() throws -> String {
        guard geteuid() == 0 else {
            print("skip: podsh state commands: needs root")
            try Test.cancel("needs root")
        }
        guard let podsh = PodshTests.podsh else { try Test.cancel("podsh is not built") }
        return podsh
    }

    /// A podsh that runs `script` on linux and stays; returns once it printed `ready`.
    static func owner(
        _ podsh: String, _ scratch: Scratch, _ script: String, waitReady: Bool = true, images: String = "/nonexistent"
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: podsh)
        process.arguments = ["--backend", "linux", "--image-dir", images] + scratch.flags + ["-e", script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        if waitReady {
            var seen = ""
            while !seen.contains("ready") {
                let data = out.fileHandleForReading.availableData
                if data.isEmpty { break }
                seen += String(decoding: data, as: UTF8.self)
            }
        }
        return process
    }

    static func podsh(_ arguments: [String]) throws -> PodshTests.Run { try PodshTests.run(arguments) }

    /// `hostUsers: false` after a killed owner: the pod's ID range stays taken while its record
    /// is there, and `gc` frees it — the next pod gets it again.
    @Test func gcFreesTheIDRangeOfAKilledOwnersPod() throws {
        let podsh = try Self.requireLinux()
        let scratch = Scratch()
        defer { scratch.removeParent() }
        let imported = try Command.run(
            "/bin/bash", [PodshTests.root.appendingPathComponent("scripts/busybox-image.sh").path, podsh, "--image-dir", scratch.images],
            mergeOutput: true)
        guard imported.status == 0 else {
            print("skip: user namespace ranges after a killed owner: no busybox image: \(imported.stdout)")
            return
        }
        let script = """
            local p = pod.run{ name = "mapped", hostUsers = false, containers = { { name = "c", image = "busybox", command = { "sleep", "3600" } } } }
            assert(p:wait("Running"))
            print((p:exec("c", { "cat", "/proc/self/uid_map" }).stdout:gsub("%s+", " ")))
            print("ready")
            pod.sleep(3600)
            """
        func range(of owner: Process) throws -> String {
            let records = try FileManager.default.contentsOfDirectory(atPath: scratch.state + "/pods").filter { !$0.hasPrefix(".") }
            let texts = try records.map { dir in
                let files = try FileManager.default.contentsOfDirectory(atPath: scratch.state + "/pods/" + dir).filter { $0.hasPrefix("state.") }
                let newest = files.max { Int($0.dropFirst(6)) ?? 0 < Int($1.dropFirst(6)) ?? 0 } ?? ""
                return try String(contentsOfFile: scratch.state + "/pods/" + dir + "/" + newest, encoding: .utf8)
            }
            return texts.flatMap { $0.split(separator: "\n") }.first { $0.hasPrefix("userns ") }.map(String.init) ?? "none"
        }
        let first = try Self.owner(podsh, scratch, script, images: scratch.images)
        let taken = try range(of: first)
        #expect(taken == "userns \(1 << 30) 65536", "\(taken)")
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // Taken while the dead owner's record is there: a second pod gets the next range.
        let second = try Self.owner(podsh, scratch, script.replacingOccurrences(of: "\"mapped\"", with: "\"mapped2\""), images: scratch.images)
        let records = try FileManager.default.contentsOfDirectory(atPath: scratch.state + "/pods").filter { !$0.hasPrefix(".") }
        #expect(records.count == 2)
        kill(second.processIdentifier, SIGKILL)
        second.waitUntilExit()
        let gc = try Self.podsh(["gc"] + scratch.flags)
        #expect(gc.status == 0, "\(gc)")
        #expect(scratch.entries().filter { !$0.hasPrefix(".") } == [], "gc removed both")
        // Free again: the lowest range is the next pod's.
        let third = try Self.owner(podsh, scratch, script, images: scratch.images)
        #expect(try range(of: third) == "userns \(1 << 30) 65536")
        kill(third.processIdentifier, SIGKILL)
        third.waitUntilExit()
        _ = try Self.podsh(["gc"] + scratch.flags)
        #expect(scratch.processes() == [] && scratch.entries().filter { !$0.hasPrefix(".") } == [])
    }

    @Test func theCommandsWorkOnPodsOfAnOwnerThatWasKilled() throws {
        let podsh = try Self.requireLinux()
        let scratch = Scratch()
        defer { scratch.removeParent() }
        let owner = try Self.owner(
            podsh, scratch,
            """
            local alpha = pod.run{ name = "alpha", volumes = { { name = "m", emptyDir = { medium = "Memory" } } },
              containers = { { name = "c", image = "host", command = { "sh", "-c", "echo out; echo err >&2; exec sleep 3600" },
                               volumeMounts = { { name = "m", mountPath = "/m" } } },
                             { name = "d", image = "host", command = { "sleep", "3600" } } } }
            local beta = pod.run{ name = "beta", containers = { { name = "c", image = "host", command = { "sleep", "3600" } } } }
            assert(alpha:wait("Running") and beta:wait("Running"))
            -- Its log shim writes what came through the pipe a moment after the container did.
            while not alpha:logs("c"):find("err") do pod.sleep(0.01) end
            beta:detach()
            pod.sleep(0.2)
            print("ready")
            pod.sleep(3600)
            """)
        let ps = try Self.podsh(["ps"] + scratch.flags)
        #expect(ps.status == 0)
        let rows = ps.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.first == ["NAME", "ID", "OWNER", "PAUSE", "CONTAINERS", "PORTS"])
        #expect(rows.contains { $0.first == "alpha" && $0.contains("\(owner.processIdentifier)") }, "\(ps.stdout)")
        #expect(rows.contains { $0.first == "beta" && $0.contains("detached") }, "\(ps.stdout)")
        // The owner is alive: its pod is its own.
        let refused = try Self.podsh(["rm", "alpha"] + scratch.flags)
        #expect(refused.status == 1 && refused.stderr.contains("is owned by pid \(owner.processIdentifier)"), "\(refused)")
        #expect(try Self.podsh(["logs", "alpha", "c"] + scratch.flags).stdout == "out\nerr\n")
        let json = try Self.podsh(["inspect", "alpha", "--json"] + scratch.flags)
        #expect(json.status == 0 && json.stdout.contains("\"name\":\"alpha\"") && json.stdout.contains("\"net\":\"net:["), "\(json.stdout)")
        #expect(json.stdout.contains("\"mounts\":[\"") && json.stdout.contains("kind: Pod"), "\(json.stdout)")
        #expect(json.stdout.contains("\"logger\":") && !json.stdout.contains("\"logger\":null"), "a running run's log shim: \(json.stdout)")
        let text = try Self.podsh(["inspect", "beta"] + scratch.flags)
        #expect(text.stdout.contains("Owner:      detached"), "\(text.stdout)")
        #expect(text.stdout.contains(", log shim pid "), "\(text.stdout)")
        #expect(try Self.podsh(["inspect", "nosuch"] + scratch.flags).stderr.contains("no pod \"nosuch\""))
        // The owner dies without a word.
        kill(owner.processIdentifier, SIGKILL)
        owner.waitUntilExit()
        let after = try Self.podsh(["ps"] + scratch.flags).stdout
        #expect(after.contains("pid \(owner.processIdentifier) (dead)"), "\(after)")
        // gc takes the dead owner's pod, and keeps the detached one.
        let gc = try Self.podsh(["gc"] + scratch.flags)
        #expect(gc.status == 0 && gc.stdout.contains("removed pod alpha"), "\(gc)")
        #expect(!gc.stdout.contains("beta"))
        #expect(try Self.podsh(["ps"] + scratch.flags).stdout.split(separator: "\n").count == 2)
        // stop and rm the detached pod.
        let stopped = try Self.podsh(["stop", "beta", "--grace", "0.5"] + scratch.flags)
        #expect(stopped.status == 0, "\(stopped)")
        #expect(try Self.podsh(["ps"] + scratch.flags).stdout.contains("c exited"))
        #expect(try Self.podsh(["rm", "beta"] + scratch.flags).status == 0)
        #expect(scratch.entries() == [])
        #expect(scratch.processes() == [])
        #expect(scratch.cgroups() == [])
        #expect(scratch.mounts() == [])
    }

    @Test func aHundredLifecyclesCutShortThenGcLeaveNothing() throws {
        let podsh = try Self.requireLinux()
        let scratch = Scratch()
        defer { scratch.removeParent() }
        var generator = SystemRandomNumberGenerator()
        var modes: [Int] = [0, 0, 0, 0]
        // CI runs 100 rounds; `make kill-rounds ROUNDS=N` (POD_KILL_ROUNDS) runs more.
        let rounds = ProcessInfo.processInfo.environment["POD_KILL_ROUNDS"].flatMap(Int.init) ?? 100
        for round in 0..<rounds {
            let port = 20000 + Int.random(in: 0..<20000, using: &generator)
            let mode = Int.random(in: 0..<4, using: &generator)
            modes[mode] += 1
            let script = """
                local p = pod.run{ name = "p\(round)", shareProcessNamespace = \(round % 2 == 0),
                  volumes = { { name = "m", emptyDir = { medium = "Memory" } } },
                  containers = { { name = "a", image = "host", command = { "sleep", "3600" }, ports = { { containerPort = 80, hostPort = \(port) } },
                                   volumeMounts = { { name = "m", mountPath = "/m" } } },
                                 { name = "b", image = "host", command = { "sh", "-c", "sleep 3600; true" } } } }
                p:wait("Running")
                local s = p:status()
                print("ready", s.infra.pid, s.containers.a.pid)
                pod.sleep(3600)
                """
            switch mode {
            case 0, 1, 2:
                // Running, then the pause (the owner recreates the sandbox), a container (the owner
                // restarts it) or nothing is killed; then the owner, at a random moment.
                let owner = try Self.owner(podsh, scratch, script, waitReady: false)
                usleep(UInt32.random(in: 20_000...120_000, using: &generator))
                if mode > 0 {
                    let record = scratch.entries().first { $0.hasPrefix("p\(round)-") }
                    let newest = record.flatMap { r in
                        ((try? FileManager.default.contentsOfDirectory(atPath: scratch.state + "/pods/\(r)")) ?? [])
                            .filter { $0.hasPrefix("state.") }.max { Int($0.dropFirst(6)) ?? 0 < Int($1.dropFirst(6)) ?? 0 }
                            .map { scratch.state + "/pods/\(r)/\($0)" }
                    }
                    if let newest, let text = try? String(contentsOfFile: newest, encoding: .utf8) {
                        let key = mode == 1 ? "infra " : "container a "
                        if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }) {
                            let fields = line.split(separator: " ")
                            if let pid = Int32(fields[mode == 1 ? 1 : 3]) { kill(pid, SIGKILL) }
                        }
                    }
                    usleep(UInt32.random(in: 0...30_000, using: &generator))
                }
                kill(owner.processIdentifier, SIGKILL)
                owner.waitUntilExit()
            default:
                // The owner dies at once, anywhere in making the pod.
                let owner = try Self.owner(podsh, scratch, script, waitReady: false)
                usleep(UInt32.random(in: 0...40_000, using: &generator))
                kill(owner.processIdentifier, SIGKILL)
                owner.waitUntilExit()
            }
        }
        let gc = try Self.podsh(["gc"] + scratch.flags)
        #expect(gc.status == 0, "\(gc)")
        // Orphans are reaped by the host's init, a little late on this VM (measured: about 1.8 s): count what
        // still runs, not zombies, and give dying processes a moment to leave their cgroups.
        for _ in 0..<100 where !scratch.processes().isEmpty { usleep(20_000) }
        #expect(scratch.processes() == [], "processes left (modes \(modes))")
        #expect(scratch.cgroups() == [], "cgroups left")
        #expect(scratch.mounts() == [], "mounts left")
        #expect(scratch.entries() == [], "state entries left")
        // A forwarder joins the pause's cgroup before it execs (or never runs), so one of ours is
        // below our cgroup parent; another test's forwarders, running at the same time, are not
        // (matching any `pod-forwarder` of the machine made this flaky), and a zombie holds no port.
        let forwarders = scratch.processes().filter { $0.hasSuffix(" pod-forwarder\n") }
        #expect(forwarders.isEmpty, "forwarders left: \(forwarders)")
    }
}
