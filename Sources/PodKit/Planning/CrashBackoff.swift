/// kubelet's crash backoff, as a pure function: the first restart at once, then 10 s doubling
/// up to 300 s between a container's exit and its next start; a run of 10 minutes or more
/// resets it.
public enum CrashBackoff {
    /// The longest wait between restarts.
    public static let maximum: Double = 300
    /// The first wait after an immediate restart.
    public static let initial: Double = 10
    /// A run at least this long resets the backoff.
    public static let reset: Double = 600

    /// The wait before the next start of a container that ran for `ranFor` seconds, given the
    /// wait before its previous start (nil: it has not been restarted yet).
    public static func delay(ranFor: Double, previous: Double?) -> Double {
        if ranFor >= reset { return 0 }
        guard let previous else { return 0 }
        return previous == 0 ? initial : min(previous * 2, maximum)
    }
}
