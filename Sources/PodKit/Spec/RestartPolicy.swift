/// `spec.restartPolicy`: what happens to a container of the pod when it exits.
public enum RestartPolicy: String, Sendable, Equatable, CaseIterable {
    /// Restart whatever the exit code (the default).
    case always = "Always"
    /// Restart only after a non-zero exit.
    case onFailure = "OnFailure"
    /// Never restart.
    case never = "Never"
}

/// `restartPolicy` of a single container: only `Always`, and only on init containers, where it
/// makes the container a sidecar.
public enum ContainerRestartPolicy: String, Sendable, Equatable, CaseIterable {
    /// The init container keeps running beside the app containers.
    case always = "Always"
}
