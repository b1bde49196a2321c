import Foundation
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// The reader of rotated logs and the option that sets the rotation, on plain files.
@Suite("Container logs: the reader and the option")
struct ContainerLogReaderTests {
    @Test func theRotatedPartIsReadFirstAndASecondNameForTheSameFileOnce() throws {
        let dir = LinuxTestSupport.scratch("log-reader")
        defer { LinuxTestSupport.remove(dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/1.log"
        #expect(ContainerLog.read(path) == [])
        #expect(ContainerLog.copy(path, to: -1) == ENOENT, "neither file: the open's errno")
        try "new\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(ContainerLog.read(path) == Array("new\n".utf8))
        try "old\n".write(toFile: path + ".1", atomically: false, encoding: .utf8)
        #expect(ContainerLog.read(path) == Array("old\nnew\n".utf8))
        // A rotation between the two opens: `.1` is then the very file opened as current.
        try FileManager.default.removeItem(atPath: path + ".1")
        #expect(link(path, path + ".1") == 0)
        #expect(ContainerLog.read(path) == Array("new\n".utf8))
        // copy: the same bytes, through a file descriptor.
        try FileManager.default.removeItem(atPath: path + ".1")
        try "old\n".write(toFile: path + ".1", atomically: false, encoding: .utf8)
        let out = dir + "/copied"
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(ContainerLog.copy(path, to: fd) == nil)
        close(fd)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "old\nnew\n")
    }

    @Test func containerLogMaxSizeTakesBytesOrAQuantity() throws {
        func options(_ value: SpecNode.Value) throws(BackendError) -> LinuxBackendOptions {
            try LinuxBackendOptions(BackendOptions([SpecNode.Entry("containerLogMaxSize", SpecNode(value))]))
        }
        #expect(try options(.string("64Ki")).containerLogMaxSize == 65536)
        #expect(try options(.number("1048576")).containerLogMaxSize == 1_048_576)
        #expect(LinuxBackendOptions().containerLogMaxSize == 10 * 1024 * 1024)
        for bad: SpecNode.Value in [.string("1k5"), .string("100"), .number("-1"), .string("2Ti"), .number("1.5e6"), .bool(true)] {
            var message = "accepted"
            do { _ = try options(bad) } catch { message = error.message }
            #expect(message.contains("options.containerLogMaxSize must be a size from 4096 bytes to 1Ti"), "\(message)")
        }
    }
}

extension RealLinux {
    /// Container logs through the run's log shim: rotated at `containerLogMaxSize` as kubelet
    /// rotates them, read across the rotation, out of the container's reach.
    @Suite("Linux pods for real: container logs", .serialized)
    struct LinuxLogTests {
        /// What `seq 1 n` prints.
        static func seq(_ n: Int) -> String {
            var out = ""
            out.reserveCapacity(n * 8)
            for i in 1...n { out += "\(i)\n" }
            return out
        }

        /// The sizes of the files in a run's log directory, by name.
        static func logFiles(_ env: LinuxPods, pod: String, container: String) throws -> [String: Int] {
            let dir = try #require(try env.runtime.record(pod).sandbox.flatMap { env.backend.directory(of: $0.id) })
            let logs = dir + "/logs/" + container
            var out: [String: Int] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: logs) {
                out[name] = (try FileManager.default.attributesOfItem(atPath: logs + "/" + name)[.size] as? Int) ?? -1
            }
            return out
        }

        @Test func aLogIsRotatedAtTheLimitAndReadAcrossTheRotation() throws {
            let limit = 65536
            let env = try LinuxPods(containerLogMaxSize: limit)
            let pod = try env.runtime.run(
                PodSpec(name: "chatty", restartPolicy: .never, containers: [env.box("c", ["seq", "1", "100000"])]))
            #expect(try pod.wait(phase: .succeeded) == .satisfied)
            let written = Self.seq(100000)
            let total = written.utf8.count
            // The current file holds what came after the last rotation; `.1` the full one before.
            let current = total % limit == 0 ? limit : total % limit
            #expect(try Self.logFiles(env, pod: "chatty", container: "c") == ["1.log": current, "1.log.1": limit])
            let log = try pod.logs("c")
            #expect(log.utf8.count == limit + current)
            #expect(written.hasSuffix(log), "the log is the end of what was written, whole")
            env.closeAndCheck()
        }

