import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodLinux
@testable import PodManifests

/// The Pod Security Standards' own fixtures (Tests/Fixtures/pod-security, from the Kubernetes
/// pod-security-admission test data): each decodes and validates in strict mode, or is refused
/// naming what swift-pods does not implement (or what Kubernetes' validation refuses); and the
/// linux backend's baseline admission agrees with the baseline level's verdict.
@Suite("Pod Security Standards fixtures")
struct PodSecurityFixtureTests {
    static let directory = PackageLayout.root.path + "/Tests/Fixtures/pod-security"

    /// What each fixture gives: "ok", or the first refused path and its kind.
    static let outcomes: [String: String] = [
        "baseline/pass/base.yaml": "ok",
        "baseline/pass/capabilities_baseline0.yaml": "ok",
        "baseline/pass/addcapabilities0.yaml": "ok",
        "baseline/pass/hostports0.yaml": "ok",
        "baseline/pass/hostnamespaces0.yaml": "ok",
        "baseline/pass/privileged0.yaml": "ok",
        "baseline/pass/seccompprofile_baseline0.yaml": "ok",
        "baseline/pass/sysctls1.yaml": "Unsupported field spec.securityContext.sysctls",
        "baseline/pass/selinuxoptions1.yaml": "Unsupported field spec.containers[0].securityContext.seLinuxOptions",
        "baseline/pass/apparmorprofile0.yaml": "Unsupported field metadata.annotations",
        "baseline/pass/procmount_baseline1.yaml": "ok",
        "baseline/fail/privileged0.yaml": "ok",
        "baseline/fail/hostnamespaces0.yaml": "ok",
        "baseline/fail/hostpathvolumes0.yaml": "ok",
        "baseline/fail/hostports1.yaml": "ok",
        "baseline/fail/capabilities_baseline0.yaml": "ok",
        "baseline/fail/capabilities_baseline3.yaml": "ok",
        "baseline/fail/seccompprofile_baseline2.yaml": "ok",
        "baseline/fail/procmount1.yaml": "Invalid value spec.initContainers[0].securityContext.procMount",
        "baseline/fail/procmount_baseline0.yaml": "Invalid value spec.containers[0].securityContext.procMount",
        "baseline/fail/selinuxoptions3.yaml": "Unsupported field spec.containers[0].securityContext.seLinuxOptions",
        "baseline/fail/sysctls0.yaml": "Unsupported field spec.securityContext.sysctls",
        "baseline/fail/windowshostprocess0.yaml": "Unsupported field spec.containers[0].securityContext.windowsOptions",
        "restricted/pass/runasuser0.yaml": "ok",
        "restricted/pass/seccompprofile_restricted2.yaml": "ok",
        "restricted/pass/runasnonroot1.yaml": "ok",
        "restricted/pass/allowprivilegeescalation0.yaml": "ok",
        "restricted/pass/restrictedvolumes0.yaml": "Unsupported field spec.volumes[2].secret",
        "restricted/fail/capabilities_restricted2.yaml": "ok",
        "restricted/fail/runasuser2.yaml": "ok",
        "restricted/fail/seccompprofile_restricted4.yaml": "ok",
        "restricted/fail/allowprivilegeescalation0.yaml": "ok",
        "restricted/fail/runasnonroot0.yaml": "ok",
        "restricted/fail/restrictedvolumes12.yaml": "Unsupported field spec.volumes[0].azureFile",
        "restricted/fail/procmount_restricted0.yaml": "ok",
    ]

    /// The fixture's text, its name made a DNS label (the fixtures use `_`, which no API server
    /// accepts in a pod name; the test data never goes through one).
    static func text(_ file: String) throws -> String {
        let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("  name: ") ? line.replacingOccurrences(of: "_", with: "-") : String(line)
        }.joined(separator: "\n")
    }

    static func decode(_ file: String) throws -> Result<PodSpec, ValidationError> {
        let text = try text(file)
        do throws(ManifestError) {
            return .success(try Manifest.decodePod(text).spec)
        } catch .invalid(let error) {
            return .failure(error)
        } catch {
            throw error
        }
    }

    @Test func everyFixtureIsListed() throws {
        var files: [String] = []
        for level in ["baseline", "restricted"] {
            for verdict in ["pass", "fail"] {
                let names = try FileManager.default.contentsOfDirectory(atPath: "\(Self.directory)/\(level)/\(verdict)")
                files += names.filter { $0.hasSuffix(".yaml") }.map { "\(level)/\(verdict)/\($0)" }
            }
        }
        #expect(Set(files) == Set(Self.outcomes.keys))
        #expect(files.count >= 30)
    }

    @Test("decodes in strict mode or is refused by path", arguments: outcomes.keys.sorted())
    func decodesOrIsRefusedByPath(file: String) throws {
        let expected = try #require(Self.outcomes[file])
        switch try Self.decode(file) {
        case .success:
            #expect(expected == "ok", "\(file) decoded")
        case .failure(let error):
            let refusals = error.errors.map { "\($0.kind.rawValue) \($0.path)" }
            #expect(refusals.contains(expected), "\(file): \(refusals)")
            // Nothing but what is not implemented, what Kubernetes itself refuses, a volume
            // without a source (the API server would default it to an emptyDir; swift-pods
            // asks for the type) or a ConfigMap the stream does not hold.
            #expect(error.errors.allSatisfy { [.unsupportedField, .invalid, .required, .notFound].contains($0.kind) }, "\(error)")
        }
    }

    /// The linux backend with the sandbox's policy refuses what baseline fails and admits what
    /// it passes — except a hostPort, which the sandbox allows on purpose (a published port is
    /// how a pod is reached on one machine).
    @Test func theBaselineAdmissionAgreesWithTheFixtures() throws {
        guard LinuxBackend.unavailableReason() == nil else {
            print("skip: baseline admission: the linux backend is unavailable here")
            return
        }
        let state = LinuxTestSupport.scratch("pss")
        defer { LinuxTestSupport.remove(state) }
        var options = LinuxBackendOptions(stateDir: state, imageDir: LinuxTestSupport.imageDir, allowHostPaths: [])
        options.allowHostNamespaces = false
        options.allowPrivileged = false
        let backend = try LinuxBackend(options: options)
        for (file, outcome) in Self.outcomes.sorted(by: { $0.key < $1.key }) where outcome == "ok" {
            guard case .success(let spec) = try Self.decode(file) else { continue }
            let refused = backend.admissionErrors(spec)
            if file.hasPrefix("baseline/fail/") && file != "baseline/fail/hostports1.yaml" {
                #expect(!refused.isEmpty, "\(file) passes baseline admission")
            } else if file.contains("/pass/") {
                #expect(refused.isEmpty, "\(file): \(refused)")
            }
        }
    }
}
