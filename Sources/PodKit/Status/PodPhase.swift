/// `status.phase`: where the pod is in its life.
public enum PodPhase: String, Sendable, Equatable, CaseIterable {
    /// Accepted; the sandbox, the init containers or the first start of the app containers are
    /// still under way.
    case pending = "Pending"
    /// The app containers have been started and at least one runs or will be restarted.
    case running = "Running"
    /// Every app container terminated with exit code 0 and none will be restarted.
    case succeeded = "Succeeded"
    /// Every app container terminated and at least one failed (or the pod could not go on).
    case failed = "Failed"

    /// Whether the phase is final.
    public var isTerminal: Bool { self == .succeeded || self == .failed }
}
