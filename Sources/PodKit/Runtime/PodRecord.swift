/// The runtime's bookkeeping of one pod: the spec, what has been observed, and what the
/// planner needs to decide (backoff, stop progress). Internal; `PodStatus` is its public face.
final class PodRecord {
    let spec: PodSpec
    /// Creation order, for deterministic iteration.
    let order: Int
    var phase: PodPhase = .pending
    var message: String?
    /// `status.reason` (`Evicted`).
    var reason: String?
    /// Why the node evicted it, once it did (the planner winds it down).
    var evicted: String?
    var sandbox: SandboxInfo?
    var infra: PodPlanner.View.Infra = .none
    var infraStopRequested = false
    @exclusivity(unchecked) var containers: [ContainerRecord]
    var stoppingSince: Double?
    var stopGrace: Int64
    var detached = false
    var removed = false
    var wakeup: Double?
    /// Queued for the planner.
    var isDirty = false

    /// The pod's uid, derived from its creation order.
    var uid: String { PodRuntime.uid(order) }

    init(spec: PodSpec, order: Int) {
        self.spec = spec
        self.order = order
        self.stopGrace = spec.terminationGracePeriodSeconds
        containers =
            spec.initContainers.map { ContainerRecord(name: $0.name, kind: $0.isSidecar ? .sidecar : .initContainer) }
            + spec.containers.map { ContainerRecord(name: $0.name, kind: .app) }
    }

    func index(of name: String) -> Int? { containers.firstIndex { $0.name == name } }

    /// The spec of the container at `index` (init containers first, then app containers).
    func containerSpec(_ index: Int) -> ContainerSpec {
        let inits = spec.initContainers.count
        return index < inits ? spec.initContainers[index] : spec.containers[index - inits]
    }

    /// The container whose current run is `process`.
    func index(of process: ProcessID) -> Int? { containers.firstIndex { $0.process == process } }

    var view: PodPlanner.View {
        PodPlanner.View(
            podName: spec.name, restartPolicy: spec.restartPolicy, gracePeriod: spec.terminationGracePeriodSeconds,
            phase: phase, infra: infra,
            containers: containers.map {
                PodPlanner.View.Container(
                    name: $0.name, kind: $0.kind, state: $0.status.state,
                    lastTermination: $0.status.history.last, started: $0.started,
                    completed: $0.completed, restartAt: $0.restartAt, backoffDelay: $0.backoffDelay,
                    termSent: $0.termSent, killSent: $0.killSent, pullingImage: $0.image?.pull != nil,
                    imageRetryAt: $0.image?.retryAt)
            },
            stoppingSince: stoppingSince, stopGrace: stopGrace, evicted: evicted)
    }

    var status: PodStatus {
        let infraStatus: InfraStatus
        switch infra {
        case .running: infraStatus = InfraStatus(state: "running", pid: sandbox?.infraPid)
        case .dead, .stopped: infraStatus = InfraStatus(state: "terminated", pid: nil)
        case .none: infraStatus = InfraStatus(state: "none", pid: nil)
        }
        return PodStatus(
            phase: phase, qosClass: spec.qosClass, hostname: spec.effectiveHostname, infra: infraStatus,
            containers: containers.filter { $0.kind == .app }.map(\.status),
            initContainers: containers.filter { $0.kind != .app }.map(\.status),
            message: message, reason: reason)
    }
}

/// The runtime's bookkeeping of one container (its spec stays in the pod's spec).
struct ContainerRecord {
    let name: String
    let kind: PodPlanner.View.Container.Kind
    var status: ContainerStatus
    /// The current run's process.
    var process: ProcessID?
    /// How many runs were started (the restart count is this minus one).
    var runCount = 0
    /// Logs of the last two finished runs, oldest first: what `logs` and `logs(previous:)`
    /// can ask for (kubelet keeps the previous run's log, no older one). A crash loop must not
    /// hold every run's log (up to 20 MiB each on linux).
    var finishedLogs: [String] = []
    static let keptFinishedLogs = 2
    var started = false
    var completed = false
    var restartAt: Double?
    /// The last backoff delay (nil before the first exit).
    var lastDelay: Double?
    var backoffDelay: Double = 0
    var termSent = false
    var killSent = false
    /// What the runtime did to the current run that explains a signal death.
    var pendingCause: TerminationCause?
    /// Where getting its image stands; made at its first start on a backend that keeps images
    /// (a box: the sim's many pods without images pay one pointer).
    var image: ImageProgress?
    /// What a graceful stop of the current run sends (the image's StopSignal, else SIGTERM).
    var stopSignal: Signal = .term

    init(name: String, kind: PodPlanner.View.Container.Kind) {
        self.name = name
        self.kind = kind
        let reason = kind == .app ? "PodInitializing" : "ContainerCreating"
        self.status = ContainerStatus(name: name, state: .waiting(reason: reason, message: nil))
    }
}

/// A container's image on its way: the pull its start waits for, the image a finished pull
/// brought (for the start that follows it), when to try again after a failure and the last
/// pull backoff delay.
final class ImageProgress {
    var pull: PullID?
    var pulled: ImageInfo?
    var retryAt: Double?
    var delay: Double?
}
