/// The desired state of a pod: the supported subset of Kubernetes' `v1.Pod`, flattened
/// (`metadata.name`/`metadata.labels` and the `spec` fields side by side), with Kubernetes'
/// field names and defaults.
public struct PodSpec: Sendable, Equatable {
    /// `metadata.name`: a DNS-1123 label.
    public var name: String { didSet { validation = ValidationMark() } }
    /// `metadata.labels`.
    public var labels: [String: String] { didSet { validation = ValidationMark() } }
    /// `spec.hostname`; the pod's UTS hostname is `name` when this is nil.
    public var hostname: String? { didSet { validation = ValidationMark() } }
    /// `spec.shareProcessNamespace`: one PID namespace for every container, the pause as PID 1.
    public var shareProcessNamespace: Bool { didSet { validation = ValidationMark() } }
    /// `spec.hostNetwork`: use the host's network namespace.
    public var hostNetwork: Bool { didSet { validation = ValidationMark() } }
    /// `spec.hostPID`: use the host's PID namespace.
    public var hostPID: Bool { didSet { validation = ValidationMark() } }
    /// `spec.hostIPC`: use the host's IPC namespace.
    public var hostIPC: Bool { didSet { validation = ValidationMark() } }
    /// `spec.restartPolicy`; Kubernetes' default is `Always`.
    public var restartPolicy: RestartPolicy { didSet { validation = ValidationMark() } }
    /// `spec.terminationGracePeriodSeconds`: SIGTERM to SIGKILL delay on stop; default 30.
    public var terminationGracePeriodSeconds: Int64 { didSet { validation = ValidationMark() } }
    /// `spec.volumes`.
    public var volumes: [VolumeSpec] { didSet { validation = ValidationMark() } }
    /// `spec.initContainers`, run in order before the app containers (sidecars keep running).
    public var initContainers: [ContainerSpec] { didSet { validation = ValidationMark() } }
    /// `spec.containers`: the app containers.
    public var containers: [ContainerSpec] { didSet { validation = ValidationMark() } }
    /// `spec.resources`: pod-level requests and limits (KEP-2837), nil when not set.
    public var resources: ResourceRequirements? { didSet { validation = ValidationMark() } }
    /// `spec.imagePullSecrets`: the Secrets whose registry credentials pulls use.
    public var imagePullSecrets: [ImagePullSecret] = [] { didSet { validation = ValidationMark() } }
    /// `spec.hostUsers`: true (the default) shares the host's user namespace; false gives the
    /// pod one of its own (on linux: 65536 host IDs of its own, root inside is nobody outside).
    public var hostUsers: Bool? { didSet { validation = ValidationMark() } }
    /// `spec.securityContext`: the pod-level security settings, nil when not set.
    public var securityContext: PodSecurityContext? { didSet { validation = ValidationMark() } }
    /// Whether this spec passed validation unchanged since (`validated()`, the decoders): the
    /// runtime validates a spec once. Any change to a field clears it.
    package var isValidated: Bool { validation.done }
    private var validation = ValidationMark()

    /// Marks the spec as validated (only what validation itself calls).
    package mutating func markValidated() { validation = ValidationMark(done: true) }

    /// The default of `terminationGracePeriodSeconds`.
    public static let defaultTerminationGracePeriodSeconds: Int64 = 30

    /// A pod with Kubernetes' defaults for everything not given.
    public init(
        name: String,
        labels: [String: String] = [:],
        hostname: String? = nil,
        shareProcessNamespace: Bool = false,
        hostNetwork: Bool = false,
        hostPID: Bool = false,
        hostIPC: Bool = false,
        restartPolicy: RestartPolicy = .always,
        terminationGracePeriodSeconds: Int64 = PodSpec.defaultTerminationGracePeriodSeconds,
        volumes: [VolumeSpec] = [],
        initContainers: [ContainerSpec] = [],
        containers: [ContainerSpec] = [],
        resources: ResourceRequirements? = nil
    ) {
        self.name = name
        self.labels = labels
        self.hostname = hostname
        self.shareProcessNamespace = shareProcessNamespace
        self.hostNetwork = hostNetwork
        self.hostPID = hostPID
        self.hostIPC = hostIPC
        self.restartPolicy = restartPolicy
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        self.volumes = volumes
        self.initContainers = initContainers
        self.containers = containers
        self.resources = resources
    }

    /// The UTS hostname every container of the pod sees.
    public var effectiveHostname: String { hostname ?? name }

    /// Init containers with `restartPolicy: Always`: started in order and kept running.
    public var sidecars: [ContainerSpec] { initContainers.filter(\.isSidecar) }

    /// Calls `body` with the position (init containers first) and spec of every container,
    /// without building a combined array.
    public func forEachContainer(_ body: (_ index: Int, _ container: ContainerSpec) throws -> Void) rethrows {
        for (i, container) in initContainers.enumerated() { try body(i, container) }
        for (i, container) in containers.enumerated() { try body(initContainers.count + i, container) }
    }

    /// Whether any container declares a host port.
    public var publishesHostPorts: Bool {
        initContainers.contains { $0.ports.contains { $0.hostPort != nil } }
            || containers.contains { $0.ports.contains { $0.hostPort != nil } }
    }

    /// The volume named `name`, if any.
    public func volume(named name: String) -> VolumeSpec? { volumes.first { $0.name == name } }
}

/// Whether a spec was validated; two specs are equal whatever their marks.
struct ValidationMark: Sendable, Equatable {
    var done = false
    static func == (_: ValidationMark, _: ValidationMark) -> Bool { true }
}
