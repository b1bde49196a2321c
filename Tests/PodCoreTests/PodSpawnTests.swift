import CPodSpawn
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension RealLinux {
    /// The C spawn core of the Linux backend, for real: a pause in new namespaces, processes
    /// joined to it, failures reported with their step and errno, nothing left behind.
    @Suite("Linux spawn core", .serialized)
    struct PodSpawnTests {
        /// Root and namespaces, or the reason the tests cannot run here.
        static var unavailable: String? {
            if geteuid() != 0 { return "needs root (namespaces and sethostname)" }
            if !FileManager.default.fileExists(atPath: "/proc/self/ns/net") { return "no /proc/self/ns: namespaces unavailable" }
            return nil
        }

        static func requireLinux() throws {
            if let reason = unavailable {
                print("skip: Linux spawn core: \(reason)")
                try Test.cancel("Linux spawn core: \(reason)")
            }
        }

        /// Open descriptors on namespaces: the spawn core opens them, nothing else in the test
        /// process does (a plain descriptor count would race with the suites running alongside).
        static func namespaceFDs() -> Int {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            return fds.filter { fd in
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? ""
                return ["net:[", "ipc:[", "uts:[", "pid:["].contains { target.hasPrefix($0) }
            }.count
        }

        /// ipc, uts and net: what every container of a pod joins.
        static let podNamespaces = Int32(PODSPAWN_NS_IPC | PODSPAWN_NS_UTS | PODSPAWN_NS_NET)

        static func sandbox(_ hostname: String, sharedPID: Bool, _ failure: inout podspawn_error) -> pid_t {
            podspawn_sandbox(hostname, podNamespaces | (sharedPID ? Int32(PODSPAWN_NS_PID) : 0), nil, 0, &failure)
        }

        struct Ran {
            var pid: pid_t
            var output: String
            var status: Int32
        }

        /// Runs `argv` joined to `sandbox`; its output and exit status, or the spawn error.
        static func run(
            _ sandbox: pid_t, joinPID: Bool, root: UnsafePointer<podspawn_root>? = nil, _ argv: [String],
            env: [String] = ["PATH=/usr/bin:/bin"], cgroups: [String] = [], privileged: Bool = false,
            noNewPrivileges: Bool = false
        )
            -> Result<Ran, SpawnFailure>
        {
            var fds: [Int32] = [0, 0]
            guard podspawn_pipe(&fds) == 0 else { return .failure(SpawnFailure(step: "pipe2", error: errno)) }
            let cArgv = argv.map { strdup($0) } + [nil]
            let cEnv = env.map { strdup($0) } + [nil]
            defer {
                cArgv.forEach { free($0) }
                cEnv.forEach { free($0) }
            }
            let cCgroups = cgroups.map { UnsafePointer(strdup($0)!) }
            defer { cCgroups.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
            var failure = podspawn_error()
            let pid = cArgv.withUnsafeBufferPointer { argvBuffer in
                cEnv.withUnsafeBufferPointer { envBuffer in
                    cCgroups.map(Optional.some).withUnsafeBufferPointer { cgroupBuffer in
                        var process = podspawn_process(
                            argv: argvBuffer.baseAddress, envp: envBuffer.baseAddress, workdir: nil, in_fd: -1, out_fd: fds[1],
                            err_fd: fds[1], cgroup_procs: cgroupBuffer.baseAddress, cgroup_count: Int32(cgroupBuffer.count),
                            privileged: privileged ? 1 : 0, oom_score_adj: 0, oom_score_adj_set: 0, set_user: 0, uid: 0, gid: 0,
                            groups: nil, group_count: 0, capabilities: privileged ? ~0 : podspawn_default_capabilities,
                            no_new_privs: noNewPrivileges ? 1 : 0, unmasked: 0, seccomp_filter: nil, seccomp_length: 0,
                            userns_fd: -1, id_base: 0)
                        let join = PodSpawnTests.podNamespaces | (joinPID ? Int32(PODSPAWN_NS_PID) : 0)
                        return podspawn_exec(sandbox, join, joinPID ? 0 : 1, root, &process, &failure)
                    }
                }
            }
            close(fds[1])
            defer { close(fds[0]) }
            guard pid > 0 else {
                return .failure(SpawnFailure(step: String(cString: failure.step), target: Self.target(of: failure), error: failure.error))
            }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(fds[0], &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                bytes += buffer[0..<count]
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return .success(Ran(pid: pid, output: String(decoding: bytes, as: UTF8.self), status: status))
        }

        struct SpawnFailure: Error, Equatable {
            var step: String
            var target: String = ""
            var error: Int32
        }

        /// The target a failure names (a fixed-size C string).
        static func target(of failure: podspawn_error) -> String {
            var copy = failure.target
            return withUnsafeBytes(of: &copy) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }

        static func stop(_ pause: pid_t) -> Int32 {
            kill(pause, SIGTERM)
            var status: Int32 = 0
            while waitpid(pause, &status, 0) < 0 && errno == EINTR {}
            return status
        }

        /// Field 6 of /proc/PID/stat: the session id.
        static func session(_ pid: pid_t) -> pid_t {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
                return -1
            }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 3 ? pid_t(fields[3]) ?? -1 : -1
        }

        static func namespace(_ pid: pid_t, _ kind: String) -> String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(kind)")) ?? "?"
        }

        @Test func aPauseHoldsTheNamespacesAndContainersJoinThem() throws {
            try Self.requireLinux()
            var failure = podspawn_error()
            let pause = Self.sandbox("web", sharedPID: true, &failure)
            try #require(pause > 0, "sandbox: \(failure.step.map { String(cString: $0) } ?? "?") errno \(failure.error)")
            // Its own namespaces, named pause.
            for kind in ["net", "ipc", "uts", "pid"] {
                #expect(Self.namespace(pause, kind) != Self.namespace(getpid(), kind), "\(kind) namespace")
            }
            // A session of its own (a Ctrl-C at the owner's terminal does not reach it).
            #expect(Self.session(pause) == pause)
            let comm = try String(contentsOfFile: "/proc/\(pause)/comm", encoding: .utf8)
            #expect(comm == "pause\n")
            let cmdline = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pause)/cmdline"))
            #expect(String(decoding: cmdline.prefix { $0 != 0 }, as: UTF8.self) == "pause", "ps shows the command line 'pause'")

            // A container sees the pod's hostname, net namespace, and is PID 2 after the pause.
            let script =
                "hostname; readlink /proc/self/ns/net; echo $$; cat /proc/net/dev | grep -c ':'; read -r p c s pp g sid rest < /proc/self/stat; echo $p $sid"
            let ran = try Self.run(pause, joinPID: true, ["sh", "-c", script]).get()
            let lines = ran.output.split(separator: "\n").map(String.init)
            #expect(lines.count == 5)
            let ids = lines.last?.split(separator: " ") ?? []
            #expect(ids.count == 2 && ids.first == ids.last, "the container leads a session of its own: \(ids)")
            #expect(lines.first == "web")
            #expect(lines.dropFirst().first == Self.namespace(pause, "net"))
            #expect(lines.dropFirst(2).first == "2")
            #expect(lines.dropFirst(3).first == "1", "a new network namespace has only lo")
            #expect(ran.status == 0)

            // lo is up (the kernel leaves it down in a new network namespace).
            let loopback = try Self.run(pause, joinPID: true, ["cat", "/sys/class/net/lo/operstate"]).get()
            #expect(loopback.output == "unknown\n", "lo's operstate once it is up (it is 'down' before)")

            #expect(Self.stop(pause) == 0, "the pause exits 0 on SIGTERM")
            #expect(Self.namespaceFDs() == 0, "no namespace descriptor leaked")
        }

        @Test func withoutASharedPIDNamespaceTheContainerHasItsOwnPID() throws {
            try Self.requireLinux()
            var failure = podspawn_error()
            let pause = Self.sandbox("solo", sharedPID: false, &failure)
            try #require(pause > 0)
            #expect(Self.namespace(pause, "pid") == Self.namespace(getpid(), "pid"))
            let ran = try Self.run(pause, joinPID: false, ["sh", "-c", "echo $$; readlink /proc/self/ns/pid"]).get()
            let lines = ran.output.split(separator: "\n").map(String.init)
            #expect(lines.first == "1", "PID 1 of a PID namespace of its own")
            #expect(lines.last != Self.namespace(pause, "pid") && lines.last != Self.namespace(getpid(), "pid"))
            #expect(ran.status == 0, "a direct child of the caller, reaped per pid")
            #expect(Self.stop(pause) == 0)
        }

        @Test func failuresNameTheStepAndErrno() throws {
            try Self.requireLinux()
            var failure = podspawn_error()
            let pause = Self.sandbox("errs", sharedPID: true, &failure)
            try #require(pause > 0)
            // PATH lookup by execve on each candidate: a missing command is ENOENT at exec.
            #expect(
                Self.run(pause, joinPID: true, ["no-such-command"]).failureValue
                    == SpawnFailure(step: "execve", target: "no-such-command", error: ENOENT))
            #expect(
                Self.run(pause, joinPID: true, ["/nope/x"]).failureValue == SpawnFailure(step: "execve", target: "/nope/x", error: ENOENT))
            // A file that is not executable: EACCES, as execvp would say.
            let plain = FileManager.default.temporaryDirectory.appendingPathComponent("podspawn-\(UUID().uuidString)")
            try "not a program".write(to: plain, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: plain) }
            chmod(plain.path, 0o644)
            #expect(
                Self.run(pause, joinPID: true, [plain.path]).failureValue == SpawnFailure(step: "execve", target: plain.path, error: EACCES)
            )
            // Found in PATH but not executable: EACCES too (the search goes on, then says so).
            let bin = plain.deletingLastPathComponent().path
            #expect(
                Self.run(pause, joinPID: true, [plain.lastPathComponent], env: ["PATH=/nonexistent:\(bin)"]).failureValue
                    == SpawnFailure(step: "execve", target: plain.lastPathComponent, error: EACCES))
            // An absolute path works without PATH.
            let direct = try Self.run(pause, joinPID: true, ["/bin/echo", "direct"], env: []).get()
            #expect(direct.output == "direct\n")
            #expect(Self.stop(pause) == 0)
            // A sandbox that is gone: the namespaces cannot be opened.
            #expect(
                Self.run(pause, joinPID: true, ["true"]).failureValue
                    == SpawnFailure(step: "open", target: "/proc/\(pause)/ns/ipc", error: ENOENT))
            #expect(Self.namespaceFDs() == 0, "no namespace descriptor leaked")
        }

        @Test func aContainerGetsItsOwnRootWithProcDevTmpAndVolumes() throws {
            try Self.requireLinux()
            let fm = FileManager.default
            let base = fm.temporaryDirectory.appendingPathComponent("podspawn-root-\(UUID().uuidString)")
            defer { try? fm.removeItem(at: base) }
            for dir in ["upper", "work", "merged", "data", "ro"] {
                try fm.createDirectory(at: base.appendingPathComponent(dir), withIntermediateDirectories: true)
            }
            try "from the host\n".write(to: base.appendingPathComponent("ro/page"), atomically: true, encoding: .utf8)
            var failure = podspawn_error()
            let pause = Self.sandbox("rooted", sharedPID: true, &failure)
            try #require(pause > 0)
            defer { _ = Self.stop(pause) }

            // Volume sources are descriptors (O_PATH).
            let sources = ["data", "ro", "ro/page"].map { open(base.appendingPathComponent($0).path, podspawn_o_path() | O_CLOEXEC) }
            defer { sources.forEach { close($0) } }
            let strings: [String] = [
                "/", base.appendingPathComponent("upper").path, base.appendingPathComponent("work").path,
                base.appendingPathComponent("merged").path, "-", "/data", "-", "/srv/ro", "-", "/etc/page.txt",
            ]
            let paths: [UnsafePointer<CChar>] = strings.map { UnsafePointer(strdup($0)!) }
            defer { paths.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
            let mounts = [
                podspawn_mount(source_fd: sources[0], target: paths[5], read_only: 0, is_file: 0),
                podspawn_mount(source_fd: sources[1], target: paths[7], read_only: 1, is_file: 0),
                podspawn_mount(source_fd: sources[2], target: paths[9], read_only: 1, is_file: 1),
            ]
            let script = """
                cat /proc/1/comm; ls /proc | grep -c '^[0-9]'; ls /dev | tr '\\n' ' '; echo
                echo written > /data/x; cat /srv/ro/page /etc/page.txt
                (echo no > /srv/ro/y) 2>&1; touch /etc/only-in-the-container; grep -c ' / ' /proc/self/mountinfo
                """
            let ran: Ran = try mounts.withUnsafeBufferPointer { buffer throws -> Ran in
                var root = podspawn_root(
                    lower: paths[0], upper: paths[1], work: paths[2], merged: paths[3],
                    mounts: buffer.baseAddress, mount_count: Int32(buffer.count), read_only: 0)
                return try Self.run(pause, joinPID: true, root: &root, ["sh", "-c", script]).get()
            }
            let lines = ran.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first == "pause", "the pod's /proc: PID 1 is the pause")
            // Only the pod's processes: the pause, the shell and its pipeline (the host has hundreds).
            let visible = Int(lines.dropFirst().first ?? "") ?? 0
            #expect((2...5).contains(visible), "\(visible) processes in the container's /proc")
            #expect(
                lines.dropFirst(2).first == "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero ",
                "\(ran.output)")
            #expect(ran.output.contains("from the host\nfrom the host\n"), "directory and file volumes")
            #expect(ran.output.contains("Read-only file system"), "a read-only volume refuses writes")
            #expect(ran.status == 0, "\(ran.output)")
            #expect((try? String(contentsOf: base.appendingPathComponent("data/x"), encoding: .utf8)) == "written\n")
            #expect(fm.fileExists(atPath: base.appendingPathComponent("upper/etc/only-in-the-container").path))
            #expect(!fm.fileExists(atPath: "/etc/only-in-the-container"), "the image is never written")
            let mountinfo = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(!mountinfo.contains(base.path), "the container's mounts died with its mount namespace")

            // A root that cannot be mounted: the step and errno, and no process left.
            let missing = strdup(base.appendingPathComponent("no-such-dir").path)!
            defer { free(missing) }
            var broken = podspawn_root(
                lower: missing, upper: paths[1], work: paths[2], merged: paths[3],
                mounts: nil, mount_count: 0, read_only: 0)
            #expect(
                Self.run(pause, joinPID: true, root: &broken, ["true"]).failureValue
                    == SpawnFailure(step: "mount", target: "overlay, \(strings[3])", error: ENOENT))
            #expect(Self.namespaceFDs() == 0, "no namespace descriptor leaked")
        }

        @Test func containersRunWithDockersCapabilitiesNoNewPrivsAndTheirCgroup() throws {
            try Self.requireLinux()
            var failure = podspawn_error()
            let pause = Self.sandbox("caps", sharedPID: true, &failure)
            try #require(pause > 0)
            defer { _ = Self.stop(pause) }
            let status = "grep -E '^(CapBnd|CapEff|NoNewPrivs):' /proc/self/status | tr -s '\\t' ' '"
            let confined = try Self.run(pause, joinPID: true, ["sh", "-c", status], noNewPrivileges: true).get()
            #expect(confined.output == "CapEff: 00000000a00425fb\nCapBnd: 00000000a00425fb\nNoNewPrivs: 1\n")
            let escalating = try Self.run(pause, joinPID: true, ["sh", "-c", status]).get()
            #expect(escalating.output.hasSuffix("NoNewPrivs: 0\n"), "no_new_privs only when asked: \(escalating.output)")
            #expect(podspawn_default_capabilities == 0xa00425fb)
            let privileged = try Self.run(pause, joinPID: true, ["sh", "-c", status], privileged: true).get()
            let own = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let ownBounding = own.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }.map {
                $0.split(separator: "\t").last.map(String.init) ?? ""
            }
            #expect(privileged.output.contains("CapBnd: \(ownBounding ?? "?")\n"), "privileged keeps the caller's set")

            // The cgroup: joined before exec (v1 memory here, cgroup2 elsewhere).
            let v1 = "/sys/fs/cgroup/memory"
            let parent =
                FileManager.default.fileExists(atPath: v1 + "/cgroup.procs")
                ? v1 + "/swift-pods"
                : FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup/swift-pods" : nil
            guard let parent else {
                print("skip: no memory cgroup hierarchy here; the cgroup join is not checked")
                return
            }
            let name = "spawn-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let cgroup = parent + "/" + name
            try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: true)
            defer { rmdir(cgroup) }
            let joined = try Self.run(pause, joinPID: true, ["cat", "/proc/self/cgroup"], cgroups: [cgroup + "/cgroup.procs"]).get()
            #expect(joined.output.contains("/swift-pods/\(name)\n"), "\(joined.output)")
            #expect(
                Self.run(pause, joinPID: true, ["true"], cgroups: [cgroup + "/nope/cgroup.procs"]).failureValue
                    == SpawnFailure(step: "open", target: cgroup + "/nope/cgroup.procs", error: ENOENT))
        }
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
