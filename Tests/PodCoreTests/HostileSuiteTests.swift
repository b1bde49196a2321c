import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodManifests

/// The hostile-input suite, manifest and flat-spec part: each case is a bad value for one field
/// and must give a clear error naming that field (the path a user would look for), within a
/// hang guard, never a trap. The sandboxed-script, command-line and state-directory parts are in
/// PodLuaTests and podshTests.
@Suite("Hostile suite: manifests and flat specs")
struct HostileSuiteTests {
    /// A case: where the bad value goes, the value, and the field path the error must name.
    struct Case: CustomStringConvertible, Sendable {
        enum Place: Sendable { case metadata, spec, container }
        let place: Place
        let yaml: String
        let field: String
        var description: String { "\(field) ← \(yaml.prefix(60))" }
    }

    static func c(_ yaml: String, _ field: String) -> Case { Case(place: .container, yaml: yaml, field: "spec.containers[0]." + field) }
    static func s(_ yaml: String, _ field: String) -> Case { Case(place: .spec, yaml: yaml, field: "spec." + field) }
    static func m(_ yaml: String, _ field: String) -> Case { Case(place: .metadata, yaml: yaml, field: "metadata." + field) }

    static func manifest(_ item: Case) -> String {
        let metadata = item.place == .metadata ? item.yaml : "name: p"
        let spec = item.place == .spec ? "  \(item.yaml)\n" : ""
        let container = item.place == .container ? "    \(item.yaml)\n" : ""
        let image = item.yaml.hasPrefix("image:") ? "" : "    image: busybox\n"
        return "apiVersion: v1\nkind: Pod\nmetadata: {\(metadata)}\nspec:\n\(spec)  containers:\n  - name: c\n\(image)\(container)"
    }

    static let longName = String(repeating: "a", count: 64)

