import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// The infra programs embedded in CPodSpawn (Sources/CPodSpawn/infra_images.h) are what their
/// sources (Tools/infra) give with scripts/make-infra.sh, and run on both architectures they are
/// built for (arm64 under qemu-user when it is installed).
@Suite("The embedded infra programs", .serialized)
struct InfraImageTests {
    static let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")

    /// Runs `argv`; its status and standard error.
    static func run(_ argv: [String]) throws -> (status: Int32, stderr: String) {
        let ran = try Command.run("/usr/bin/env", argv)
        return (ran.status, ran.stderr)
    }

    /// The programs built afresh into a scratch directory, checked against the header; the test
    /// is cancelled (with the reason printed) without clang and ld.lld.
    static func build() throws -> String {
        let out = NSTemporaryDirectory() + "infra-\(getpid())-\(UUID().uuidString.prefix(8))"
        let check = try run(["bash", root + "/scripts/make-infra.sh", "--check", "--out", out])
        if check.status == 2 {
            print("skip: \(check.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            try Test.cancel("no clang/ld.lld to rebuild the infra programs: \(check.stderr)")
        }
        #expect(check.status == 0, "\(check.stderr)")
        return out
    }

    @Test func theEmbeddedImagesAreWhatTheirSourcesGive() throws {
        try? FileManager.default.removeItem(atPath: try Self.build())
    }

    @Test(arguments: ["x86_64", "aarch64"])
    func theProgramsRun(arch: String) throws {
        #if arch(x86_64)
        let native = "x86_64"
        #else
        let native = "aarch64"
        #endif
        var runner: [String] = []
        if arch != native {
            let emulator = "qemu-\(arch)-static"
            guard (try? Self.run(["sh", "-c", "command -v \(emulator)"]).status) == 0 else {
                print("skip: the \(arch) infra programs: no \(emulator) (apt-get install qemu-user-static)")
                try Test.cancel("no \(emulator)")
            }
            runner = [emulator]
        }
        let out = try Self.build()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let ran = try Self.run(["python3", Self.root + "/Tests/Tools/infra-programs.py", out, arch] + runner)
        #expect(ran.status == 0, "\(ran.stderr)")
    }
}

extension RealLinux {
    @Suite("Linux pods for real: the pause reaps", .serialized)
    struct PauseReapingTests {
        @Test func orphansInASharedPIDNamespaceAreReapedByThePause() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(
                PodSpec(
                    name: "reaper", shareProcessNamespace: true,
                    containers: [env.box("main", ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            let pause = try #require(try pod.status().infra.pid)
            // Three orphans: their shell exits at once, so they become the pause's children.
            #expect(try pod.exec("main", ["sh", "-c", "sleep 0.2 & sleep 0.2 & sleep 0.3 & exit 0"]).exitCode == 0)
            func children() -> [String] {
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
                return entries.filter { Int($0) != nil }.compactMap { pid in
                    let status = LinuxSystem.readFile("/proc/\(pid)/status")
                    return status.contains("\nPPid:\t\(pause)\n")
                        ? pid + " " + (status.split(separator: "\n").first { $0.hasPrefix("State:") } ?? "") : nil
                }
            }
            #expect(children().count >= 1, "the orphans went to the pause")
            var left = children()
            for _ in 0..<100 where !left.isEmpty {
                usleep(20_000)
                left = children()
            }
            #expect(left == [], "not reaped: \(left)")
            env.closeAndCheck()
        }
    }
}
