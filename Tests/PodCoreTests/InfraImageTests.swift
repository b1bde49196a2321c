#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import PodCore

/// The infra programs embedded in CPodSpawn (Sources/CPodSpawn/infra_images.h) are what their
/// sources (Tools/infra) give with scripts/make-infra.sh.
@Suite("The embedded infra programs")
struct InfraImageTests {
    @Test func theEmbeddedImagesAreWhatTheirSourcesGive() throws {
        let root = #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/bin/bash")
        check.arguments = [root + "/scripts/make-infra.sh", "--check"]
        let errors = Pipe()
        check.standardError = errors
        try check.run()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        if check.terminationStatus == 2 {
            print("skip: \(said.trimmingCharacters(in: .whitespacesAndNewlines))")
            try Test.cancel("no clang/ld.lld to rebuild the infra programs: \(said)")
        }
        #expect(check.terminationStatus == 0, "\(said)")
    }
}

extension RealLinux {
@Suite("Linux pods for real: the pause reaps", .serialized)
struct PauseReapingTests {
    @Test func orphansInASharedPIDNamespaceAreReapedByThePause() throws {
        let env = try LinuxPods()
        let pod = try env.runtime.run(PodSpec(name: "reaper", shareProcessNamespace: true,
                                              containers: [env.box("main", ["sleep", "3600"])]))
        #expect(try pod.wait(phase: .running) == .satisfied)
        let pause = try #require(try pod.status().infra.pid)
        // Three orphans: their shell exits at once, so they become the pause's children.
        #expect(try pod.exec("main", ["sh", "-c", "sleep 0.2 & sleep 0.2 & sleep 0.3 & exit 0"]).exitCode == 0)
        func children() -> [String] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.filter { Int($0) != nil }.compactMap { pid in
                let status = LinuxSystem.readFile("/proc/\(pid)/status")
                return status.contains("\nPPid:\t\(pause)\n") ? pid + " " + (status.split(separator: "\n").first { $0.hasPrefix("State:") } ?? "") : nil
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
