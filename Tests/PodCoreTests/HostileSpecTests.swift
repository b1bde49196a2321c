import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodManifests

/// The specs and manifests a hostile-input run found crashing, slow or wrongly accepted: each is
/// a clear error naming its field (or a bounded cost), never a trap or a hang.
@Suite("Hostile specs")
struct HostileSpecTests {
    static func pod(_ containerYAML: String, spec: String = "") -> String {
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n\(spec)  containers:\n  - name: c\n\(containerYAML)"
    }

    // MARK: Quantities just under 2^63

    static let roundsUpTo2p63 = ["9223372036854775807.5", "9223372036854775807500m", "9223372036854775807.000000001"]

    @Test("a quantity that rounds up to 2^63 is refused, not a trap", arguments: roundsUpTo2p63)
    func quantityRoundingUpTo2p63(text: String) {
        #expect(throws: QuantityError.tooLarge) { try Quantity(parsing: text) }
        let limit = Self.pod("    resources: {limits: {memory: \"\(text)\"}}\n")
        #expect(
            manifestErrors(limit) == [
                "spec.containers[0].resources.limits.memory: Invalid value: \"\(text)\": must be less than 2^63 (the magnitude, rounded up to a whole unit) (line 7)"
            ])
        let volume =
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: v, emptyDir: {sizeLimit: \"\(text)\"}}]\n  containers: [{name: c}]\n"
        #expect(manifestErrors(volume).first?.hasPrefix("spec.volumes[0].emptyDir.sizeLimit: Invalid value: ") == true)
    }

    @Test func theLargestQuantitiesStillWork() throws {
        #expect(try Quantity(parsing: "9223372036854775807").value == Int64.max)
        #expect(try Quantity(parsing: "-9223372036854775807").value == -Int64.max)
        #expect(try Quantity(parsing: "9223372036854775806.5").value == Int64.max)
        #expect(try Quantity(parsing: "7Ei").value == 7 << 60)
        #expect(throws: QuantityError.tooLarge) { try Quantity(parsing: "8Ei") }  // 2^63
        // Resource math on the largest values saturates instead of trapping.
        let huge = try Quantity(parsing: "9223372036854775807")
        #expect(huge.plus(huge).value == Int64.max)
        #expect(ResourceMath.oomScoreAdj(qosClass: .burstable, memoryRequest: Int64.max, memoryCapacity: 1) == 3)
    }

    // MARK: Accepted where Kubernetes refuses

    @Test func integerFieldsTakeOnlyIntegers() {
        for text in ["80.0", "1e2", "8.08e3"] {
            #expect(
                manifestErrors(Self.pod("    ports: [{containerPort: \(text)}]\n")) == [
                    "spec.containers[0].ports[0].containerPort: Invalid value: \(text): must be an integer (no fraction or exponent) (line 7)"
                ])
        }
        #expect(manifestErrors(Self.pod("    ports: [{containerPort: 80}]\n")) == ["accepted"])
    }

    @Test func aListWhereAMapIsExpected() {
        #expect(
            manifestErrors(Self.pod("    resources: []\n")) == [
                "spec.containers[0].resources: Invalid type: expected a map, got an array of 0 items (line 7)"
            ])
        #expect(
            manifestErrors(Self.pod("    resources: {limits: []}\n")) == [
                "spec.containers[0].resources.limits: Invalid type: expected a map, got an array of 0 items (line 7)"
            ])
        #expect(
            manifestErrors("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: {}\n") == [
                "spec.containers: Invalid type: expected an array, got a map of 0 entries (line 5)"
            ])
    }

    @Test func anEmptyLuaTableIsEitherAListOrAMap() throws {
        typealias F = FlatSpecTests
        let container = F.m(["name": F.s("c"), "resources": F.a([]), "ports": F.m([:])])
        let flat = F.m(["name": F.s("p"), "containers": F.a([container])])
        #expect(try PodSpec(flat: flat).containers[0].ports == [])
    }

    @Test func nullLabelsAreNoLabels() throws {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\nspec:\n  containers: [{name: c}]\n"
        #expect(try Manifest.decodePod(text).spec.labels == [:])
        // As in Kubernetes, null is the zero value: a field left unset, an empty container.
        #expect(
            manifestErrors("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: null\n  containers: [{name: c, image: null}]\n")
                == ["accepted"])
        #expect(
            manifestErrors("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [null]\n") == [
                "spec.containers[0].name: Required value (line 5)"
            ])
        // A value that must be a string says "got null" once.
        #expect(
            manifestErrors("apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: null}}\nspec:\n  containers: [{name: c}]\n") == [
                "metadata.labels[a]: Invalid type: expected a string, got null (line 3)"
            ])
    }

    @Test func aRelativeWorkingDirIsRefused() {
        #expect(
            manifestErrors(Self.pod("    workingDir: srv/app\n")) == [
                "spec.containers[0].workingDir: Invalid value: \"srv/app\": must be an absolute path (line 7)"
            ])
    }

    @Test func nulBytesThatWouldReachCAreRefused() {
        var spec = PodSpec(
            name: "p",
            containers: [
                ContainerSpec(
                    name: "c", image: "busy\u{0}box", command: ["echo", "a\u{0}b"], env: [EnvVar(name: "A", value: "x\u{0}")],
                    workingDir: "/srv\u{0}", volumeMounts: [VolumeMount(name: "v", mountPath: "/m\u{0}")])
            ])
        spec.volumes = [VolumeSpec(name: "v", source: .hostPath(HostPathVolumeSource(path: "/tmp\u{0}x")))]
        #expect(
            spec.validate().map { $0.description } == [
                "spec.volumes[0].hostPath.path: Invalid value: \"/tmp\\x00x\": must not contain a NUL byte",
                "spec.containers[0].image: Invalid value: \"busy\\x00box\": must not contain a NUL byte",
                "spec.containers[0].command[1]: Invalid value: \"a\\x00b\": must not contain a NUL byte",
                "spec.containers[0].env[0].value: Invalid value: \"x\\x00\": must not contain a NUL byte",
                "spec.containers[0].workingDir: Invalid value: \"/srv\\x00\": must not contain a NUL byte",
                "spec.containers[0].volumeMounts[0].mountPath: Invalid value: \"/m\\x00\": must not contain a NUL byte",
            ])
    }

    // MARK: Validation in n log n, errors capped

    @Test func tenThousandDuplicatePortsAreQuickAndCapped() {
        let ports = Array(repeating: "{containerPort: 80}", count: 10_000).joined(separator: ", ")
        let text = Self.pod("    ports: [\(ports)]\n")
        var errors: [String] = []
        let box = ResultBox()
        #expect(finishes(within: 60) { box.set(manifestErrors(text)) })
        errors = box.get()
        #expect(errors.count == ValidationError.maxErrors)
        #expect(errors.first == "spec.containers[0].ports[1].containerPort: Duplicate value: \"80/TCP\": already declared by container \"c\"; the containers of a pod share one network namespace (line 7)")
        do {
            _ = try Manifest.decode(text)
        } catch {
            #expect(error.description.hasSuffix("; and 9799 more errors"))
        }
    }

    @Test func manyContainersVolumesAndMountsAreQuick() {
        let containers = (0..<20_000).map { "  - {name: c\($0), ports: [{containerPort: 80, hostPort: 8080}]}" }.joined(separator: "\n")
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n\(containers)\n"
        let box = ResultBox()
        #expect(finishes(within: 120) { box.set(manifestErrors(text)) })
        #expect(box.get().count == ValidationError.maxErrors)
        let volumes = (0..<30_000).map { "{name: v\($0), emptyDir: {}}" }.joined(separator: ", ")
        let mounts = (0..<30_000).map { "{name: v\($0), mountPath: /m/\($0)}" }.joined(separator: ", ")
        let many = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [\(volumes)]\n  containers:\n  - name: c\n    volumeMounts: [\(mounts)]\n"
        let decoded = ResultBox()
        #expect(finishes(within: 120) { decoded.set(manifestErrors(many)) })
        #expect(decoded.get() == ["accepted"])
    }
}