    static let cases: [Case] = [
        // metadata
        m("name: Bad_Name", "name"), m("name: \"\"", "name"), m("name: \(longName)", "name"), m("name: -x", "name"),
        m("name: x-", "name"), m("name: [a]", "name"), m("name: {a: 1}", "name"), m("name: 'a.b'", "name"),
        m("name: p, labels: [a]", "labels"), m("name: p, labels: {\"-bad\": x}", "labels"), m("name: p, labels: {a: \"-x\"}", "labels"),
        m("name: p, labels: {a: {b: c}}", "labels[a]"), m("name: p, labels: {\(longName): x}", "labels"),
        m("name: p, labels: {a: \(longName)}", "labels"), m("name: p, labels: {\"a/b/c\": x}", "labels"),
        m("name: p, bogus: 1", "bogus"),
        // pod spec
        s("restartPolicy: Sometimes", "restartPolicy"), s("restartPolicy: [Always]", "restartPolicy"),
        s("terminationGracePeriodSeconds: -1", "terminationGracePeriodSeconds"),
        s("terminationGracePeriodSeconds: 1.5", "terminationGracePeriodSeconds"),
        s("terminationGracePeriodSeconds: \"30\"", "terminationGracePeriodSeconds"),
        s("terminationGracePeriodSeconds: 1e3", "terminationGracePeriodSeconds"),
        s("terminationGracePeriodSeconds: 99999999999999999999", "terminationGracePeriodSeconds"),
        s("hostname: Bad_Host", "hostname"), s("hostname: \(longName)", "hostname"),
        s("shareProcessNamespace: maybe", "shareProcessNamespace"), s("shareProcessNamespace: 1", "shareProcessNamespace"),
        s("hostNetwork: [true]", "hostNetwork"), s("hostPID: yes please", "hostPID"), s("hostIPC: {}", "hostIPC"),
        s("volumes: {a: 1}", "volumes"), s("volumes: [1]", "volumes[0]"), s("volumes: [{name: v}]", "volumes[0]"),
        s("volumes: [{name: Bad_V, emptyDir: {}}]", "volumes[0].name"),
        s("volumes: [{name: v, emptyDir: {}}, {name: v, emptyDir: {}}]", "volumes[1].name"),
        s("volumes: [{name: v, emptyDir: {medium: Disk}}]", "volumes[0].emptyDir.medium"),
        s("volumes: [{name: v, emptyDir: {sizeLimit: 12Qi}}]", "volumes[0].emptyDir.sizeLimit"),
        s("volumes: [{name: v, emptyDir: {sizeLimit: -1Gi}}]", "volumes[0].emptyDir.sizeLimit"),
        s("volumes: [{name: v, emptyDir: {sizeLimit: [1]}}]", "volumes[0].emptyDir.sizeLimit"),
        s("volumes: [{name: v, emptyDir: {}, hostPath: {path: /tmp}}]", "volumes[0]"),
        s("volumes: [{name: v, hostPath: {path: tmp}}]", "volumes[0].hostPath.path"),
        s("volumes: [{name: v, hostPath: {path: /tmp, type: Socketish}}]", "volumes[0].hostPath.type"),
        s("volumes: [{name: v, hostPath: {}}]", "volumes[0].hostPath.path"),
        s("volumes: [{name: v, configMap: {name: missing}}]", "volumes[0].configMap"),
        s("volumes: [{name: v, emptyDir: {bogus: 1}}]", "volumes[0].emptyDir.bogus"),
        s("initContainers: [{name: c, image: busybox}]", "containers[0].name"),
        s("initContainers: [{name: i, image: busybox, restartPolicy: Never}]", "initContainers[0].restartPolicy"),
        s("initContainers: {name: i}", "initContainers"), s("containers2: []", "containers2"),
        s("resources: {limits: {cpu: lots}}", "resources.limits.cpu"), s("resources: []", "resources"),
        s("resources: {limits: {gpu: 1}}", "resources.limits"), s("resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}", "resources.requests"),
        // container
        c("name2: x", "name2"), c("image: [busybox]", "image"), c("command: echo hi", "command"),
        c("command: [echo, [hi]]", "command[1]"), c("command: [echo, {a: b}]", "command[1]"), c("args: hi", "args"),
        c("args: [1, [2]]", "args[1]"), c("workingDir: relative", "workingDir"), c("workingDir: [/]", "workingDir"),
        c("env: {A: 1}", "env"), c("env: [{value: x}]", "env[0].name"), c("env: [{name: \"\", value: x}]", "env[0].name"),
        c("env: [{name: \"A=B\", value: x}]", "env[0].name"), c("env: [{name: A, value: [x]}]", "env[0].value"),
        c("env: [{name: A, valueFrom: {fieldRef: {fieldPath: x}}}]", "env[0].valueFrom"), c("env: [1]", "env[0]"),
        c("ports: {containerPort: 80}", "ports"), c("ports: [{containerPort: 0}]", "ports[0].containerPort"),
        c("ports: [{containerPort: 65536}]", "ports[0].containerPort"), c("ports: [{containerPort: -80}]", "ports[0].containerPort"),
        c("ports: [{containerPort: \"80\"}]", "ports[0].containerPort"), c("ports: [{containerPort: 80.5}]", "ports[0].containerPort"),
        c("ports: [{containerPort: 1e2}]", "ports[0].containerPort"), c("ports: [{containerPort: 99999999999999999999}]", "ports[0].containerPort"),
        c("ports: [{}]", "ports[0].containerPort"), c("ports: [{containerPort: 80, protocol: ICMP}]", "ports[0].protocol"),
        c("ports: [{containerPort: 80, hostPort: 70000}]", "ports[0].hostPort"), c("ports: [{containerPort: 80, hostPort: -1}]", "ports[0].hostPort"),
        c("ports: [{containerPort: 80}, {containerPort: 80}]", "ports[1]"), c("ports: [{containerPort: 80, name: Bad_Name}]", "ports[0].name"),
        c("ports: [{containerPort: 80, hostIP: 1.2.3.4}]", "ports[0].hostIP"),
        c("resources: {limits: {memory: 12Qi}}", "resources.limits.memory"), c("resources: {limits: {memory: 1..5}}", "resources.limits.memory"),
        c("resources: {limits: {memory: \"\"}}", "resources.limits.memory"), c("resources: {limits: {memory: -1}}", "resources.limits.memory"),
        c("resources: {limits: {memory: 1e999}}", "resources.limits.memory"), c("resources: {limits: {memory: [1]}}", "resources.limits.memory"),
        c("resources: {limits: {cpu: 1m1}}", "resources.limits.cpu"), c("resources: {limits: {cpu: --1}}", "resources.limits.cpu"),
        c("resources: {limits: {cpu: \"0x10\"}}", "resources.limits.cpu"), c("resources: {limits: {memory: 9223372036854775807.5}}", "resources.limits.memory"),
        c("resources: {requests: {cpu: 2}, limits: {cpu: 1}}", "resources.requests"), c("resources: {limits: []}", "resources.limits"),
        c("resources: {limits: {ephemeral-storage: 1Gi}}", "resources.limits"), c("resources: {claims: []}", "resources.claims"),
        c("volumeMounts: [{name: missing, mountPath: /m}]", "volumeMounts[0].name"), c("volumeMounts: {name: v}", "volumeMounts"),
        c("volumeMounts: [{mountPath: /m}]", "volumeMounts[0].name"), c("volumeMounts: [{name: v}]", "volumeMounts[0]"),
        c("livenessProbe: {exec: {command: [true]}}", "livenessProbe"), c("securityContext: {privileged: \"yes\"}", "securityContext.privileged"),
        c("securityContext: {runAsUser: -1}", "securityContext.runAsUser"), c("securityContext: {capabilities: {add: [FLY]}}", "securityContext.capabilities.add[0]"),
        c("restartPolicy: Always", "restartPolicy"), c("stdin: true", "stdin"), c("imagePullPolicy: Sometimes", "imagePullPolicy"),
        c("lifecycle: {preStop: {exec: {command: [x]}}}", "lifecycle"), c("image: \"busy\\u0000box\"", "image"),
        c("command: [\"a\\u0000b\"]", "command[0]"),
    ]

