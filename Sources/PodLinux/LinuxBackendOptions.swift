import PodKit

/// Options of the `linux` backend (`pod.use("linux", {...})`, `podsh --state-dir ...`).
public struct LinuxBackendOptions: Sendable, Hashable {
    /// Where pods keep their volumes, container layers and logs: one directory per pod.
    public var stateDir: String
    /// Where imported images live (`podsh image import`).
    public var imageDir: String
    /// hostPath volumes must be at or below one of these (nil: anywhere).
    public var allowHostPaths: [String]?
    /// kubelet's `--pod-max-pids`: the pod cgroup's `pids.max`.
    public var podPidsLimit: Int
    /// The cgroup every pod's cgroup is made below, in each hierarchy (like kubelet's `kubepods`).
    public var cgroupParent: String
    /// kubelet's `containerLogMaxSize`: a container run's log is rotated when it reaches this
    /// many bytes (to `<run>.log.1`, replacing the one before: at most twice this on disk).
    public var containerLogMaxSize: Int
    /// The registry an image without a registry host is pulled from (`docker.io` as kubelet's
    /// runtimes do); nil: such a name is an image of the store only (load or import it).
    public var defaultRegistry: String?
    /// Registries reached over plain HTTP (hosts, with their ports: `127.0.0.1:5000`).
    public var insecureRegistries: [String]
    /// The auth file pulls take credentials from (nil: `RegistryAuthFile.searchPaths`).
    public var authFile: String?
    /// Where `seccompProfile: {type: Localhost, localhostProfile: F}` finds F (kubelet's
    /// `<root-dir>/seccomp`).
    public var seccompProfileRoot: String
    /// Whether `image: host` (the host's own root file system) may be used. Off by default: an
    /// image is what a container sees.
    public var allowHostImage: Bool
    /// Whether `hostNetwork`, `hostPID` and `hostIPC` may be used.
    public var allowHostNamespaces: Bool
    /// Whether what the Pod Security Standards' baseline forbids of a container's
    /// securityContext may be used: `privileged`, capabilities added beyond the baseline's
    /// set, `seccompProfile: Unconfined`, `procMount: Unmasked`.
    public var allowPrivileged: Bool

    public static let defaultStateDir = "/run/swift-pods"
    public static let defaultImageDir = "/var/lib/swift-pods/images"
    public static let defaultSeccompProfileRoot = "/var/lib/swift-pods/seccomp"
    /// kubelet's default `containerLogMaxSize`, 10Mi.
    public static let defaultContainerLogMaxSize = 10 * 1024 * 1024

    public init(
        stateDir: String = LinuxBackendOptions.defaultStateDir, imageDir: String = LinuxBackendOptions.defaultImageDir,
        allowHostPaths: [String]? = nil, podPidsLimit: Int = 4096, cgroupParent: String = "swift-pods",
        containerLogMaxSize: Int = LinuxBackendOptions.defaultContainerLogMaxSize
    ) {
        (self.stateDir, self.imageDir, self.allowHostPaths, self.podPidsLimit, self.cgroupParent) =
            (stateDir, imageDir, allowHostPaths, podPidsLimit, cgroupParent)
        self.containerLogMaxSize = containerLogMaxSize
        defaultRegistry = nil
        insecureRegistries = []
        authFile = nil
        seccompProfileRoot = Self.defaultSeccompProfileRoot
        allowHostImage = false
        allowHostNamespaces = true
        allowPrivileged = true
    }
}

extension LinuxBackendOptions {
    /// The option names `pod.use("linux", {...})` takes.
    public static let names = [
        "stateDir", "imageDir", "allowHostPaths", "podPidsLimit", "cgroupParent", "containerLogMaxSize", "defaultRegistry",
        "insecureRegistries", "authFile", "seccompProfileRoot", "allowHostImage", "allowHostNamespaces", "allowPrivileged",
    ]

