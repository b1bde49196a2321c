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

    public static let defaultStateDir = "/run/swift-pods"
    public static let defaultImageDir = "/var/lib/swift-pods/images"

    public init(
        stateDir: String = LinuxBackendOptions.defaultStateDir, imageDir: String = LinuxBackendOptions.defaultImageDir,
        allowHostPaths: [String]? = nil, podPidsLimit: Int = 4096, cgroupParent: String = "swift-pods"
    ) {
        (self.stateDir, self.imageDir, self.allowHostPaths, self.podPidsLimit, self.cgroupParent) =
            (stateDir, imageDir, allowHostPaths, podPidsLimit, cgroupParent)
    }
}

extension LinuxBackendOptions {
    /// The option names `pod.use("linux", {...})` takes.
    public static let names = ["stateDir", "imageDir", "allowHostPaths", "podPidsLimit", "cgroupParent"]

    /// Decodes `{ stateDir =, imageDir =, allowHostPaths = {...}, podPidsLimit =, cgroupParent = }`
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
            default:
                throw fail("unknown option '\(entry.key)' (\(Self.names.joined(separator: ", ")))")
            }
        }
    }
}
