import PodSim
import Testing

@testable import PodKit

/// Every validation rule, each with its exact field path and message.
@Suite("Validation")
struct ValidationTests {
    typealias Mutation = @Sendable (inout PodSpec) -> Void

    static func messages(_ mutate: Mutation) -> [String] {
        var spec = Fixtures.minimal
        mutate(&spec)
        return spec.validate().map(\.description)
    }

    static let label =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

    static let rules: [(String, Mutation, [String])] = [
        ("pod name required", { $0.name = "" }, ["metadata.name: Required value: name is required"]),
        ("pod name is a DNS label", { $0.name = "Web_1" }, ["metadata.name: Invalid value: \"Web_1\": \(label)"]),
        (
            "pod name length", { $0.name = String(repeating: "a", count: 64) },
            ["metadata.name: Invalid value: \"\(String(repeating: "a", count: 64))\": must be no more than 63 characters"]
        ),
        (
            "label key", { $0.labels = ["-bad": "x"] },
            ["metadata.labels: Invalid value: \"-bad\": \(KubernetesNames.qualifiedNameMessage)"]
        ),
        (
            "label value", { $0.labels = ["app": "a b"] },
            [
                "metadata.labels[app]: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ]
        ),
        ("hostname is a DNS label", { $0.hostname = "my.host" }, ["spec.hostname: Invalid value: \"my.host\": \(label)"]),
        (
            "grace period >= 0", { $0.terminationGracePeriodSeconds = -1 },
            ["spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"]
        ),
        (
            "shareProcessNamespace with hostPID",
            {
                $0.shareProcessNamespace = true
                $0.hostPID = true
            },
            ["spec.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled"]
        ),
        ("containers required", { $0.containers = [] }, ["spec.containers: Required value"]),
        ("container name required", { $0.containers[0].name = "" }, ["spec.containers[0].name: Required value"]),
        (
            "container name is a DNS label", { $0.containers[0].name = "Main" },
            ["spec.containers[0].name: Invalid value: \"Main\": \(label)"]
        ),
        (
            "duplicate container name", { $0.containers.append(ContainerSpec(name: "main")) },
            ["spec.containers[1].name: Duplicate value: \"main\""]
        ),
        (
            "app container name taken by an init container", { $0.initContainers = [ContainerSpec(name: "main")] },
            ["spec.containers[0].name: Duplicate value: \"main\""]
        ),
        (
            "env name required", { $0.containers[0].env = [EnvVar(name: "", value: "x")] },
            ["spec.containers[0].env[0].name: Required value"]
        ),
        (
            "env name relaxed rule", { $0.containers[0].env = [EnvVar(name: "A=B", value: "x"), EnvVar(name: "ok.name-1", value: "")] },
            [
                "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"
            ]
        ),
        (
            "containerPort required", { $0.containers[0].ports = [ContainerPort(containerPort: 0)] },
            ["spec.containers[0].ports[0].containerPort: Required value"]
        ),
        (
            "containerPort range", { $0.containers[0].ports = [ContainerPort(containerPort: 70000)] },
            ["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"]
        ),
        (
            "hostPort range", { $0.containers[0].ports = [ContainerPort(containerPort: 80, hostPort: -1)] },
            ["spec.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive"]
        ),
        (
            "same containerPort in two containers",
            {
                $0.containers[0].ports = [ContainerPort(containerPort: 80)]
                $0.containers.append(ContainerSpec(name: "side", ports: [ContainerPort(containerPort: 80)]))
            },
            [
                "spec.containers[1].ports[0].containerPort: Duplicate value: \"80/TCP\": already declared by container \"main\"; the containers of a pod share one network namespace"
            ]
        ),
        (
            "same port number, other protocol, is fine",
            {
                $0.containers[0].ports = [ContainerPort(containerPort: 53), ContainerPort(containerPort: 53, protocol: .udp)]
            }, []
        ),
        (
            "a sidecar's port counts, a one-shot init container's does not",
            {
                $0.containers[0].ports = [ContainerPort(containerPort: 80)]
                $0.initContainers = [
                    ContainerSpec(name: "once", ports: [ContainerPort(containerPort: 80)]),
                    ContainerSpec(name: "side", ports: [ContainerPort(containerPort: 80)], restartPolicy: .always),
                ]
            },
            [
                "spec.containers[0].ports[0].containerPort: Duplicate value: \"80/TCP\": already declared by container \"side\"; the containers of a pod share one network namespace"
            ]
        ),
        (
            "duplicate hostPort",
            {
                $0.containers[0].ports = [
                    ContainerPort(containerPort: 80, hostPort: 8080), ContainerPort(containerPort: 81, hostPort: 8080),
                ]
            }, ["spec.containers[0].ports[1].hostPort: Duplicate value: \"8080/TCP\""]
        ),
        (
            "hostNetwork needs hostPort == containerPort",
            {
                $0.hostNetwork = true
                $0.containers[0].ports = [ContainerPort(containerPort: 80, hostPort: 8080)]
            }, ["spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"]
        ),
        (
            "mount of unknown volume", { $0.containers[0].volumeMounts = [VolumeMount(name: "data", mountPath: "/data")] },
            ["spec.containers[0].volumeMounts[0].name: Not found: \"data\""]
        ),
        (
            "relative mountPath",
            {
                $0.volumes = [VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource()))]
                $0.containers[0].volumeMounts = [VolumeMount(name: "data", mountPath: "data")]
            }, ["spec.containers[0].volumeMounts[0].mountPath: Invalid value: \"data\": must be an absolute path"]
        ),
        (
            "mountPath unique",
            {
                $0.volumes = [VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource()))]
                $0.containers[0].volumeMounts = [VolumeMount(name: "data", mountPath: "/d"), VolumeMount(name: "data", mountPath: "/d/")]
            }, ["spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/d/\": must be unique"]
        ),
        (
            "subPath with ..",
            {
                $0.volumes = [VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource()))]
                $0.containers[0].volumeMounts = [VolumeMount(name: "data", mountPath: "/d", subPath: "a/../../etc")]
            }, ["spec.containers[0].volumeMounts[0].subPath: Invalid value: \"a/../../etc\": must not contain '..'"]
        ),
        (
            "absolute subPath",
            {
                $0.volumes = [VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource()))]
                $0.containers[0].volumeMounts = [VolumeMount(name: "data", mountPath: "/d", subPath: "/etc")]
            }, ["spec.containers[0].volumeMounts[0].subPath: Invalid value: \"/etc\": must be a relative path"]
        ),
        (
            "volume name required", { $0.volumes = [VolumeSpec(name: "", source: .emptyDir(EmptyDirVolumeSource()))] },
            ["spec.volumes[0].name: Required value"]
        ),
        (
            "duplicate volume name",
            {
                $0.volumes = [
                    VolumeSpec(name: "v", source: .emptyDir(EmptyDirVolumeSource())),
                    VolumeSpec(name: "v", source: .hostPath(HostPathVolumeSource(path: "/tmp"))),
                ]
            }, ["spec.volumes[1].name: Duplicate value: \"v\""]
        ),
        (
            "negative sizeLimit",
            {
                $0.volumes = [VolumeSpec(name: "v", source: .emptyDir(EmptyDirVolumeSource(sizeLimit: Fixtures.q("-1Mi"))))]
            }, ["spec.volumes[0].emptyDir.sizeLimit: Invalid value: \"-1Mi\": must be greater than or equal to 0"]
        ),
        (
            "hostPath required", { $0.volumes = [VolumeSpec(name: "v", source: .hostPath(HostPathVolumeSource(path: "")))] },
            ["spec.volumes[0].hostPath.path: Required value"]
        ),
        (
            "hostPath absolute", { $0.volumes = [VolumeSpec(name: "v", source: .hostPath(HostPathVolumeSource(path: "srv")))] },
            ["spec.volumes[0].hostPath.path: Invalid value: \"srv\": must be an absolute path"]
        ),
        (
            "hostPath without ..", { $0.volumes = [VolumeSpec(name: "v", source: .hostPath(HostPathVolumeSource(path: "/srv/../etc")))] },
            ["spec.volumes[0].hostPath.path: Invalid value: \"/srv/../etc\": must not contain '..'"]
        ),
        (
            "configMap keys",
            {
                $0.volumes = [VolumeSpec(name: "v", source: .configMap(ConfigMapVolumeSource(data: ["a/b": "x", "..x": "y"])))]
            },
            [
                "spec.volumes[0].configMap.data[..x]: Invalid value: \"..x\": must not start with '..'",
                "spec.volumes[0].configMap.data[a/b]: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            ]
        ),
        (
            "two configMap volumes, one object name, different data",
            {
                $0.volumes = [
                    VolumeSpec(name: "a", source: .configMap(ConfigMapVolumeSource(name: "cfg", data: ["k": "1"]))),
                    VolumeSpec(name: "b", source: .configMap(ConfigMapVolumeSource(name: "cfg", data: ["k": "2"]))),
                ]
            }, ["spec.volumes[1].configMap.name: Duplicate value: \"cfg\": another configMap volume names this ConfigMap with other data"]
        ),
        (
            "requests above limits",
            {
                $0.containers[0].resources = ResourceRequirements(
                    requests: ResourceList(cpu: Fixtures.q("2"), memory: Fixtures.q("1Gi")),
                    limits: ResourceList(cpu: Fixtures.q("1"), memory: Fixtures.q("512Mi")))
            },
            [
                "spec.containers[0].resources.requests.cpu: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
                "spec.containers[0].resources.requests.memory: Invalid value: \"1Gi\": must be less than or equal to memory limit of 512Mi",
            ]
        ),
        (
            "negative quantities",
            {
                $0.containers[0].resources = ResourceRequirements(limits: ResourceList(cpu: Fixtures.q("-100m")))
            }, ["spec.containers[0].resources.limits.cpu: Invalid value: \"-100m\": must be greater than or equal to 0"]
        ),
        (
            "restartPolicy on an app container", { $0.containers[0].restartPolicy = .always },
            ["spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"]
        ),
        (
            "sidecar among init containers is fine",
            {
                $0.initContainers = [ContainerSpec(name: "side", command: ["sleep", "9"], restartPolicy: .always)]
            }, []
        ),
        (
            "pod-level requests below the containers'",
            {
                $0.containers[0].resources = ResourceRequirements(requests: ResourceList(cpu: Fixtures.q("2")))
                $0.resources = ResourceRequirements(
                    requests: ResourceList(cpu: Fixtures.q("1")), limits: ResourceList(cpu: Fixtures.q("4")))
            }, ["spec.resources.requests.cpu: Invalid value: \"1\": must be greater than or equal to aggregate container requests of 2"]
        ),
        (
            "container limit above the pod's",
            {
                $0.containers[0].resources = ResourceRequirements(limits: ResourceList(memory: Fixtures.q("2Gi")))
                $0.resources = ResourceRequirements(limits: ResourceList(memory: Fixtures.q("1Gi")))
            },
            [
                "spec.resources.requests.memory: Invalid value: \"1Gi\": must be greater than or equal to aggregate container requests of 2Gi",
                "spec.containers[0].resources.limits.memory: Invalid value: \"2Gi\": must be less than or equal to pod limit of 1Gi",
            ]
        ),
        (
            "pod-level requests above pod-level limits",
            {
                $0.resources = ResourceRequirements(
                    requests: ResourceList(cpu: Fixtures.q("3")), limits: ResourceList(cpu: Fixtures.q("2")))
            }, ["spec.resources.requests.cpu: Invalid value: \"3\": must be less than or equal to cpu limit of 2"]
        ),        (
            "security context ids are between 0 and 2^31-1",
            {
                $0.securityContext = PodSecurityContext(runAsUser: -1, supplementalGroups: [5, 2_147_483_648], fsGroup: -2)
                $0.containers[0].securityContext = SecurityContext(runAsGroup: -3)
            },
            [
                "spec.containers[0].securityContext.runAsGroup: Invalid value: -3: must be between 0 and 2147483647, inclusive",
                "spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
                "spec.securityContext.fsGroup: Invalid value: -2: must be between 0 and 2147483647, inclusive",
                "spec.securityContext.supplementalGroups[1]: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive",
            ]
        ),
        (
            "privileged or SYS_ADMIN with allowPrivilegeEscalation false",
            {
                $0.containers[0].securityContext = SecurityContext(
                    capabilities: Capabilities(add: ["CAP_SYS_ADMIN"]), privileged: true, allowPrivilegeEscalation: false)
            },
            [
                "spec.containers[0].securityContext: Invalid value: privileged: true: cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                "spec.containers[0].securityContext: Invalid value: capabilities.add: SYS_ADMIN: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ]
        ),
        (
            "capability names",
            { $0.containers[0].securityContext = SecurityContext(capabilities: Capabilities(add: ["net_admin", "CAP_BPF", "FLY"], drop: ["all"])) },
            [
                "spec.containers[0].securityContext.capabilities.add[2]: Unsupported value: \"FLY\": not a Linux capability (a name such as NET_ADMIN or SYS_TIME, without CAP_; or ALL)"
            ]
        ),
        (
            "seccompProfile Localhost names a relative file, and only Localhost names one",
            {
                $0.securityContext = PodSecurityContext(seccompProfile: SeccompProfile(type: .localhost))
                $0.containers[0].securityContext = SecurityContext(
                    seccompProfile: SeccompProfile(type: .runtimeDefault, localhostProfile: "p.json"))
                $0.containers.append(ContainerSpec(name: "b", command: ["true"]))
                $0.containers[1].securityContext = SecurityContext(seccompProfile: SeccompProfile(type: .localhost, localhostProfile: "../p.json"))
            },
            [
                "spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: \"p.json\": can only be set when seccomp type is Localhost",
                "spec.containers[1].securityContext.seccompProfile.localhostProfile: Invalid value: \"../p.json\": must not contain '..'",
                "spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost",
            ]
        ),
        (
            "hostUsers false shares no host namespace",
            {
                $0.hostUsers = false
                $0.hostNetwork = true
                $0.hostIPC = true
            },
            [
                "spec.hostNetwork: Forbidden: when `hostUsers` is false", "spec.hostIPC: Forbidden: when `hostUsers` is false",
            ]
        ),
        (
            "procMount Unmasked needs hostUsers false",
            { $0.containers[0].securityContext = SecurityContext(procMount: .unmasked) },
            ["spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`"]
        ),
    ]

    @Test("rule", arguments: rules)
    func rule(name: String, mutate: Mutation, expected: [String]) {
        #expect(Self.messages(mutate) == expected, "\(name)")
    }

    @Test func everyErrorIsCollected() {
        var spec = PodSpec(
            name: "Bad Name", terminationGracePeriodSeconds: -5,
            containers: [ContainerSpec(name: "a"), ContainerSpec(name: "a")])
        spec.containers[0].volumeMounts = [VolumeMount(name: "nope", mountPath: "rel")]
        let errors = spec.validate()
        #expect(
            errors.map(\.path.description) == [
                "metadata.name", "spec.terminationGracePeriodSeconds", "spec.containers[0].volumeMounts[0].name",
                "spec.containers[0].volumeMounts[0].mountPath", "spec.containers[1].name",
            ])
        #expect(throws: ValidationError(errors)) { try spec.validated() }
    }
}

