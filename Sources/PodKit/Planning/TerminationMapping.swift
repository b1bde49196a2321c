/// How a process's end becomes a container's `Termination`, as a pure function: the reason
/// Kubernetes reports (Completed, Error, OOMKilled, StartError) and the attributed cause — a
/// cause the runtime recorded before (its own SIGTERM, the grace period's SIGKILL, the infra's
/// death) when it explains the signal, else the signal and its sender, or the exit code.
public enum TerminationMapping {
    /// The termination of a run that started at `startedAt` and ended with `exit` at
    /// `finishedAt` (runtime clock), `pending` being what the runtime expected to end it.
    public static func termination(
        of exit: ProcessExit, pending: TerminationCause?, startedAt: Double,
        finishedAt: Double
    ) -> Termination {
        let reason: Termination.Reason
        let cause: TerminationCause
        if let startError = exit.startError {
            reason = .startError
            cause = .startFailure(startError)
        } else if exit.oomKilled {
            reason = .oomKilled
            cause = .oomKilled
        } else if let signal = exit.signal {
            reason = .error
            if let pending, explains(pending, signal) {
                cause = pending
            } else {
                cause = .signaled(signal, sender: exit.sender ?? "an unknown sender")
            }
        } else {
            reason = exit.exitCode == 0 ? .completed : .error
            cause = .exited(exit.exitCode)
        }
        return Termination(
            exitCode: exit.exitCode, signal: exit.signal?.number, reason: reason, cause: cause,
            startedAt: startedAt, finishedAt: finishedAt, message: exit.startError)
    }

    /// Whether a cause the runtime recorded explains a death by `signal`.
    public static func explains(_ cause: TerminationCause, _ signal: Signal) -> Bool {
        switch cause {
        case .signaled(let sent, _): return sent == signal
        case .gracePeriodExpired, .infraDeath, .evicted: return signal == .kill
        default: return false
        }
    }
}
