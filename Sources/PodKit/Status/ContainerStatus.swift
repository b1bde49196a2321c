/// What is known of one container: its state, restarts and every past termination.
public struct ContainerStatus: Sendable, Equatable {
    public var name: String
    public var state: ContainerState
    /// How many times the container was started again after a termination.
    public var restartCount: Int
    /// Every termination, oldest first (`lastState` is the last one).
    public var history: [Termination]

    public init(name: String, state: ContainerState, restartCount: Int = 0, history: [Termination] = []) {
        (self.name, self.state, self.restartCount, self.history) = (name, state, restartCount, history)
    }

    /// The previous termination (`lastState.terminated`).
    public var lastTermination: Termination? { history.last }
}

/// The pod infra (pause) process.
public struct InfraStatus: Sendable, Equatable {
    /// "running", "terminated" or "none" (no sandbox).
    public var state: String
    /// Host pid of the pause process, while there is one.
    public var pid: Int?
}

/// Observed state of a pod (`v1.PodStatus` and more).
public struct PodStatus: Sendable, Equatable {
    public var phase: PodPhase
    public var qosClass: QOSClass
    public var hostname: String
    public var infra: InfraStatus
    /// App containers, in spec order.
    public var containers: [ContainerStatus]
    /// Init containers (sidecars included), in spec order.
    public var initContainers: [ContainerStatus]
    /// Why the pod ended, when it ended for a reason of its own (infra death under Never, a
    /// failed init container, an eviction).
    public var message: String?
    /// Kubernetes' `status.reason`, a word for that: `Evicted` when the node evicted the pod
    /// (kubelet's eviction manager: a disk emptyDir over its sizeLimit).
    public var reason: String? = nil

    /// The container named `name`, app or init.
    public func container(_ name: String) -> ContainerStatus? {
        containers.first { $0.name == name } ?? initContainers.first { $0.name == name }
    }
}