        /// The reproducer: a log of about 30 MB under kubelet's default 10Mi is kept to 20 MiB.
        @Test func theDefaultLimitKeepsALargeLogToTwiceTenMebibytes() throws {
            let env = try LinuxPods()
            let limit = LinuxBackendOptions.defaultContainerLogMaxSize
            let pod = try env.runtime.run(
                PodSpec(name: "flood", restartPolicy: .never, containers: [env.box("c", ["seq", "1", "4000000"])]))
            #expect(try pod.wait(phase: .succeeded, timeout: 120) == .satisfied)
            let written = Self.seq(4_000_000)
            let files = try Self.logFiles(env, pod: "flood", container: "c")
            #expect(files.keys.sorted() == ["1.log", "1.log.1"])
            #expect(files["1.log.1"] == limit && files.values.reduce(0, +) <= 2 * limit, "\(files)")
            let log = try pod.logs("c")
            #expect(log.utf8.count == files.values.reduce(0, +) && written.hasSuffix(log))
            env.closeAndCheck()
        }

        /// A container's stdout is a pipe (as Docker's and CRI-O's shims make it): opening it
        /// again with O_TRUNC, as `: > /proc/self/fd/1` does, cannot empty the log.
        @Test func aContainerCannotTruncateItsOwnLog() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(
                PodSpec(
                    name: "trunc", restartPolicy: .never,
                    containers: [
                        env.box(
                            "c",
                            [
                                "sh", "-c",
                                "echo before; : > /proc/self/fd/1; echo after; readlink /proc/self/fd/1; readlink /proc/self/fd/2",
                            ])
                    ]))
            #expect(try pod.wait(phase: .succeeded) == .satisfied)
            let log = try pod.logs("c")
            let lines = log.split(separator: "\n")
            #expect(lines.count == 4 && lines[0] == "before" && lines[1] == "after", "\(log)")
            #expect(lines.count == 4 && lines[2].hasPrefix("pipe:[") && lines[2] == lines[3], "stdout and stderr: one pipe; \(log)")
            env.closeAndCheck()
        }

        /// The shim is recorded with its run (gc and the watchdog find it), ends with its run,
        /// and goes with the pod.
        @Test func theShimIsRecordedAndEndsWithItsRun() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(
                PodSpec(name: "shim", restartPolicy: .never, containers: [env.box("c", ["sh", "-c", "echo up; exec sleep 3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            let record = try #require(env.backend.state.find("shim").first)
            let logger = try #require(record.containers.first?.logger)
            #expect(logger.isAlive)
            #expect((try? String(contentsOfFile: "/proc/\(logger.pid)/comm", encoding: .utf8)) == "pod-logger\n")
            #expect(record.processes.contains(logger))
            #expect(env.backend.inventory().details.contains { $0.contains("pod-logger") })
            #expect(try pod.wait(timeout: 30) { _ in (try? pod.logs("c")) == "up\n" } == .satisfied)
            try pod.remove()
            #expect(!logger.isAlive)
            env.closeAndCheck()
        }

        /// A shim killed under a running container leaves its output nowhere to go (writes fail
        /// with EPIPE, and the container's PID 1 ignores SIGPIPE): the run is killed, saying
        /// why, and the restart gets a shim of its own; the log goes on.
        @Test func aKilledShimEndsItsRunAndTheRestartLogsAgain() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(
                PodSpec(
                    name: "victim", restartPolicy: .always,
                    containers: [env.box("c", ["sh", "-c", "while true; do echo tick; sleep 0.05; done"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            let first = try #require(env.backend.state.find("victim").first?.containers.first?.logger)
            kill(first.pid, SIGKILL)
            #expect(try pod.wait(timeout: 60) { ($0.containers.first?.restartCount ?? 0) >= 1 } == .satisfied)
            let ended = try #require(try pod.status().containers.first?.history.first)
            #expect(ended.signal == SIGKILL && ended.exitCode == 137, "\(ended)")
            #expect("\(ended.cause)".contains("its log shim (pod-logger, pid \(first.pid)) died"), "\(ended.cause)")
            #expect(try pod.wait(timeout: 30) { _ in (try? pod.logs("c"))?.contains("tick") == true } == .satisfied)
            let second = try #require(env.backend.state.find("victim").first?.containers.first?.logger)
            #expect(second != first && second.isAlive)
            env.closeAndCheck()
        }
    }
}