/// What a guarded body found, handed back to the test.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: [String] = []
    func set(_ new: [String]) { lock.withLock { value = new } }
    func get() -> [String] { lock.withLock { value } }
}

/// `$(VAR)` expansion within execve's limits, refused at validation.
@Suite("Hostile specs: expansion")
struct HostileExpansionTests {
    /// A 2.3 KB manifest: V0 is 1,000 x's, V1...V29 each "$(Vn-1)$(Vn-1)" (2^29 KB expanded);
    /// V8, 256,000 bytes, is the first past the limit.
    static let bomb: String = {
        var env = ["      - {name: V0, value: \(String(repeating: "x", count: 1000))}"]
        for n in 1...29 { env.append("      - {name: V\(n), value: \"$(V\(n - 1))$(V\(n - 1))\"}") }
        return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    env:\n"
            + env.joined(separator: "\n") + "\n"
    }()

    @Test func theDoublingBombIsRefusedAtTheCostOfTheLimit() {
        let box = ResultBox()
        #expect(finishes(within: 60) { box.set(manifestErrors(Self.bomb)) })
        #expect(
            box.get() == [
                "spec.containers[0].env[8].value: Too long: must have at most 131071 bytes once $(VAR) references are expanded (Linux's MAX_ARG_STRLEN: execve would fail with E2BIG) (line 16)"
            ])
    }

    @Test func aThousandReferencesToAMegabyte() {
        let megabyte = String(repeating: "a", count: 1 << 20)
        let spec = PodSpec(
            name: "p",
            containers: [
                ContainerSpec(
                    name: "c", command: [String(repeating: "$(A)", count: 1000)], env: [EnvVar(name: "A", value: megabyte)])
            ])
        let box = ResultBox()
        #expect(finishes(within: 60) { box.set(spec.validate().map { $0.description }) })
        #expect(box.get().count == 1)
        #expect(box.get().first?.hasPrefix("spec.containers[0].env[0].value: Too long: must have at most 131071 bytes") == true)
    }

    @Test func argvAndEnvTogetherWithinArgMax() {
        let word = String(repeating: "w", count: 100_000)
        let spec = PodSpec(name: "p", containers: [ContainerSpec(name: "c", command: Array(repeating: word, count: 25))])
        #expect(
            spec.validate().map { $0.description } == [
                "spec.containers[0]: Too long: its command, args and env must have at most 2097152 bytes together once $(VAR) references are expanded (Linux's ARG_MAX: execve would fail with E2BIG)"
            ])
        // Within the limits, and expansion as kubelet does it.
        let fine = PodSpec(
            name: "p", containers: [ContainerSpec(name: "c", command: ["echo", "$(A)$(A)"], env: [EnvVar(name: "A", value: "x")])])
        #expect(fine.validate() == [])
        #expect(EnvExpansion.resolve(fine.containers[0]).argv == ["echo", "xx"])
        #expect(EnvExpansion.expand(String(repeating: "$(", count: 100_000), { _ in "y" }) == String(repeating: "$(", count: 100_000))
    }
}
