/// Pure validation of a `PodSpec`, collecting every error with its Kubernetes field path.
/// State-dependent admission checks (a name or host port already in use) belong to the
/// runtime, which reports them the same way.
extension PodSpec {
    /// Every problem of the spec; empty when it is valid.
    public func validate() -> [FieldError] {
        var v = SpecValidator()
        v.check(self)
        return v.errors
    }

    /// Throws every problem of the spec together.
    public func validated() throws(ValidationError) -> PodSpec {
        if isValidated { return self }
        let errors = validate()
        guard errors.isEmpty else { throw ValidationError(errors) }
        var checked = self
        checked.markValidated()
        return checked
    }
}

struct SpecValidator {
    package var errors: [FieldError] = []
    /// The pod's `hostUsers`, which a container's `procMount` depends on.
    var hostUsers: Bool?

    mutating func add(_ kind: FieldError.Kind, _ path: @autoclosure () -> FieldPath, value: String? = nil, detail: String? = nil) {
        errors.append(FieldError(kind, path(), value: value, detail: detail))
    }

    mutating func check(_ spec: PodSpec) {
        hostUsers = spec.hostUsers
        let metadata = FieldPath("metadata")
        let path = FieldPath("spec")
        checkLabel(spec.name, metadata.child("name"), required: true)
        for key in spec.labels.keys.sorted() {
            for problem in KubernetesNames.labelKeyErrors(key) {
                add(.invalid, metadata.child("labels"), value: FieldError.quoted(key), detail: problem)
            }
            for problem in KubernetesNames.labelValueErrors(spec.labels[key] ?? "") {
                add(.invalid, metadata.child("labels").key(key), value: FieldError.quoted(spec.labels[key] ?? ""), detail: problem)
            }
        }
        if let hostname = spec.hostname { checkLabel(hostname, path.child("hostname"), required: true) }
        for (i, secret) in spec.imagePullSecrets.enumerated() where secret.name.isEmpty {
            add(.required, path.child("imagePullSecrets").index(i).child("name"))
        }
        if spec.terminationGracePeriodSeconds < 0 {
            add(
                .invalid, path.child("terminationGracePeriodSeconds"), value: String(spec.terminationGracePeriodSeconds),
                detail: "must be greater than or equal to 0")
        }
        if spec.shareProcessNamespace && spec.hostPID {
            add(
                .invalid, path.child("shareProcessNamespace"), value: "true",
                detail: "ShareProcessNamespace and HostPID cannot both be enabled")
        }
        let volumeNames = checkVolumes(spec.volumes, path.child("volumes"), pod: spec.name)
        if spec.containers.isEmpty { add(.required, path.child("containers")) }

        var containerNames: Set<String> = []
        for (i, container) in spec.initContainers.enumerated() {
            checkContainer(
                container, path.child("initContainers").index(i), names: &containerNames,
                volumes: volumeNames, isInit: true)
        }
        for (i, container) in spec.containers.enumerated() {
            checkContainer(
                container, path.child("containers").index(i), names: &containerNames,
                volumes: volumeNames, isInit: false)
        }
        checkPorts(spec, path)
        if let security = spec.securityContext { checkPodSecurity(security, path.child("securityContext")) }
        if spec.hostUsers == false {
            // Kubernetes' rule: a pod of its own user namespace shares none of the host's.
            for (field, on) in [("hostNetwork", spec.hostNetwork), ("hostPID", spec.hostPID), ("hostIPC", spec.hostIPC)] where on {
                add(.forbidden, path.child(field), detail: "when `hostUsers` is false")
            }
        }
        if let podResources = spec.resources { checkPodResources(podResources, spec, path.child("resources")) }
    }

    mutating func checkLabel(_ value: String, _ path: @autoclosure () -> FieldPath, required: Bool) {
        if value.isEmpty {
            if required { add(.required, path(), detail: path().description == "metadata.name" ? "name is required" : nil) }
            return
        }
        for problem in KubernetesNames.dns1123LabelErrors(value) {
            add(.invalid, path(), value: FieldError.quoted(value), detail: problem)
        }
    }