    /// Decodes `{ stateDir =, imageDir =, allowHostPaths = {...}, podPidsLimit =, cgroupParent =,
    /// containerLogMaxSize =, defaultRegistry =, insecureRegistries = {...}, authFile =,
    /// seccompProfileRoot =, allowHostImage =, allowHostNamespaces =, allowPrivileged = }`
    /// over the defaults; an unknown option or a wrong value is `unsupported`, naming it.
    public init(_ options: BackendOptions) throws(BackendError) {
        self.init()
        func fail(_ message: String) -> BackendError { BackendError(.unsupported, "options", message) }
        func path(_ key: String, _ node: SpecNode) throws(BackendError) -> String {
            guard case .string(let text) = node.value, text.hasPrefix("/") else {
                throw fail("options.\(key) must be an absolute path")
            }
            return text
        }
        for entry in options.entries {
            switch entry.key {
            case "stateDir": stateDir = try path("stateDir", entry.node)
            case "imageDir": imageDir = try path("imageDir", entry.node)
            case "seccompProfileRoot": seccompProfileRoot = try path("seccompProfileRoot", entry.node)
            case "allowHostImage", "allowHostNamespaces", "allowPrivileged":
                guard case .bool(let allowed) = entry.node.value else { throw fail("options.\(entry.key) must be a boolean") }
                switch entry.key {
                case "allowHostImage": allowHostImage = allowed
                case "allowHostNamespaces": allowHostNamespaces = allowed
                default: allowPrivileged = allowed
                }
            case "allowHostPaths":
                switch entry.node.value {
                case .array(let items):
                    var prefixes: [String] = []
                    for (i, item) in items.enumerated() { prefixes.append(try path("allowHostPaths[\(i + 1)]", item)) }
                    allowHostPaths = prefixes
                case .map(let entries) where entries.isEmpty:
                    allowHostPaths = []
                default:
                    throw fail("options.allowHostPaths must be a list of absolute paths")
                }
            case "podPidsLimit":
                guard case .number(let text) = entry.node.value, let limit = Int(text), limit > 0 else {
                    throw fail("options.podPidsLimit must be a positive integer")
                }
                podPidsLimit = limit
            case "cgroupParent":
                guard case .string(let text) = entry.node.value, !text.isEmpty, !text.hasPrefix("/"),
                    !text.split(separator: "/").contains(where: { $0 == "." || $0 == ".." })
                else {
                    throw fail("options.cgroupParent must be a relative cgroup path (like \"swift-pods\")")
                }
                cgroupParent = text
            case "containerLogMaxSize":
                // Bytes, or a quantity as kubelet's configuration writes it ("10Mi").
                let limit: Int64?
                switch entry.node.value {
                case .number(let text): limit = Int64(text)
                case .string(let text):
                    limit = (try? Quantity(parsing: text)).flatMap { $0.nanoValue % 1_000_000_000 == 0 ? $0.value : nil }
                default: limit = nil
                }
                guard let limit, limit >= 4096, limit <= 1 << 40 else {
                    throw fail("options.containerLogMaxSize must be a size from 4096 bytes to 1Ti (like \"10Mi\" or 65536)")
                }
                containerLogMaxSize = Int(limit)
            case "defaultRegistry":
                guard case .string(let text) = entry.node.value, Self.isRegistryHost(text) else {
                    throw fail("options.defaultRegistry must be a registry host (like \"docker.io\" or \"127.0.0.1:5000\")")
                }
                defaultRegistry = text
            case "insecureRegistries":
                var hosts: [String] = []
                switch entry.node.value {
                case .array(let items):
                    for (i, item) in items.enumerated() {
                        guard case .string(let text) = item.value, Self.isRegistryHost(text) else {
                            throw fail("options.insecureRegistries[\(i + 1)] must be a registry host (like \"127.0.0.1:5000\")")
                        }
                        hosts.append(text)
                    }
                case .string(let text) where Self.isRegistryHost(text): hosts = [text]
                case .map(let entries) where entries.isEmpty: break
                default: throw fail("options.insecureRegistries must be a list of registry hosts")
                }
                insecureRegistries += hosts
            case "authFile": authFile = try path("authFile", entry.node)
            default:
                throw fail("unknown option '\(entry.key)' (\(Self.names.joined(separator: ", ")))")
            }
        }
    }
}

extension LinuxBackendOptions {
    /// `host`, `host:port`, `[v6]:port`: what a reference's registry part may be.
    public static func isRegistryHost(_ text: String) -> Bool {
        guard !text.isEmpty, !text.contains("/"), let parsed = try? ImageReference(parsing: text + "/x") else { return false }
        return parsed.registry == text
    }

    /// Whether `registry` is reached over plain HTTP.
    public func isInsecure(_ registry: String) -> Bool { insecureRegistries.contains(registry) }
}
