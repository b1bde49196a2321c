/// What a backend needs to make a pod's sandbox, computed once by the core from a validated
/// spec — as kubelet hands the CRI a `PodSandboxConfig`, not the pod: which namespaces are the
/// pod's own, the hostname, the volumes, the published ports, the pod cgroup's values.
public struct SandboxRequest: Sendable {
    /// The pod's name and uid (for names of cgroups, state entries, logs).
    public var podName: String
    public var uid: String
    /// The UTS hostname every container sees.
    public var hostname: String
    public var namespaces: PodNamespaces
    public var volumes: [VolumeSpec]
    /// The host ports to publish (none on the host's network).
    public var hostPorts: [HostPortMapping]
    /// Whether some container or the pod sets a memory limit: only then is there a pod memory
    /// limit (kubelet's rule).
    public var limitsMemory: Bool
    /// The image of every container, init containers first (a backend may check them up front).
    public var images: [ContainerImage]
    /// `securityContext.fsGroup`: the group that owns the pod's emptyDir and configMap volumes.
    public var fsGroup: Int64?
    /// `hostUsers: false`: the pod gets a user namespace of its own.
    public var userNamespace = false

    /// The pod cgroup's values, by kubelet's formulas (`ResourceMath.podCgroup`); its memory
    /// limit only when `limitsMemory`.
    public var cgroup: CgroupValues { derived.cgroup() }
    /// The pod's QoS class (what its containers' `oom_score_adj` is computed from).
    public var qosClass: QOSClass { derived.qosClass() }
    /// The pod's manifest documents (`PodSpec.manifestDocuments`), for a backend that records them.
    public var manifest: [SpecNode] { derived.manifest() }

    /// What is computed when a backend asks for it: a backend that keeps no records, or no
    /// cgroups, never pays for them.
    private struct Derived: Sendable {
        var cgroup: @Sendable () -> CgroupValues
        var qosClass: @Sendable () -> QOSClass
        var manifest: @Sendable () -> [SpecNode]
    }
    private var derived: Derived

    public init(
        podName: String, uid: String, hostname: String, namespaces: PodNamespaces, volumes: [VolumeSpec] = [],
        hostPorts: [HostPortMapping] = [], limitsMemory: Bool = false,
        cgroup: CgroupValues = CgroupValues(cpuShares: ResourceMath.minShares), qosClass: QOSClass = .bestEffort,
        images: [ContainerImage] = [], manifest: [SpecNode] = []
    ) {
        self.init(
            podName: podName, uid: uid, hostname: hostname, namespaces: namespaces, volumes: volumes, hostPorts: hostPorts,
            limitsMemory: limitsMemory, images: images,
            derived: Derived(cgroup: { cgroup }, qosClass: { qosClass }, manifest: { manifest }))
    }

    private init(
        podName: String, uid: String, hostname: String, namespaces: PodNamespaces, volumes: [VolumeSpec],
        hostPorts: [HostPortMapping], limitsMemory: Bool, images: [ContainerImage], derived: Derived
    ) {
        self.podName = podName
        self.uid = uid
        self.hostname = hostname
        self.namespaces = namespaces
        self.volumes = volumes
        self.hostPorts = hostPorts
        self.limitsMemory = limitsMemory
        self.images = images
        self.derived = derived
    }

    /// The request for the pod `spec` (validated), as the runtime makes it.
    public init(pod spec: PodSpec, uid: String) {
        var ports: [HostPortMapping] = []
        if spec.publishesHostPorts && !spec.hostNetwork {
            spec.forEachContainer { _, container in
                for port in container.ports {
                    guard let hostPort = port.hostPort else { continue }
                    ports.append(
                        HostPortMapping(
                            container: container.name, hostPort: hostPort, containerPort: port.containerPort,
                            protocol: port.protocol))
                }
            }
        }
        var images: [ContainerImage] = []
        spec.forEachContainer { _, container in images.append(ContainerImage(container: container.name, image: container.image)) }
        let limitsMemory =
            spec.resources?.limits.memory != nil
            || spec.containers.contains { $0.resources.limits.memory != nil }
            || spec.initContainers.contains { $0.resources.limits.memory != nil }
        let derived = Derived(
            cgroup: {
                var cgroup = ResourceMath.podCgroup(of: spec)
                if !limitsMemory { cgroup.memoryLimit = nil }
                return cgroup
            },
            qosClass: { ResourceMath.qosClass(of: spec) },
            manifest: { spec.manifestDocuments })
        self.init(
            podName: spec.name, uid: uid, hostname: spec.effectiveHostname, namespaces: PodNamespaces(spec),
            volumes: spec.volumes, hostPorts: ports, limitsMemory: limitsMemory, images: images, derived: derived)
        fsGroup = spec.securityContext?.fsGroup
        userNamespace = spec.hostUsers == false
    }
}