    /// Checks the volumes and returns the names declared.
    mutating func checkVolumes(_ volumes: [VolumeSpec], _ path: @autoclosure () -> FieldPath, pod: String) -> Set<String> {
        var names: Set<String> = []
        var configMapData: [String: [String: String]] = [:]
        for (i, volume) in volumes.enumerated() {
            func volumePath() -> FieldPath { path().index(i) }
            if volume.name.isEmpty {
                add(.required, volumePath().child("name"))
            } else if !names.insert(volume.name).inserted {
                add(.duplicate, volumePath().child("name"), value: FieldError.quoted(volume.name))
            } else {
                for problem in KubernetesNames.dns1123LabelErrors(volume.name) {
                    add(.invalid, volumePath().child("name"), value: FieldError.quoted(volume.name), detail: problem)
                }
            }
            switch volume.source {
            case .emptyDir(let source):
                if let size = source.sizeLimit, size < .zero {
                    add(
                        .invalid, volumePath().child("emptyDir").child("sizeLimit"), value: FieldError.quoted(size.canonical),
                        detail: "must be greater than or equal to 0")
                }
            case .hostPath(let source):
                func hostPath() -> FieldPath { volumePath().child("hostPath").child("path") }
                if source.path.isEmpty {
                    add(.required, hostPath())
                } else if !source.path.hasPrefix("/") {
                    add(.invalid, hostPath(), value: FieldError.quoted(source.path), detail: "must be an absolute path")
                } else if PathRules.hasDotDot(source.path) {
                    add(.invalid, hostPath(), value: FieldError.quoted(source.path), detail: "must not contain '..'")
                } else if source.path.utf8.contains(0) {
                    add(.invalid, hostPath(), value: FieldError.quoted(source.path), detail: "must not contain a NUL byte")
                }
            case .configMap(let source):
                func configMapPath() -> FieldPath { volumePath().child("configMap") }
                let objectName = source.objectName(pod: pod, volume: volume.name)
                if let other = configMapData[objectName], other != source.data {
                    add(
                        .duplicate, configMapPath().child("name"), value: FieldError.quoted(objectName),
                        detail: "another configMap volume names this ConfigMap with other data")
                }
                configMapData[objectName] = source.data
                if let name = source.name {
                    for problem in KubernetesNames.dns1123SubdomainErrors(name) {
                        add(.invalid, configMapPath().child("name"), value: FieldError.quoted(name), detail: problem)
                    }
                }
                for key in source.data.keys.sorted() {
                    for problem in KubernetesNames.configMapKeyErrors(key) {
                        add(.invalid, configMapPath().child("data").key(key), value: FieldError.quoted(key), detail: problem)
                    }
                }
            }
        }
        return names
    }

    mutating func checkContainer(
        _ container: ContainerSpec, _ path: @autoclosure () -> FieldPath, names: inout Set<String>, volumes: Set<String>, isInit: Bool
    ) {
        if container.name.isEmpty {
            add(.required, path().child("name"))
        } else if !names.insert(container.name).inserted {
            add(.duplicate, path().child("name"), value: FieldError.quoted(container.name))
        } else {
            checkLabel(container.name, path().child("name"), required: true)
        }
        checkReachesC(container, path())
        if let security = container.securityContext {
            checkContainerSecurity(security, path().child("securityContext"), hostUsers: hostUsers)
        }
        checkExecSizes(container, path())
        if let workingDir = container.workingDir, !workingDir.isEmpty, !workingDir.hasPrefix("/") {
            add(.invalid, path().child("workingDir"), value: FieldError.quoted(workingDir), detail: "must be an absolute path")
        }
        for (i, variable) in container.env.enumerated() {
            func envPath() -> FieldPath { path().child("env").index(i).child("name") }
            if variable.name.isEmpty { add(.required, envPath()) }
            for problem in KubernetesNames.envVarNameErrors(variable.name) {
                add(.invalid, envPath(), value: FieldError.quoted(variable.name), detail: problem)
            }
        }
        for (i, port) in container.ports.enumerated() {
            func portPath() -> FieldPath { path().child("ports").index(i) }
            if port.containerPort == 0 {
                add(.required, portPath().child("containerPort"))
            } else if !(1...65535).contains(port.containerPort) {
                add(
                    .invalid, portPath().child("containerPort"), value: String(port.containerPort),
                    detail: "must be between 1 and 65535, inclusive")
            }
            if let hostPort = port.hostPort, !(1...65535).contains(hostPort) {
                add(
                    .invalid, portPath().child("hostPort"), value: String(hostPort),
                    detail: "must be between 1 and 65535, inclusive")
            }
        }
        var mountPaths: Set<String> = []
        for (i, mount) in container.volumeMounts.enumerated() {
            func mountPath() -> FieldPath { path().child("volumeMounts").index(i) }
            if mount.name.isEmpty {
                add(.required, mountPath().child("name"))
            } else if !volumes.contains(mount.name) {
                add(.notFound, mountPath().child("name"), value: FieldError.quoted(mount.name))
            }
            if mount.mountPath.isEmpty {
                add(.required, mountPath().child("mountPath"))
            } else if !mount.mountPath.hasPrefix("/") {
                add(
                    .invalid, mountPath().child("mountPath"), value: FieldError.quoted(mount.mountPath),
                    detail: "must be an absolute path")
            } else {
                let cleaned = PathRules.clean(mount.mountPath)
                if !mountPaths.insert(cleaned).inserted {
                    add(.invalid, mountPath().child("mountPath"), value: FieldError.quoted(mount.mountPath), detail: "must be unique")
                }
            }
            if let subPath = mount.subPath {
                if subPath.hasPrefix("/") {
                    add(.invalid, mountPath().child("subPath"), value: FieldError.quoted(subPath), detail: "must be a relative path")
                } else if PathRules.hasDotDot(subPath) {
                    add(.invalid, mountPath().child("subPath"), value: FieldError.quoted(subPath), detail: "must not contain '..'")
                }
            }
        }
        checkResources(container.resources, path().child("resources"))
        if container.restartPolicy != nil && !isInit {
            add(.forbidden, path().child("restartPolicy"), detail: "may not be set for non-init containers")
        }
    }

