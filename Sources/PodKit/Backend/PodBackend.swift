/// What the runtime needs from a place that can run pods: a small protocol, the same for the
/// simulated kernel and real Linux. Every backend runs one conformance suite
/// (`Tests/PodCoreTests/BackendConformance.swift`); optional abilities are capabilities, never
/// requirements implemented with a trap.
///
/// A backend is confined to its owner's thread, like the runtime that drives it.
public protocol PodBackend: AnyObject {
    /// "sim", "linux".
    var name: String { get }
    /// What this backend can do beyond the protocol's minimum.
    var capabilities: BackendCapabilities { get }
    /// Seconds since the backend started, on its clock (virtual on sim).
    var now: Double { get }

    /// Creates the pod's sandbox: the infra (pause) process and the namespaces it holds.
    func createSandbox(_ request: SandboxRequest) throws(BackendError) -> SandboxInfo
    /// Starts a process: a container's main process, an exec in a running container, or a
    /// command in the host context. A command that cannot be executed still yields a process,
    /// which exits with 127 and a `startError` (as fork succeeds and exec fails on Linux).
    func spawn(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess
    /// Sends a signal to a process this backend started.
    func signal(_ process: ProcessID, _ signal: Signal) throws(BackendError)
    /// Runs until something happened or `deadline` (nil: do not wait, only collect what is
    /// due; `.infinity`: wait as long as it takes), and returns the exits observed, in the
    /// order they happened. A real backend may return early with nothing (a signal, a periodic
    /// wake): callers poll again until their own deadline.
    func poll(until deadline: Double?) -> [BackendEvent]
    /// What a process wrote: stdout, stderr and both interleaved as written.
    func output(of process: ProcessID) -> ProcessOutput
    /// Kills what still runs in the sandbox and frees everything it holds. Idempotent.
    func removeSandbox(_ sandbox: SandboxID) throws(BackendError)
    /// Keeps a sandbox after the backend is released (capability `detachedPods`).
    func detach(_ sandbox: SandboxID) throws(BackendError)
    /// Bytes of the owner's own memory the backend holds for what it was asked to do: the sim's
    /// files, logs and sandboxes (a sandboxed script is charged for them). 0 for a backend whose
    /// pods live in the kernel (their memory is in their cgroups).
    var heldBytes: Int { get }
    /// What this backend refuses of a valid spec, as field errors (its admission policy: the
    /// linux backend's image and host-access rules); empty by default.
    func admissionErrors(_ spec: PodSpec) -> [FieldError]
}

extension PodBackend {
    public var heldBytes: Int { 0 }
    public func admissionErrors(_ spec: PodSpec) -> [FieldError] { [] }

    /// Backends whose pods cannot outlive them refuse.
    public func detach(_ sandbox: SandboxID) throws(BackendError) {
        guard capabilities.contains(.detachedPods) else {
            throw BackendError(.unsupported, "detach", "the \(name) backend cannot keep a pod after its owner")
        }
    }
}

/// A backend that can say what it holds: what leak checks and the conformance suite read
/// (every count is 0 once every sandbox is removed and every process has ended).
public protocol InspectableBackend: PodBackend {
    /// What the backend holds right now.
    func inventory() -> BackendInventory
}

/// Optional abilities of a backend.
public struct BackendCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Time is virtual: it advances only when the owner waits.
    public static let virtualTime = BackendCapabilities(rawValue: 1 << 0)
    /// `shareProcessNamespace` is honoured.
    public static let sharedPIDNamespace = BackendCapabilities(rawValue: 1 << 1)
    /// `hostNetwork`, `hostPID` and `hostIPC` are honoured.
    public static let hostNamespaces = BackendCapabilities(rawValue: 1 << 2)
    /// Processes run in the host context outside any pod (`pod.exec`).
    public static let hostContext = BackendCapabilities(rawValue: 1 << 3)
    /// A pod may outlive its runtime (`detach`): the backend keeps it when released.
    public static let detachedPods = BackendCapabilities(rawValue: 1 << 4)
}

/// A backend's handle of a sandbox.
public struct SandboxID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "sandbox-\(rawValue)" }
}

/// A backend's handle of a process it started (not a pid: pids are reused, handles are not).
public struct ProcessID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "process-\(rawValue)" }
}

/// A created sandbox.
public struct SandboxInfo: Sendable, Equatable {
    public var id: SandboxID
    /// Host pid of the infra (pause) process.
    public var infraPid: Int
    public var infraProcess: ProcessID

    public init(id: SandboxID, infraPid: Int, infraProcess: ProcessID) {
        (self.id, self.infraPid, self.infraProcess) = (id, infraPid, infraProcess)
    }
}

/// A process to start.
public struct SpawnRequest: Sendable {
    public enum Context: Sendable {
        /// The main process of a container of the sandbox (new mount namespace; PID 1 of its own
        /// PID namespace unless the pod shares one).
        case container(SandboxID, ContainerRequest)
        /// A further process in the namespaces of a running container (`exec`).
        case exec(SandboxID, container: ProcessID)
        /// The host context, outside any pod.
        case host
    }

    public var context: Context
    public var argv: [String]
    public var env: [EnvVar]
    public var workingDir: String?
    /// Bytes for standard input (exec); nil reads as empty.
    public var stdin: String?

