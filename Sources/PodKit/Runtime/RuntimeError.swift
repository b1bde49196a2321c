/// Why a runtime call failed. `invalid` carries every field error of a spec or an admission
/// check; the others name the pod, container or limit concerned.
public enum RuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The spec is invalid or cannot be admitted (name or host port in use).
    case invalid(ValidationError)
    /// No pod of that name in this runtime.
    case noSuchPod(String)
    /// The pod was removed; its handle is dead.
    case podRemoved(String)
    /// The pod has no container of that name.
    case noSuchContainer(pod: String, container: String)
    /// The container is not running (exec, kill).
    case containerNotRunning(pod: String, container: String, state: String)
    /// A wait ran out of time.
    case timeout(String)
    /// The request is fine but this backend cannot honour it.
    case unsupported(String)
    /// The backend failed.
    case backend(BackendError)

    public var description: String {
        switch self {
        case .invalid(let error): return error.description
        case .noSuchPod(let name): return "no pod named \"\(name)\""
        case .podRemoved(let name): return "pod \"\(name)\" has been removed"
        case .noSuchContainer(let pod, let container): return "pod \"\(pod)\" has no container named \"\(container)\""
        case .containerNotRunning(let pod, let container, let state):
            return "container \"\(container)\" of pod \"\(pod)\" is not running (\(state))"
        case .timeout(let message): return message
        case .unsupported(let message): return message
        case .backend(let error): return error.description
        }
    }
}

/// What a command run with `exec` gave.
public struct ExecResult: Sendable, Equatable {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String

    public init(exitCode: Int32, stdout: String, stderr: String) {
        (self.exitCode, self.stdout, self.stderr) = (exitCode, stdout, stderr)
    }
}