@Suite("A spec is validated once; the backend gets what it needs, computed once")
struct SandboxRequestTests {
    @Test func decodedAndValidatedSpecsAreMarkedAndAChangeClearsTheMark() throws {
        let node = SpecNode(
            .map([
                SpecNode.Entry("name", SpecNode(.string("web"))),
                SpecNode.Entry(
                    "containers",
                    SpecNode(
                        .array([
                            SpecNode(
                                .map([
                                    SpecNode.Entry("name", SpecNode(.string("c"))),
                                    SpecNode.Entry("command", SpecNode(.array([SpecNode(.string("true"))]))),
                                ]))
                        ]))),
            ]))
        var spec = try PodSpec(flat: node)
        #expect(spec.isValidated)
        #expect(!PodSpec(name: "x").isValidated)
        #expect(try PodSpec(name: "x", containers: [ContainerSpec(name: "c", command: ["true"])]).validated().isValidated)
        spec.containers[0].name = "Not Valid"
        #expect(!spec.isValidated, "any change clears the mark")
        #expect(spec == spec, "the mark is not part of equality")
        // The runtime validates what is not marked: the changed spec is refused.
        let runtime = PodRuntime(backend: SimBackend())
        defer { runtime.close() }
        #expect(throws: RuntimeError.self) { try runtime.create(spec) }
    }

