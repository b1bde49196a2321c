import CPodSpawn
import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// Every failure of a system call the linux backend makes names the call and what it was called
/// on, and keeps the errno (`SystemCall`, and the C side's failure records).
@Suite("Linux errors name the call and its target")
struct LinuxErrorTests {
    @Test func theFunnelNamesTheCallAndTargetKeepsErrnoAndRetriesEINTR() throws {
        do {
            try SystemCall.check("open", "/nonexistent/swift-pods", operation: "test") { open("/nonexistent/swift-pods", O_RDONLY) }
            Issue.record("opening a missing file succeeded")
        } catch {
            #expect(error.description == "test: open(/nonexistent/swift-pods): No such file or directory")
            #expect(error.systemError == ENOENT && error.code == .system)
        }
        var calls = 0
        let result = try SystemCall.check("read", "a pipe", operation: "test") { () -> Int32 in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7 && calls == 3, "EINTR is retried")
        #expect(SystemCall.failure("clone", "pause", EAGAIN, operation: "x").code == .resourceExhausted)
    }

    /// A failed import names tar's error, not the warning it printed first.
    @Test func aBrokenTarballNamesTarsErrorNotItsWarning() throws {
        #expect(
            ImageStore.failureDetail(
                "tar: Removing leading `../../../' from member names\ntar: Unexpected EOF in archive\ntar: Error is not recoverable: exiting now\n",
                status: 2) == "tar: Unexpected EOF in archive")
        #expect(ImageStore.failureDetail("", status: 2) == "exit status 2")
        guard access("/usr/bin/tar", X_OK) == 0 || access("/bin/tar", X_OK) == 0 else {
            print("skip: the broken-tarball import: no tar on this machine")
            return
        }
        let dir = Scratch.directory("tar")
        defer { Scratch.remove(dir) }
        // A member named ../../../x (tar warns and strips it), then the archive cut short.
        try "data".write(toFile: dir + "/x", atomically: true, encoding: .utf8)
        let made = try Command.run(
            "/bin/sh",
            ["-c", "cd \(dir) && tar -cf whole.tar --transform='s,^,../../../,' x 2>/dev/null && head -c 700 whole.tar > cut.tar"])
        #expect(made.status == 0, "\(made.stderr)")
        let store = ImageStore(directory: dir + "/images")
        do {
            try store.importImage("broken", from: dir + "/cut.tar")
            Issue.record("a truncated tarball was imported")
        } catch {
            // The layer extractor refuses the first entry and names it (tar would only warn).
            #expect(error.description.contains("layer entry \"../../../x\": its path has a \"..\" component"), "\(error)")
        }
        #expect(store.list().isEmpty, "nothing left of the import")
        for sub in ["blobs/sha256", "images", "tmp"] {
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/images/" + sub).isEmpty, "\(sub) is empty")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/images/layers") == ["mountpoints"])
    }

    @Test func theNamespaceTableIsTheCSidesInJoinOrder() {
        #expect(LinuxNamespace.all.map(\.name) == ["ipc", "uts", "net", "pid", "mnt"])
        #expect(LinuxNamespace.kinds(in: Int32(PODSPAWN_NS_NET | PODSPAWN_NS_PID)).map(\.name) == ["net", "pid"])
        #expect(LinuxNamespace.net.path(of: 42) == "/proc/42/ns/net")
    }
}

extension RealLinux {
    @Suite("Linux errors through the backend")
    struct LinuxBackendErrorTests {
        @Test func aStateDirectoryThatCannotBeMadeNamesMkdirAndThePath() throws {
            if let reason = LinuxBackend.unavailableReason() {
                print("skip: linux backend: \(reason)")
                try Test.cancel("the linux backend is unavailable here: \(reason)")
            }
            do {
                _ = try LinuxBackend(options: LinuxBackendOptions(stateDir: "/proc/swift-pods-nowhere"))
                Issue.record("a state directory in /proc was made")
            } catch {
                #expect(error.message.hasPrefix("state directory: mkdir(/proc/swift-pods-nowhere/pods): "), "\(error)")
                #expect(error.systemError == ENOENT)
            }
        }

        @Test func aHostPathThatCannotBeCreatedNamesTheCall() throws {
            let env = try LinuxPods(needsBusybox: false)
            let path = "/proc/self/swift-pods-file"
            do {
                _ = try env.runtime.run(
                    PodSpec(
                        name: "typed",
                        volumes: [
                            VolumeSpec(name: "h", source: .hostPath(HostPathVolumeSource(path: path, type: .fileOrCreate)))
                        ], containers: [ContainerSpec(name: "c", image: "host", command: ["true"])]))
                Issue.record("a file was created in /proc/self")
            } catch {
                #expect("\(error)".contains("hostPath type check failed: \(path) cannot be created: open(\(path)): "), "\(error)")
            }
            env.closeAndCheck()
        }

        @Test func aContainerThatCannotBeExecutedNamesExecveAndTheProgram() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(
                PodSpec(
                    name: "noexec", restartPolicy: .never,
                    containers: [
                        ContainerSpec(name: "c", image: env.image, command: ["/etc/passwd"])
                    ]))
            #expect(try pod.wait(phase: .failed, timeout: 10) == .satisfied)
            let termination = try pod.status().containers[0].state.termination
            #expect(termination?.exitCode == 127 && termination?.reason == .startError)
            #expect(termination?.message?.contains("/etc/passwd") == true, "\(String(describing: termination))")
            env.closeAndCheck()
        }
    }
}
