import Foundation
import PodTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sim fidelity, measured: the portable scenario files run on both backends through the real
/// podsh, and everything they observe — TAP lines and what each case printed (exit codes,
/// outputs, phases, reasons) — must be the same.
@Suite("Differential: sim vs linux", .serialized)
struct DifferentialTests {
    static let portable = PodshTests.root.appendingPathComponent("Tests/Portable").path

    @Test func thePortableScenariosObserveTheSameOnBothBackends() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.portable).filter { $0.hasSuffix(".lua") }
        #expect(files.count >= 15, "\(files.count) portable scenario files")
        let sim = try PodshTests.run(["test", "--backend", "sim", "--show-output", Self.portable])
        #expect(sim.status == 0, "\(sim.stdout)")
        #expect(sim.stdout.hasSuffix(" passed, 0 failed\n"))
        guard geteuid() == 0 else {
            print("skip: differential sim vs linux: the linux backend needs root")
            try Test.cancel("needs root")
        }
        guard let podsh = PodshTests.podsh else { try Test.cancel("podsh is not built") }
        let scratch = NSTemporaryDirectory() + "swift-pods-differential-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let images = scratch + "/images", state = scratch + "/state"
        // The busybox image, as the README says to make it.
        let imported = try Command.run(
            "/bin/bash",
            [
                PodshTests.root.appendingPathComponent("scripts/busybox-image.sh").path, podsh,
                "--image-dir", images,
            ], mergeOutput: true)
        guard imported.status == 0 else {
            print("skip: differential: no busybox image: \(imported.stdout)")
            try Test.cancel("no busybox image: \(imported.stdout)")
        }
        let linux = try PodshTests.run([
            "test", "--backend", "linux", "--allow-privileged", "--state-dir", state, "--image-dir", images, "--show-output", Self.portable,
        ])
        #expect(linux.status == 0, "\(linux.stdout)\(linux.stderr)")
        let a = sim.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let b = linux.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let differences = zip(a.indices, zip(a, b)).filter { $0.1.0 != $0.1.1 }.prefix(10)
            .map { "line \($0.0 + 1):\n  sim:   \($0.1.0)\n  linux: \($0.1.1)" }
        #expect(a.count == b.count && differences.isEmpty, "sim and linux differ:\n\(differences.joined(separator: "\n"))")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: state + "/pods")) == [], "no pod left")
    }
}