    @Test func theSandboxRequestHoldsWhatTheBackendNeeds() throws {
        let spec = PodSpec(
            name: "web", hostname: "h", shareProcessNamespace: true, hostIPC: true,
            volumes: [VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource()))],
            containers: [
                ContainerSpec(
                    name: "a", image: "busybox", command: ["sleep", "1"],
                    ports: [ContainerPort(containerPort: 80, hostPort: 8080)],
                    resources: ResourceRequirements(
                        limits: ResourceList(
                            cpu: Quantity(milli: 500),
                            memory: Quantity(64 << 20, format: .binarySI)))),
                ContainerSpec(name: "b", image: "nginx", command: ["nginx"]),
            ])
        let request = SandboxRequest(pod: spec, uid: "u")
        #expect(request.hostname == "h")
        #expect(request.namespaces == PodNamespaces(network: .pod, ipc: .host, pid: .pod))
        #expect(request.hostPorts == [HostPortMapping(container: "a", hostPort: 8080, containerPort: 80)])
        #expect(request.images.map(\.image) == ["busybox", "nginx"])
        #expect(request.cgroup == ResourceMath.podCgroup(of: spec))
        #expect(request.manifest == spec.manifestDocuments)
        #expect(request.volumes.map(\.name) == ["data"])
        #expect(request.limitsMemory && request.qosClass == ResourceMath.qosClass(of: spec))
        let container = ContainerRequest(spec.containers[0])
        #expect(container.cgroup.memoryLimit == 64 << 20)
        #expect(
            container.oomScoreAdj(qosClass: request.qosClass, memoryCapacity: 1 << 30)
                == ResourceMath.oomScoreAdj(
                    pod: spec, container: spec.containers[0],
                    memoryCapacity: 1 << 30))
        // Without any memory limit there is no pod memory limit; on the host network, no ports.
        var host = spec
        host.hostNetwork = true
        host.containers[0].resources = ResourceRequirements()
        let onHost = SandboxRequest(pod: host, uid: "u")
        #expect(onHost.hostPorts.isEmpty && !onHost.limitsMemory && onHost.cgroup.memoryLimit == nil && onHost.namespaces.uts == .host)
    }
}