    /// The strings that become C strings (argv, the environment, paths): a NUL byte would cut
    /// them short, so it is refused where Kubernetes' runtimes would fail.
    mutating func checkReachesC(_ container: ContainerSpec, _ path: @autoclosure () -> FieldPath) {
        func check(_ value: String, _ field: @autoclosure () -> FieldPath) {
            if value.utf8.contains(0) { add(.invalid, field(), value: FieldError.quoted(value), detail: "must not contain a NUL byte") }
        }
        check(container.image, path().child("image"))
        for (i, word) in container.command.enumerated() { check(word, path().child("command").index(i)) }
        for (i, word) in container.args.enumerated() { check(word, path().child("args").index(i)) }
        for (i, variable) in container.env.enumerated() { check(variable.value, path().child("env").index(i).child("value")) }
        check(container.workingDir ?? "", path().child("workingDir"))
        for (i, mount) in container.volumeMounts.enumerated() {
            check(mount.mountPath, path().child("volumeMounts").index(i).child("mountPath"))
            check(mount.subPath ?? "", path().child("volumeMounts").index(i).child("subPath"))
        }
    }

    /// argv and the environment as execve will get them, `$(VAR)` references expanded: each
    /// string and their sum within Linux's limits, so that an expansion bomb (V1 = "$(V0)$(V0)",
    /// V2 = "$(V1)$(V1)", ...) is refused here, at the cost of the limit, instead of filling memory.
    mutating func checkExecSizes(_ container: ContainerSpec, _ path: @autoclosure () -> FieldPath) {
        var values: [String: String] = [:]
        var total = 0
        func tooLong(_ field: FieldPath) {
            add(
                .tooLong, field,
                detail:
                    "must have at most \(EnvExpansion.maxStringBytes) bytes once $(VAR) references are expanded (Linux's MAX_ARG_STRLEN: execve would fail with E2BIG)"
            )
        }
        for (i, variable) in container.env.enumerated() {
            let room = EnvExpansion.maxStringBytes - variable.name.utf8.count - 1
            guard let value = EnvExpansion.expand(variable.value, limit: room, { values[$0] }) else {
                tooLong(path().child("env").index(i).child("value"))
                return
            }
            values[variable.name] = value
            total += variable.name.utf8.count + value.utf8.count + 2
        }
        for (i, word) in container.argv.enumerated() {
            func field() -> FieldPath {
                i < container.command.count
                    ? path().child("command").index(i) : path().child("args").index(i - container.command.count)
            }
            guard let expanded = EnvExpansion.expand(word, limit: EnvExpansion.maxStringBytes, { values[$0] }) else {
                tooLong(field())
                return
            }
            total += expanded.utf8.count + 1
            if total > EnvExpansion.maxTotalBytes { break }
        }
        if total > EnvExpansion.maxTotalBytes {
            add(
                .tooLong, path(), value: nil,
                detail:
                    "its command, args and env must have at most \(EnvExpansion.maxTotalBytes) bytes together once $(VAR) references are expanded (Linux's ARG_MAX: execve would fail with E2BIG)"
            )
        }
    }