/// Which namespaces a pod's sandbox makes for the pod and which are the host's.
public struct PodNamespaces: Sendable, Equatable {
    /// A namespace of the pod's own, or the host's.
    public enum Source: Sendable, Equatable {
        case pod
        case host
    }

    /// How processes of the pod see PIDs.
    public enum PID: Sendable, Equatable {
        /// One PID namespace for the pod, the pause as its PID 1 (`shareProcessNamespace`).
        case pod
        /// Each container's command is PID 1 of a namespace of its own (Kubernetes' default).
        case container
        /// The host's (`hostPID`).
        case host
    }

    /// Network and UTS go together: a pod on the host's network has the host's hostname.
    public var network: Source
    public var ipc: Source
    public var pid: PID

    public init(network: Source = .pod, ipc: Source = .pod, pid: PID = .container) {
        (self.network, self.ipc, self.pid) = (network, ipc, pid)
    }

    /// The namespaces of `spec`: `hostNetwork`, `hostIPC`, `hostPID`, `shareProcessNamespace`.
    public init(_ spec: PodSpec) {
        self.init(
            network: spec.hostNetwork ? .host : .pod, ipc: spec.hostIPC ? .host : .pod,
            pid: spec.hostPID ? .host : spec.shareProcessNamespace ? .pod : .container)
    }

    /// The UTS namespace: the pod's exactly when the network namespace is.
    public var uts: Source { network }
}

/// A host port to publish: `hostPort` on the host leads to `containerPort` in the pod.
public struct HostPortMapping: Sendable, Equatable {
    public var container: String
    public var hostPort: Int
    public var containerPort: Int
    public var `protocol`: ContainerPort.TransportProtocol

    public init(container: String, hostPort: Int, containerPort: Int, protocol: ContainerPort.TransportProtocol = .tcp) {
        (self.container, self.hostPort, self.containerPort) = (container, hostPort, containerPort)
        self.protocol = `protocol`
    }
}

/// A container's image, by container name.
public struct ContainerImage: Sendable, Equatable {
    public var container: String
    public var image: String

    public init(container: String, image: String) {
        (self.container, self.image) = (container, image)
    }
}

/// What a backend needs to start one container of a sandbox, computed by the core (the CRI's
/// `ContainerConfig`): its image, mounts, working directory, environment and cgroup values.
/// The command and the environment with `$(VAR)` expanded come with the `SpawnRequest`.
public struct ContainerRequest: Sendable, Equatable {
    public var name: String
    public var image: String
    /// The volume mounts, as the spec gives them (the sandbox holds the volumes).
    public var mounts: [VolumeMount]
    /// The working directory; nil for the image's (or /).
    public var workingDir: String?
    /// The container's own variables (what an exec in it starts from).
    public var env: [EnvVar]
    /// The container cgroup's values (`ResourceMath.containerCgroup`).
    public var cgroup: CgroupValues
    /// The user to run as, from the image's `User` (`uid`, `uid:gid`, `name`, `name:group`);
    /// nil for root. `security.runAsUser` and `runAsGroup` win over it.
    public var user: String?
    /// The resolved security settings (the container's and the pod's `securityContext`).
    public var security = ContainerSecurity()
    /// The container's memory request: with the pod's QoS class (`SandboxRequest.qosClass`),
    /// what kubelet's `oom_score_adj` is computed from.
    public var memoryRequest: Int64

    public init(
        name: String, image: String = "", mounts: [VolumeMount] = [], workingDir: String? = nil, env: [EnvVar] = [],
        cgroup: CgroupValues = CgroupValues(cpuShares: ResourceMath.minShares), memoryRequest: Int64 = 0
    ) {
        (self.name, self.image, self.mounts, self.workingDir, self.env, self.cgroup, self.memoryRequest) =
            (name, image, mounts, workingDir, env, cgroup, memoryRequest)
    }

    /// The request for `container`.
    public init(_ container: ContainerSpec) {
        self.init(
            name: container.name, image: container.image, mounts: container.volumeMounts, workingDir: container.workingDir,
            env: container.env, cgroup: ResourceMath.containerCgroup(of: container),
            memoryRequest: container.resources.effectiveRequests.memory?.value ?? 0)
    }

    /// kubelet's `oom_score_adj` for this container of a pod of `qosClass` on a machine with
    /// `memoryCapacity` bytes.
    public func oomScoreAdj(qosClass: QOSClass, memoryCapacity: Int64) -> Int {
        ResourceMath.oomScoreAdj(qosClass: qosClass, memoryRequest: memoryRequest, memoryCapacity: memoryCapacity)
    }
}
