/// How a simulated process ended.
public enum SimExitStatus: Sendable, Equatable {
    case exited(Int32)
    case signaled(Signal)

    /// The status as a shell reports it: the code, or 128 + signal.
    public var code: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return signal.exitCode
        }
    }
}

/// What a program asks the kernel to do next. A program runs until it returns a step that
/// blocks (or exits); the continuation runs when the block ends.
public enum SimStep {
    /// Exit with this code.
    case exit(Int32)
    /// Sleep this many (virtual) seconds, then continue.
    case sleep(Double, then: (SimContext) -> SimStep)
    /// Block until a signal ends the process (`pause()`).
    case waitForever
    /// Wait for the child with this pid (as the caller sees it), or any child when nil, then
    /// continue with its status (nil: no such child, ECHILD).
    case waitChild(Int?, then: (SimContext, SimExitStatus?) -> SimStep)
}

/// A program of the simulated kernel: called when the process starts.
public typealias SimProgram = (SimContext) -> SimStep

/// Output of a process (or a container run): stdout, stderr and both as written.
public final class SimOutput {
    public private(set) var stdout = ""
    public private(set) var stderr = ""
    public private(set) var combined = ""

    public init() {}

    func write(_ text: String, error: Bool) {
        if error { stderr += text } else { stdout += text }
        combined += text
    }

    var snapshot: ProcessOutput { ProcessOutput(stdout: stdout, stderr: stderr, combined: combined) }
}

/// A process of the simulated kernel.
final class SimProcess {
    enum State: Equatable {
        case running
        case sleeping
        case waiting
        case waitingChild(Int?)
        case zombie
    }

    let hostPid: Int
    let argv: [String]
    let env: [EnvVar]
    let cwd: String
    let namespaces: [NamespaceKind: SimNamespace]
    /// (PID namespace, pid in it), from the host's outwards.
    let pids: [(namespace: SimNamespace, pid: Int)]
    var parentPid: Int
    var children: Set<Int> = []
    var state: State = .running
    /// Bumped whenever the current block is abandoned, so stale timers do nothing.
    var token = 0
    var handlers: [Int32: (SimContext) -> SimStep?] = [:]
    /// Reaps exited children at once (a SIGCHLD handler with a waitpid loop, as pause has).
    var reapsChildren = false
    var childContinuation: ((SimContext, SimExitStatus?) -> SimStep)?
    var exitStatus: SimExitStatus?
    var exitSender: String?
    var startError: String?
    let startedAt: Int64
    var finishedAt: Int64?
    let output: SimOutput
    let stdin: String

    init(hostPid: Int, argv: [String], env: [EnvVar], cwd: String, namespaces: [NamespaceKind: SimNamespace],
         pids: [(SimNamespace, Int)], parentPid: Int, startedAt: Int64, output: SimOutput, stdin: String) {
        self.hostPid = hostPid
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.namespaces = namespaces
        self.pids = pids.map { (namespace: $0.0, pid: $0.1) }
        self.parentPid = parentPid
        self.startedAt = startedAt
        self.output = output
        self.stdin = stdin
    }

    var isAlive: Bool { state != .zombie }
    /// The innermost PID namespace.
    var pidNamespace: SimNamespace { pids[pids.count - 1].namespace }
    /// Whether this is PID 1 of its innermost PID namespace.
    var isNamespaceInit: Bool { pidNamespace.initHostPid == hostPid }

    /// The pid as seen from inside `namespace`, or nil when not visible there.
    func pid(in namespace: SimNamespace) -> Int? {
        pids.first { $0.namespace === namespace }?.pid
    }

    /// The command line as `ps` shows it.
    var commandLine: String { argv.joined(separator: " ") }
}
