import PodKit

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
/// blocks (or ends); the continuation runs when the block ends.
public enum SimStep {
    /// Exit the process with this code.
    case exit(Int32)
    /// Sleep this many (virtual) seconds, then continue.
    case sleep(Double, then: (SimContext) -> SimStep)
    /// Block until a signal ends the process (`pause()`); in a request handler, never answer.
    case waitForever
    /// Wait for the child with this pid (as the caller sees it), or any child when nil, then
    /// continue with its status (nil: no such child, ECHILD).
    case waitChild(Int?, then: (SimContext, SimExitStatus?) -> SimStep)
    /// Send an HTTP request and continue with the response or the error.
    case fetch(String, SimHTTPRequest, then: (SimContext, Result<SimHTTPResponse, SimNetError>) -> SimStep)
    /// Answer the request this handler thread serves, and end the thread. (In a process's main
    /// thread there is no request: the process exits with 1.)
    case respond(SimHTTPResponse)
    /// Replace the program (execve): same process, pid and output; new argv and environment,
    /// signal handlers back to their defaults. (A shell's last command is run this way.)
    case exec([String], env: [EnvVar])
}

/// A program of the simulated kernel: called when the process starts.
public typealias SimProgram = (SimContext) -> SimStep

/// Where a process's output goes: a buffer (a container's log, an exec's capture) or a file
/// (shell redirection).
public final class SimOutput {
    public private(set) var stdout = ""
    public private(set) var stderr = ""
    public private(set) var combined = ""
    /// When set, stdout (or stderr) goes to this writer instead (a redirection). The writer gets
    /// the writing process, which is the one charged for the bytes and told of errors.
    var fileWriter: ((SimContext, String) -> SimErrno?)?
    var errorWriter: ((SimContext, String) -> SimErrno?)?

    /// Drops everything written (for processes whose output nobody reads).
    let discarding: Bool

    /// What the kernel's memory ledger is told of the bytes kept here (set when the kernel
    /// starts the process that writes here).
    var ledger: SimLedger? {
        didSet {
            oldValue?.bytes -= keptBytes
            ledger?.bytes += keptBytes
        }
    }
    private var stdoutBytes = 0, stderrBytes = 0, combinedBytes = 0
    private var keptBytes: Int { stdoutBytes + stderrBytes + combinedBytes }

    /// kubelet's `containerLogMaxSize`: past it the log is rotated. What is kept is the current
    /// file and the one rotated before it, so a stream holds at most twice this, and `logs`
    /// reads across the last rotation.
    public static let logRotationBytes = 10 << 20

    public init() { discarding = false }

    init(discarding: Bool) { self.discarding = discarding }

    deinit { ledger?.bytes -= keptBytes }

    @discardableResult
    func write(_ text: String, error: Bool, from writer: SimContext? = nil) -> SimErrno? {
        if let writer {
            if error, let errorWriter { return errorWriter(writer, text) }
            if !error, let fileWriter { return fileWriter(writer, text) }
        }
        if discarding { return nil }
        let count = text.utf8.count
        if error {
            Self.append(text, count, to: &stderr, &stderrBytes, ledger)
        } else {
            Self.append(text, count, to: &stdout, &stdoutBytes, ledger)
        }
        Self.append(text, count, to: &combined, &combinedBytes, ledger)
        return nil
    }

    /// Appends, then rotates when the stream is past twice the rotation size: the older file
    /// goes, at a line boundary (a line longer than the whole file is cut).
    private static func append(_ text: String, _ count: Int, to stream: inout String, _ bytes: inout Int, _ ledger: SimLedger?) {
        stream += text
        bytes += count
        ledger?.bytes += count
        guard bytes > 2 * logRotationBytes else { return }
        let utf8 = stream.utf8
        var cut = utf8.index(utf8.startIndex, offsetBy: bytes - logRotationBytes)
        if let newline = utf8[cut...].firstIndex(of: UInt8(ascii: "\n")) { cut = utf8.index(after: newline) }
        let kept = String(decoding: utf8[cut...], as: UTF8.self)
        let keptCount = kept.utf8.count
        ledger?.bytes -= bytes - keptCount
        (stream, bytes) = (kept, keptCount)
    }

    var snapshot: ProcessOutput { ProcessOutput(stdout: stdout, stderr: stderr, combined: combined) }
}

/// How a process ended, beyond its status.
final class SimExitDetail {
    /// Who sent the signal that ended it.
    var sender: String?
    var oomKilled = false
    /// Why the command could not be executed.
    let startError: String?

    init(startError: String?) { self.startError = startError }
}

/// A thread serving one request on a listening socket. (The main thread's state lives in its
/// process, so a process that serves nothing allocates no thread.)
final class SimThread {
    /// Bumped whenever the current block is abandoned, so stale timers do nothing.
    var token = 0
    var childWait: SimChildWait?
    /// Where the response goes.
    var reply: ((Result<SimHTTPResponse, SimNetError>) -> Void)?

