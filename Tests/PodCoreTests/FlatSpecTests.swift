import Testing

@testable import PodKit

/// The flat form Lua scripts use: pod fields side by side, `env` also as a map, configMap
/// data inline, quantities as strings or numbers.
@Suite("Flat spec decoding")
struct FlatSpecTests {
    static func s(_ v: String) -> SpecNode { SpecNode(.string(v)) }
    static func n(_ v: String) -> SpecNode { SpecNode(.number(v)) }
    static func b(_ v: Bool) -> SpecNode { SpecNode(.bool(v)) }
    static func a(_ v: [SpecNode]) -> SpecNode { SpecNode(.array(v)) }
    static func m(_ v: KeyValuePairs<String, SpecNode>) -> SpecNode {
        SpecNode(.map(v.map { SpecNode.Entry($0.key, $0.value) }))
    }

    @Test func decodesTheDesignExample() throws {
        let node = Self.m([
            "name": Self.s("web"), "shareProcessNamespace": Self.b(true),
            "volumes": Self.a([
                Self.m([
                    "name": Self.s("data"),
                    "emptyDir": Self.m(["medium": Self.s("Memory"), "sizeLimit": Self.s("64Mi")]),
                ])
            ]),
            "containers": Self.a([
                Self.m([
                    "name": Self.s("node-server"), "image": Self.s("tiven/kube-tiven"),
                    "command": Self.a([Self.s("node"), Self.s("app.js")]),
                    "env": Self.m(["PORT": Self.s("8080"), "A": Self.s("1")]),
                    "resources": Self.m(["limits": Self.m(["memory": Self.s("128Mi"), "cpu": Self.n("0.5")])]),
                ]),
                Self.m([
                    "name": Self.s("nginx"), "image": Self.s("nginx"), "command": Self.a([Self.s("nginx")]),
                    "ports": Self.a([Self.m(["containerPort": Self.n("80"), "hostPort": Self.n("80")])]),
                    "volumeMounts": Self.a([
                        Self.m([
                            "name": Self.s("data"), "mountPath": Self.s("/data"),
                            "readOnly": Self.b(true),
                        ])
                    ]),
                ]),
            ]),
        ])
        let spec = try PodSpec(flat: node)
        #expect(spec.name == "web")
        #expect(spec.shareProcessNamespace)
        #expect(
            spec.volumes == [
                VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource(medium: .memory, sizeLimit: Fixtures.q("64Mi"))))
            ])
        #expect(spec.containers[0].env == [EnvVar(name: "A", value: "1"), EnvVar(name: "PORT", value: "8080")])
        #expect(spec.containers[0].resources.limits.cpu?.canonical == "500m")
        #expect(spec.containers[1].ports == [ContainerPort(containerPort: 80, hostPort: 80)])
        #expect(spec.containers[1].volumeMounts[0].readOnly)
    }

    @Test func inlineConfigMapAndEmptyTables() throws {
        let node = Self.m([
            "name": Self.s("p"),
            "volumes": Self.a([Self.m(["name": Self.s("cfg"), "configMap": Self.m(["data": Self.m(["a.txt": Self.s("hello")])])])]),
            "initContainers": Self.m([:]),
            "containers": Self.a([
                Self.m([
                    "name": Self.s("c"), "command": Self.a([Self.s("true")]), "args": Self.m([:]),
                    "env": Self.a([]),
                ])
            ]),
        ])
        let spec = try PodSpec(flat: node)
        #expect(spec.volumes[0].source == VolumeSpec.Source.configMap(ConfigMapVolumeSource(data: ["a.txt": "hello"])))
        #expect(spec.initContainers == [])
    }

    @Test func errorsUseKubernetesPaths() {
        let node = Self.m([
            "name": Self.s("web"),
            "contianers": Self.a([]),
            "containers": Self.a([
                Self.m(["name": Self.s("web"), "command": Self.s("node app.js")]),
                Self.m(["name": Self.s("web"), "livenessProbe": Self.m([:])]),
                Self.s("not a container"),
            ]),
            "metadata": Self.m([:]),
        ])
        #expect(
            flatErrors(node) == [
                "spec.contianers: unknown field 'contianers' (did you mean 'containers'?)",
                "spec.metadata: unknown field 'metadata' (a spec is one flat table: put name, labels and the spec fields side by side)",
                "spec.containers[0].command: Invalid type: expected an array of strings, got string \"node app.js\"",
                "spec.containers[1].livenessProbe: Unsupported field: swift-pods does not implement this Kubernetes field",
                "spec.containers[2]: Invalid type: expected a map, got string \"not a container\"",
                "spec.containers[1].name: Duplicate value: \"web\"",
            ])
    }

    @Test func securityContextsDecodeAndUnimplementedPartsAreNamed() throws {
        let node = Self.m([
            "name": Self.s("p"),
            "securityContext": Self.m([
                "runAsUser": Self.n("1000"), "fsGroup": Self.n("2000"), "supplementalGroups": Self.a([Self.n("4")]),
            ]),
            "containers": Self.a([
                Self.m([
                    "name": Self.s("c"),
                    "securityContext": Self.m([
                        "runAsNonRoot": Self.b(true), "readOnlyRootFilesystem": Self.b(true),
                        "capabilities": Self.m(["drop": Self.a([Self.s("ALL")]), "add": Self.a([Self.s("NET_RAW")])]),
                    ]),
                ])
            ]),
        ])
        let spec = try PodSpec(flat: node)
        #expect(spec.securityContext == PodSecurityContext(runAsUser: 1000, supplementalGroups: [4], fsGroup: 2000))
        #expect(
            spec.containers[0].securityContext
                == SecurityContext(
                    runAsNonRoot: true, capabilities: Capabilities(add: ["NET_RAW"], drop: ["ALL"]), readOnlyRootFilesystem: true))
        let security = ContainerSecurity(spec.containers[0].securityContext, pod: spec.securityContext)
        #expect(security.capabilities == ["NET_RAW"] && security.runAsUser == 1000 && security.supplementalGroups == [4, 2000])
        #expect(try PodSpec(flat: spec.flatNode) == spec, "the flat form round-trips")
        let unsupported = Self.m([
            "name": Self.s("p"),
            "securityContext": Self.m(["sysctls": Self.a([]), "seLinuxOptions": Self.m([:])]),
            "containers": Self.a([
                Self.m([
                    "name": Self.s("c"),
                    "securityContext": Self.m([
                        "appArmorProfile": Self.m(["type": Self.s("RuntimeDefault")]), "privileged": Self.s("yes"),
                        "seccompProfile": Self.m(["localhostProfile": Self.s("p.json")]),
                        "capabilities": Self.m(["remove": Self.a([])]),
                    ]),
                ])
            ]),
        ])
        #expect(
            flatErrors(unsupported) == [
                "spec.containers[0].securityContext.appArmorProfile: Unsupported field: swift-pods does not implement this Kubernetes field",
                "spec.containers[0].securityContext.capabilities.remove: unknown field 'remove'",
                "spec.containers[0].securityContext.privileged: Invalid type: expected a boolean, got string \"yes\"",
                "spec.containers[0].securityContext.seccompProfile.type: Required value",
                "spec.securityContext.sysctls: Unsupported field: swift-pods does not implement this Kubernetes field",
                "spec.securityContext.seLinuxOptions: Unsupported field: swift-pods does not implement this Kubernetes field",
            ])
    }

    @Test func quantityErrorsNameTheField() {
        let node = Self.m([
            "name": Self.s("p"),
            "containers": Self.a([
                Self.m([
                    "name": Self.s("c"),
                    "resources": Self.m([
                        "limits": Self.m(["memory": Self.s("12Qi"), "cpu": Self.b(true), "gpu": Self.s("1")]),
                        "requests": Self.m(["memory": Self.s("1e400")]),
                    ]),
                ])
            ]),
        ])
        #expect(
            flatErrors(node) == [
                "spec.containers[0].resources.requests.memory: Invalid value: \"1e400\": must be less than 2^63 (the magnitude, rounded up to a whole unit)",
                "spec.containers[0].resources.limits.memory: Invalid value: \"12Qi\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (unknown suffix \"Qi\"; use one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or e<exponent>)",
                "spec.containers[0].resources.limits.cpu: Invalid type: expected a quantity (string or number), got boolean true",
                "spec.containers[0].resources.limits.gpu: Unsupported value: \"gpu\": supported values: \"cpu\", \"memory\"",
            ])
    }

    @Test func lenientFlatDecodeWarns() throws {
        let node = Self.m([
            "name": Self.s("p"), "dnsPolicy": Self.s("None"),
            "containers": Self.a([Self.m(["name": Self.s("c")])]),
        ])
        let decoded = try PodSpec.decode(flat: node, lenient: true)
        #expect(
            decoded.warnings.map(\.description) == [
                "spec.dnsPolicy: Unsupported field: swift-pods does not implement this Kubernetes field"
            ])
    }

    @Test func notAMap() {
        #expect(throws: ValidationError([FieldError(.invalidType, FieldPath("spec"), detail: "expected a map, got string \"web\"")])) {
            try PodSpec(flat: Self.s("web"))
        }
    }
}
