import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodManifests

/// Every manifest the encoder produces in this suite (Fixtures.all) must validate against the
/// Kubernetes schema with `kubernetes-validate --strict` (PyPI; `make test` and `.ci/run`
/// install it into `.venv`). Without it the test is skipped with the reason on a developer
/// machine, and fails in CI (`CI` set), so it never passes silently.
@Suite("kubernetes-validate")
struct KubernetesValidateTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let validator: String? = {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = environment["KUBERNETES_VALIDATE"] { candidates.append(explicit) }
        candidates.append(packageRoot.appendingPathComponent(".venv/bin/kubernetes-validate").path)
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(directory)/kubernetes-validate")
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static let isCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false

    @Test(
        .enabled(
            if: validator != nil || isCI,
            "kubernetes-validate is not installed: run `make test` (it installs it into .venv) or set KUBERNETES_VALIDATE"))
    func encodedManifestsValidate() throws {
        guard let validator = Self.validator else {
            Issue.record(
                "kubernetes-validate is not installed, and CI must validate manifests: install it with `scripts/setup.sh --validator`")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swift-pods-kv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var files: [String] = []
        for (name, spec) in Fixtures.all {
            let file = directory.appendingPathComponent("\(name).yaml")
            try Manifest.encode(spec).write(to: file, atomically: true, encoding: .utf8)
            files.append(file.path)
        }
        let stream = directory.appendingPathComponent("stream.yaml")
        try Manifest.encode(Fixtures.all.map(\.1)).write(to: stream, atomically: true, encoding: .utf8)
        files.append(stream.path)

        let ran = try Command.run(validator, ["--strict"] + files, mergeOutput: true)
        let text = ran.stdout
        #expect(ran.status == 0, "kubernetes-validate failed:\n\(text)")
        // One success line per document: a ConfigMap per configMap object, and every Pod.
        let documents = Fixtures.all.reduce(0) { count, fixture in
            count + Manifest.encode(fixture.1).components(separatedBy: "---\n").count
        }
        let successes = text.split(separator: "\n").filter { $0.contains(" passed for resource ") }.count
        #expect(successes == documents * 2, "\(text)")
    }
}