    init() {}
}

/// A thread blocked in `waitChild`.
struct SimChildWait {
    let wanted: Int?
    let next: (SimContext, SimExitStatus?) -> SimStep
}

/// A process of the simulated kernel.
final class SimProcess {
    let hostPid: Int
    /// Replaced by `exec`.
    var argv: [String]
    var env: [EnvVar]
    var cwd: String
    let namespaces: SimNamespaces
    /// The pid in the pod's PID namespace, when the process is not in the host's.
    let innerPid: Int?
    var parentPid: Int
    @exclusivity(unchecked) var children: Set<Int> = []
    var isAlive = true
    /// The main thread's token (see `SimThread.token`) and wait.
    var mainToken = 0
    var mainChildWait: SimChildWait?
    /// Request threads waiting for an answer.
    @exclusivity(unchecked) var requestThreads: [SimThread] = []
    /// Signal handlers, by signal number.
    @exclusivity(unchecked) var handlers: [(signal: Int32, handler: (SimContext) -> SimStep?)] = []
    /// Reaps exited children at once (a SIGCHLD handler with a waitpid loop, as pause has).
    var reapsChildren = false
    var exitStatus: SimExitStatus?
    /// Who ended it, OOM, start error: only for processes that have such a story.
    var exitDetail: SimExitDetail?
    /// The backend's handle of this process (0: none).
    var backendID = 0
    /// Credentials (`id`, file permissions, capabilities): a container's come from its
    /// image's User and its security context; children inherit them.
    var credentials = SimCredentials.root
    var uid: Int { credentials.uid }
    var gid: Int { credentials.gid }
    /// Run when the process exits (a program's host resources, such as a Lua coroutine).
    var atExit: [() -> Void]?
    let startedAt: Int64
    let output: SimOutput
    let stdin: String
    /// The memory cgroup charged for this process.
    let cgroup: SimCgroup?
    /// Bytes this process allocated (charged to its cgroup until it exits).
    var memory: Int64 = 0

    init(
        hostPid: Int, argv: [String], env: [EnvVar], cwd: String, namespaces: SimNamespaces,
        innerPid: Int?, parentPid: Int, startedAt: Int64, output: SimOutput, stdin: String, cgroup: SimCgroup?
    ) {
        self.hostPid = hostPid
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.namespaces = namespaces
        self.innerPid = innerPid
        self.parentPid = parentPid
        self.startedAt = startedAt
        self.output = output
        self.stdin = stdin
        self.cgroup = cgroup
    }

    /// The innermost PID namespace.
    var pidNamespace: SimPIDNamespace { namespaces.pid }
    /// Whether this is PID 1 of its innermost PID namespace.
    var isNamespaceInit: Bool { pidNamespace.initHostPid == hostPid }

    /// (PID namespace, pid in it), from the host's outwards. The sim nests PID namespaces one
    /// level deep: the host's, and a pod's (or a container's).
    var pids: [(namespace: SimPIDNamespace, pid: Int)] {
        guard let innerPid, let outer = namespaces.pid.parent else { return [(namespaces.pid, hostPid)] }
        return [(outer, hostPid), (namespaces.pid, innerPid)]
    }

    /// The pid as the process sees itself.
    var ownPid: Int { innerPid ?? hostPid }

    /// The pid as seen from inside `namespace`, or nil when not visible there.
    func pid(in namespace: SimPIDNamespace) -> Int? {
        if namespace === namespaces.pid { return ownPid }
        if innerPid != nil && namespace === namespaces.pid.parent { return hostPid }
        return nil
    }

    func handler(for signal: Signal) -> ((SimContext) -> SimStep?)? {
        handlers.first { $0.signal == signal.number }?.handler
    }

    /// The token of a thread (nil: the main thread).
    func token(_ thread: SimThread?) -> Int { thread?.token ?? mainToken }

    /// Abandons what a thread was blocked in; returns the new token.
    @discardableResult
    func bump(_ thread: SimThread?) -> Int {
        if let thread {
            thread.token += 1
            return thread.token
        }
        mainToken += 1
        return mainToken
    }

    /// The command line as `ps` shows it.
    var commandLine: String { argv.joined(separator: " ") }

    /// The program name: the last path component of argv[0].
    var programName: String {
        guard let first = argv.first else { return "" }
        guard let slash = first.utf8.lastIndex(of: UInt8(ascii: "/")) else { return first }
        return String(first[first.utf8.index(after: slash)...])
    }

    var fileSystem: SimFileSystem { SimFileSystem(namespace: namespaces.mnt, cwd: cwd, credentials: credentials) }
}

/// The bytes of the owner's memory a simulated kernel holds for what it was asked: file
/// contents and the output processes keep (what `SimBackend.heldBytes` reports, and a sandboxed
/// script is charged for).
final class SimLedger {
    var bytes = 0
}