    public init(context: Context, argv: [String], env: [EnvVar] = [], workingDir: String? = nil, stdin: String? = nil) {
        (self.context, self.argv, self.env, self.workingDir, self.stdin) = (context, argv, env, workingDir, stdin)
    }
}

/// A started process.
public struct SpawnedProcess: Sendable, Equatable {
    public var id: ProcessID
    /// Host pid.
    public var pid: Int
    /// When it started, on the backend's clock.
    public var startedAt: Double

    public init(id: ProcessID, pid: Int, startedAt: Double) {
        (self.id, self.pid, self.startedAt) = (id, pid, startedAt)
    }
}

/// How a process ended.
public struct ProcessExit: Sendable, Equatable {
    /// The exit code, or 128 + the signal.
    public var exitCode: Int32
    /// The signal that killed it, if any.
    public var signal: Signal?
    /// Who sent that signal, when the backend knows ("pid 12 (kill)", "kernel").
    public var sender: String?
    /// Killed by the kernel for exceeding a memory limit.
    public var oomKilled: Bool
    /// The command could not be executed: why.
    public var startError: String?
    /// When it ended, on the backend's clock.
    public var time: Double
    /// For `infraExited`: the sandbox process that ended when it is not the pause (the port
    /// forwarder, whose host ports die with it).
    public var program: String?

    public init(
        exitCode: Int32, signal: Signal? = nil, sender: String? = nil, oomKilled: Bool = false,
        startError: String? = nil, time: Double, program: String? = nil
    ) {
        (self.exitCode, self.signal, self.sender, self.oomKilled, self.startError, self.time, self.program) =
            (exitCode, signal, sender, oomKilled, startError, time, program)
    }
}

/// Something the runtime must react to.
public enum BackendEvent: Sendable, Equatable {
    /// A process started with `spawn` ended (container main process, exec, host command).
    case processExited(ProcessID, ProcessExit)
    /// A process the sandbox needs ended: its infra (pause), or its port forwarder (the exit's
    /// `program` says which). Either way the sandbox is broken and is re-created.
    case infraExited(SandboxID, ProcessExit)
    /// The node evicts the pod, as kubelet's eviction manager does, `message` saying why in
    /// kubelet's words (`Usage of EmptyDir volume "cache" exceeds the limit "10Mi".`): its
    /// containers are killed, it fails with reason `Evicted`, and nothing restarts.
    case sandboxEvicted(SandboxID, message: String)
    /// A pull started with `ImageBackend.startPull` ended.
    case imagePulled(PullID, PullOutcome)

    /// kubelet's message for a pod evicted because an emptyDir holds more than its sizeLimit.
    public static func emptyDirEvictionMessage(volume: String, limit: Quantity) -> String {
        "Usage of EmptyDir volume \"\(volume)\" exceeds the limit \"\(limit.canonical)\"."
    }
}

/// Captured output of a process.
public struct ProcessOutput: Sendable, Equatable {
    public var stdout: String
    public var stderr: String
    /// stdout and stderr interleaved in the order written (a container's log).
    public var combined: String

    public init(stdout: String = "", stderr: String = "", combined: String = "") {
        (self.stdout, self.stderr, self.combined) = (stdout, stderr, combined)
    }
}

/// What a backend holds, for leak checks: every count is 0 once every sandbox is removed and
/// every process has ended.
public struct BackendInventory: Sendable, Equatable {
    public var sandboxes: Int
    /// Live processes the backend started (infra, containers, execs, host commands).
    public var processes: Int
    /// Namespaces held for pods (not the host's).
    public var namespaces: Int
    /// One line per held object, for a readable failure.
    public var details: [String]

    public init(sandboxes: Int, processes: Int, namespaces: Int, details: [String]) {
        (self.sandboxes, self.processes, self.namespaces, self.details) = (sandboxes, processes, namespaces, details)
    }

    /// Whether nothing is held.
    public var isEmpty: Bool { sandboxes == 0 && processes == 0 && namespaces == 0 }
}

/// A backend failure, with the operation and the reason: `spawn(nginx): no such sandbox`.
public struct BackendError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The backend cannot run here (not root, no namespaces...).
        public static let unavailable = Code(rawValue: "unavailable")
        public static let noSuchSandbox = Code(rawValue: "noSuchSandbox")
        /// The process has ended (ESRCH).
        public static let noSuchProcess = Code(rawValue: "noSuchProcess")
        /// The request is valid but this backend cannot honour it.
        public static let unsupported = Code(rawValue: "unsupported")
        /// A kernel resource ran out (EAGAIN, ENOMEM, a pids limit).
        public static let resourceExhausted = Code(rawValue: "resourceExhausted")
        /// A system call failed; the message names it.
        public static let system = Code(rawValue: "system")
        /// A failure injected by a test.
        public static let injected = Code(rawValue: "injected")
    }

    public var code: Code
    public var operation: String
    public var message: String
    /// The errno of the system call that failed, when one did (the message names the call and
    /// what it was called on: `mount(overlay, /run/.../merged): No such file or directory`).
    public var systemError: Int32?

    public init(_ code: Code, _ operation: String, _ message: String, systemError: Int32? = nil) {
        (self.code, self.operation, self.message, self.systemError) = (code, operation, message, systemError)
    }

    public var description: String { "\(operation): \(message)" }
}