    @Test("a bad value is a clear error naming its field", arguments: cases)
    func manifestCase(_ item: Case) {
        let text = Self.manifest(item)
        let errors = result(within: 60) { manifestErrors(text) }
        #expect(errors != nil, "hung")
        guard let errors else { return }
        #expect(errors != ["accepted"], "accepted:\n\(text)")
        #expect(errors.contains { $0.hasPrefix(item.field) || $0.contains(" " + item.field) || $0.contains(item.field + ":") }, "\(errors)\n\(text)")
        #expect(!errors.contains { $0.contains("Fatal") })
    }

    /// The same bad values as a flat spec (the Lua form), decoded from the manifest's nodes with
    /// the metadata flattened: the errors name the flat path.
    /// Where the flat form differs on purpose: an empty Lua table is a list or a map, and an
    /// inline configMap volume is its data (a `name` is what a manifest's ConfigMap document
    /// gave).
    static let flatCases = cases.filter { item in
        item.place != .metadata && !item.yaml.contains(": []") && !item.yaml.contains("configMap: {name: missing}")
    }

    @Test("the same bad value in a flat spec names its field too", arguments: flatCases)
    func flatCase(_ item: Case) throws {
        let text = Self.manifest(item)
        guard let document = try? Manifest.documents(text).first, case .map(let entries) = document.value,
            let spec = entries.first(where: { $0.key == "spec" })?.node, case .map(var flat) = spec.value
        else { return }  // not even YAML of a map: the manifest case covers it
        flat.insert(SpecNode.Entry("name", SpecNode(.string("p"))), at: 0)
        let errors = result(within: 60) { flatErrors(SpecNode(.map(flat))) }
        guard let errors else {
            Issue.record("hung")
            return
        }
        let flatField = String(item.field.dropFirst("spec.".count))
        #expect(errors != ["accepted"], "\(flatField): accepted")
        #expect(errors.contains { $0.contains(flatField) }, "\(errors)")
    }
}
