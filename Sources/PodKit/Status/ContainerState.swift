/// A container's state (`v1.ContainerState`): exactly one of waiting, running, terminated.
public enum ContainerState: Sendable, Equatable {
    /// Not running yet or between runs: `ContainerCreating`, `PodInitializing`,
    /// `CrashLoopBackOff`...
    case waiting(reason: String, message: String?)
    /// Running since `startedAt`, as host pid `pid`.
    case running(startedAt: Double, pid: Int)
    /// Ended; see `Termination`. (Stored out of line: a running container's state stays small.)
    indirect case terminated(Termination)

    /// "waiting", "running" or "terminated".
    public var name: String {
        switch self {
        case .waiting: return "waiting"
        case .running: return "running"
        case .terminated: return "terminated"
        }
    }

    /// Whether the container's process is running.
    public var isRunning: Bool {
        if case .running = self { return true }
        return false
    }

    /// The termination, when terminated.
    public var termination: Termination? {
        if case .terminated(let termination) = self { return termination }
        return nil
    }
}

/// How one run of a container ended, with the cause attributed.
public struct Termination: Sendable, Equatable {
    /// `reason` as Kubernetes reports it.
    public enum Reason: String, Sendable, Equatable {
        /// Exit code 0.
        case completed = "Completed"
        /// Any other exit, or a signal.
        case error = "Error"
        /// Killed by the kernel for exceeding its memory limit.
        case oomKilled = "OOMKilled"
        /// The command could not be executed (exit code 127).
        case startError = "StartError"
    }

    /// The exit code: the process's own, or 128 + the signal that killed it.
    public var exitCode: Int32
    /// The signal that killed the process, if one did.
    public var signal: Int32?
    public var reason: Reason
    /// What ended the run, and who.
    public var cause: TerminationCause
    public var startedAt: Double
    public var finishedAt: Double
    /// A human-readable detail (the start error, the exit reason).
    public var message: String?

    public init(
        exitCode: Int32, signal: Int32?, reason: Reason, cause: TerminationCause,
        startedAt: Double, finishedAt: Double, message: String? = nil
    ) {
        (self.exitCode, self.signal, self.reason, self.cause, self.startedAt, self.finishedAt, self.message) =
            (exitCode, signal, reason, cause, startedAt, finishedAt, message)
    }
}

/// Why a container run ended.
public enum TerminationCause: Sendable, Equatable, CustomStringConvertible {
    /// The program exited by itself with this code.
    case exited(Int32)
    /// A signal killed it; `sender` says who sent it ("kill()", "pid 12 (kill)").
    case signaled(Signal, sender: String)
    /// The kernel killed it for exceeding its memory limit.
    case oomKilled
    /// The graceful stop's grace period ran out and it was killed with SIGKILL.
    case gracePeriodExpired(seconds: Int64)
    /// The pod's infra (pause) process died, which took the container down.
    case infraDeath
    /// The command could not be executed.
    case startFailure(String)
    /// The node evicted the pod (the message says why) and killed its containers.
    case evicted(String)

    public var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal, let sender): return "killed by \(signal) from \(sender)"
        case .oomKilled: return "killed by the kernel: memory limit exceeded"
        case .gracePeriodExpired(let seconds): return "killed by SIGKILL after the grace period of \(seconds) s"
        case .infraDeath: return "killed because the pod's infra container died"
        case .startFailure(let message): return "could not start: \(message)"
        case .evicted(let message): return "killed because the pod was evicted: \(message)"
        }
    }
}
