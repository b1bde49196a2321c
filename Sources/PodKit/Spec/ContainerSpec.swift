/// One container of a pod: `v1.Container`'s supported fields.
public struct ContainerSpec: Sendable, Equatable {
    /// `name`: a DNS-1123 label, unique among all containers and init containers of the pod.
    public var name: String
    /// `image`: a reference (`[host[:port]/]path[:tag][@sha256:digest]`, `ImageReference`); on
    /// the linux backend also `host` (the host's root, with `allowHostImage`).
    public var image: String
    /// `imagePullPolicy`; nil for Kubernetes' default (`ImageReference.defaultPullPolicy`).
    public var imagePullPolicy: ImagePullPolicy?
    /// `command`: the entrypoint argv; replaces the image's entrypoint.
    public var command: [String]
    /// `args`: arguments appended to `command`.
    public var args: [String]
    /// `env`: environment variables, in order.
    public var env: [EnvVar]
    /// `workingDir`: the working directory, nil for the image's default.
    public var workingDir: String?
    /// `ports`: ports the container listens on, and which of them are published on the host.
    public var ports: [ContainerPort]
    /// `volumeMounts`: where the pod's volumes appear in this container.
    public var volumeMounts: [VolumeMount]
    /// `resources`: requests and limits for cpu and memory.
    public var resources: ResourceRequirements
    /// `restartPolicy`: only on init containers; `Always` makes a sidecar.
    public var restartPolicy: ContainerRestartPolicy?
    /// `securityContext`: the container's security settings, winning over the pod's.
    public var securityContext: SecurityContext?

    public init(
        name: String,
        image: String = "",
        command: [String] = [],
        args: [String] = [],
        env: [EnvVar] = [],
        workingDir: String? = nil,
        ports: [ContainerPort] = [],
        volumeMounts: [VolumeMount] = [],
        resources: ResourceRequirements = ResourceRequirements(),
        restartPolicy: ContainerRestartPolicy? = nil,
        imagePullPolicy: ImagePullPolicy? = nil
    ) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
        self.env = env
        self.workingDir = workingDir
        self.ports = ports
        self.volumeMounts = volumeMounts
        self.resources = resources
        self.restartPolicy = restartPolicy
        self.imagePullPolicy = imagePullPolicy
    }

    /// Whether this (init) container is a sidecar: `restartPolicy: Always`.
    public var isSidecar: Bool { restartPolicy == .always }

    /// The full argv: `command` followed by `args` (the command's own storage when there are none).
    public var argv: [String] { args.isEmpty ? command : command + args }
}

/// `env[]`: one environment variable.
public struct EnvVar: Sendable, Equatable {
    /// `name`: printable ASCII without `=` (Kubernetes' relaxed rule).
    public var name: String
    /// `value`.
    public var value: String

    public init(name: String, value: String) {
        (self.name, self.value) = (name, value)
    }
}

/// `ports[]`: a port a container listens on.
public struct ContainerPort: Sendable, Equatable {
    /// `protocol`: TCP (default), UDP or SCTP.
    public enum TransportProtocol: String, Sendable, Equatable, CaseIterable {
        case tcp = "TCP"
        case udp = "UDP"
        case sctp = "SCTP"
    }

    /// `containerPort`: 1-65535, in the pod's network namespace.
    public var containerPort: Int
    /// `hostPort`: 1-65535 to publish the port on the host, nil when not published.
    public var hostPort: Int?
    /// `protocol`.
    public var `protocol`: TransportProtocol

    public init(containerPort: Int, hostPort: Int? = nil, protocol: TransportProtocol = .tcp) {
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.protocol = `protocol`
    }
}

/// `volumeMounts[]`: a pod volume mounted into a container.
public struct VolumeMount: Sendable, Equatable {
    /// `name`: the volume's name in `spec.volumes`.
    public var name: String
    /// `mountPath`: an absolute path in the container.
    public var mountPath: String
    /// `readOnly`: writes fail with EROFS.
    public var readOnly: Bool
    /// `subPath`: a relative path inside the volume to mount instead of its root; created when
    /// missing.
    public var subPath: String?

    public init(name: String, mountPath: String, readOnly: Bool = false, subPath: String? = nil) {
        (self.name, self.mountPath, self.readOnly, self.subPath) = (name, mountPath, readOnly, subPath)
    }
}
