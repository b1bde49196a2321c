#if canImport(Glibc)
import Glibc
#endif
import CPodSpawn
import Foundation
import Testing

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

    struct Ran {
        var pid: pid_t
        var output: String
        var status: Int32
    }

    /// Runs `argv` joined to `sandbox`; its output and exit status, or the spawn error.
    static func run(_ sandbox: pid_t, joinPID: Bool, _ argv: [String], env: [String] = ["PATH=/usr/bin:/bin"])
        -> Result<Ran, SpawnFailure>
    {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return .failure(SpawnFailure(step: "pipe", error: errno)) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var cArgv = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var failure = podspawn_error()
        let pid = podspawn_exec(sandbox, joinPID ? 1 : 0, &cArgv, &cEnv, nil, fds[1], fds[1], &failure)
        close(fds[1])
        defer { close(fds[0]) }
        guard pid > 0 else {
            return .failure(SpawnFailure(step: String(cString: failure.step), error: failure.error))
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
        var error: Int32
    }

    static func stop(_ pause: pid_t) -> Int32 {
        kill(pause, SIGTERM)
        var status: Int32 = 0
        while waitpid(pause, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    static func namespace(_ pid: pid_t, _ kind: String) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(kind)")) ?? "?"
    }

    @Test func aPauseHoldsTheNamespacesAndContainersJoinThem() throws {
        try Self.requireLinux()
        var failure = podspawn_error()
        let pause = podspawn_sandbox("web", 1, &failure)
        try #require(pause > 0, "sandbox: \(failure.step.map { String(cString: $0) } ?? "?") errno \(failure.error)")
        // Its own namespaces, named pause.
        for kind in ["net", "ipc", "uts", "pid"] {
            #expect(Self.namespace(pause, kind) != Self.namespace(getpid(), kind), "\(kind) namespace")
        }
        let comm = try String(contentsOfFile: "/proc/\(pause)/comm", encoding: .utf8)
        #expect(comm == "pause\n")

        // A container sees the pod's hostname, net namespace, and is PID 2 after the pause.
        let script = "hostname; readlink /proc/self/ns/net; echo $$; cat /proc/net/dev | grep -c ':'"
        let ran = try Self.run(pause, joinPID: true, ["sh", "-c", script]).get()
        let lines = ran.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
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
        let pause = podspawn_sandbox("solo", 0, &failure)
        try #require(pause > 0)
        #expect(Self.namespace(pause, "pid") == Self.namespace(getpid(), "pid"))
        let ran = try Self.run(pause, joinPID: false, ["sh", "-c", "echo $$"]).get()
        #expect(ran.output == "\(ran.pid)\n", "the container is a direct child of the caller")
        #expect(Self.stop(pause) == 0)
    }

    @Test func failuresNameTheStepAndErrno() throws {
        try Self.requireLinux()
        var failure = podspawn_error()
        let pause = podspawn_sandbox("errs", 1, &failure)
        try #require(pause > 0)
        // PATH lookup by execve on each candidate: a missing command is ENOENT at exec.
        #expect(Self.run(pause, joinPID: true, ["no-such-command"]).failureValue == SpawnFailure(step: "exec", error: ENOENT))
        #expect(Self.run(pause, joinPID: true, ["/nope/x"]).failureValue == SpawnFailure(step: "exec", error: ENOENT))
        // A file that is not executable: EACCES, as execvp would say.
        let plain = FileManager.default.temporaryDirectory.appendingPathComponent("podspawn-\(UUID().uuidString)")
        try "not a program".write(to: plain, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: plain) }
        chmod(plain.path, 0o644)
        #expect(Self.run(pause, joinPID: true, [plain.path]).failureValue == SpawnFailure(step: "exec", error: EACCES))
        // Found in PATH but not executable: EACCES too (the search goes on, then says so).
        let bin = plain.deletingLastPathComponent().path
        #expect(Self.run(pause, joinPID: true, [plain.lastPathComponent], env: ["PATH=/nonexistent:\(bin)"]).failureValue
                == SpawnFailure(step: "exec", error: EACCES))
        // An absolute path works without PATH.
        let direct = try Self.run(pause, joinPID: true, ["/bin/echo", "direct"], env: []).get()
        #expect(direct.output == "direct\n")
        #expect(Self.stop(pause) == 0)
        // A sandbox that is gone: the namespaces cannot be opened.
        #expect(Self.run(pause, joinPID: true, ["true"]).failureValue == SpawnFailure(step: "open namespace", error: ENOENT))
        #expect(Self.namespaceFDs() == 0, "no namespace descriptor leaked")
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