    mutating func checkResources(_ resources: ResourceRequirements, _ path: @autoclosure () -> FieldPath) {
        for (listName, list) in [("requests", resources.requests), ("limits", resources.limits)] {
            for name in ResourceName.allCases {
                if let q = list[name], q < .zero {
                    add(
                        .invalid, path().child(listName).child(name.rawValue), value: FieldError.quoted(q.canonical),
                        detail: "must be greater than or equal to 0")
                }
            }
        }
        for name in ResourceName.allCases {
            if let request = resources.requests[name], let limit = resources.limits[name], request > limit {
                add(
                    .invalid, path().child("requests").child(name.rawValue), value: FieldError.quoted(request.canonical),
                    detail: "must be less than or equal to \(name.rawValue) limit of \(limit.canonical)")
            }
        }
    }

    /// Ports are checked pod-wide: app containers and sidecars share one network namespace, so
    /// two of them declaring the same containerPort/protocol would collide at bind time; host
    /// ports must be unique over every container; on the host network, hostPort = containerPort.
    mutating func checkPorts(_ spec: PodSpec, _ path: FieldPath) {
        var containerPorts: [String: String] = [:]
        var hostPorts: Set<String> = []
        let inits = spec.initContainers.count
        spec.forEachContainer { index, container in
            guard !container.ports.isEmpty else { return }
            func containerPath() -> FieldPath {
                index < inits ? path.child("initContainers").index(index) : path.child("containers").index(index - inits)
            }
            let longRunning = index >= inits || container.isSidecar
            for (i, port) in container.ports.enumerated() where (1...65535).contains(port.containerPort) {
                func portPath() -> FieldPath { containerPath().child("ports").index(i) }
                let key = "\(port.containerPort)/\(port.protocol.rawValue)"
                if longRunning {
                    if let owner = containerPorts[key] {
                        add(
                            .duplicate, portPath().child("containerPort"), value: FieldError.quoted(key),
                            detail:
                                "already declared by container \(FieldError.quoted(owner)); the containers of a pod share one network namespace"
                        )
                    } else {
                        containerPorts[key] = container.name
                    }
                }
                if let hostPort = port.hostPort {
                    let hostKey = "\(hostPort)/\(port.protocol.rawValue)"
                    if !hostPorts.insert(hostKey).inserted {
                        add(.duplicate, portPath().child("hostPort"), value: FieldError.quoted(hostKey))
                    }
                    if spec.hostNetwork && hostPort != port.containerPort {
                        add(
                            .invalid, portPath().child("hostPort"), value: String(hostPort),
                            detail: "must match `containerPort` when `hostNetwork` is true")
                    }
                }
            }
        }
    }

    /// Pod-level resources (KEP-2837): requests within limits, not below what the containers
    /// request together, and no container limit above the pod's.
    mutating func checkPodResources(_ resources: ResourceRequirements, _ spec: PodSpec, _ path: @autoclosure () -> FieldPath) {
        checkResources(resources, path())
        var containersOnly = spec
        containersOnly.resources = nil
        let aggregate = ResourceMath.podRequests(of: containersOnly)
        let podRequests = resources.effectiveRequests
        for name in ResourceName.allCases {
            if let podRequest = podRequests[name], let sum = aggregate[name], sum > podRequest {
                add(
                    .invalid, path().child("requests").child(name.rawValue), value: FieldError.quoted(podRequest.canonical),
                    detail: "must be greater than or equal to aggregate container requests of \(sum.canonical)")
            }
        }
        let all =
            spec.initContainers.enumerated().map { (FieldPath("spec").child("initContainers").index($0), $1) }
            + spec.containers.enumerated().map { (FieldPath("spec").child("containers").index($0), $1) }
        for (containerPath, container) in all {
            for name in ResourceName.allCases {
                if let podLimit = resources.limits[name], let limit = container.resources.limits[name], limit > podLimit {
                    add(
                        .invalid, containerPath.child("resources").child("limits").child(name.rawValue),
                        value: FieldError.quoted(limit.canonical),
                        detail: "must be less than or equal to pod limit of \(podLimit.canonical)")
                }
            }
        }
    }
}

/// Path rules shared by validation and the backends.
public enum PathRules {
    /// Whether any element of the slash-separated path is `..`.
    public static func hasDotDot(_ path: String) -> Bool {
        path.split(separator: "/").contains("..")
    }

    /// The path without empty and `.` elements (`/a//b/./c/` -> `/a/b/c`).
    public static func clean(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }
}
