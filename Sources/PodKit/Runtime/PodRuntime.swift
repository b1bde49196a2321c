/// Runs pods on a backend and keeps them behaving as Kubernetes says pods behave: start order,
/// restart policies with kubelet's crash backoff, graceful stop, forced remove, infra death,
/// termination history, events.
///
/// The runtime is synchronous and confined to one thread (or actor) at a time. Supervision —
/// observing exits, restarting, backing off, stopping — happens inside its calls and while its
/// owner waits (`sleep`, `wait`, `stop`, `exec`); on the `sim` backend time is virtual and
/// moves only then. Pods belong to the runtime: `close()` (or releasing the runtime) removes
/// every pod not detached.
public final class PodRuntime {
    public private(set) var backend: any PodBackend
    /// The backend as an image store, when it is one (looked up once, not at every start).
    private(set) var imageStore: (any ImageBackend)?
    /// The backend's clock reading when the runtime started: `now` counts from here.
    private(set) var origin: Double
    /// Live pods, in creation order, and indexes over them.
    @exclusivity(unchecked) var pods: [PodRecord] = []
    @exclusivity(unchecked) var byName: [String: PodRecord] = [:]
    @exclusivity(unchecked) var byOrder: [Int: PodRecord] = [:]
    /// The pod each container process and sandbox belongs to.
    @exclusivity(unchecked) var owners: [ProcessID: PodRecord] = [:]
    @exclusivity(unchecked) var sandboxOwners: [SandboxID: PodRecord] = [:]
    /// Host ports published by live pods ("80/TCP") and who publishes them.
    var publishedPorts: [String: String] = [:]
    /// Pods whose planner must run: something happened to them since it last ran.
    @exclusivity(unchecked) var dirty: [PodRecord] = []
    /// Pods whose planner asked to run again at a time (backoff, grace period).
    @exclusivity(unchecked) var scheduled: [ObjectIdentifier: PodRecord] = [:]
    var nextOrder = 0
    /// Every event of every pod, in order (messages are built when read).
    @exclusivity(unchecked) var eventLog: [EventRecord] = []
    /// Every event of every pod, in order.
    public var events: [PodEvent] { eventLog.flatMap { $0.events(backend: backend.name) } }
    /// The events logged since `position`, which this call moves to the end of the log: how a
    /// follower (`podsh play`) reads each event once without rebuilding the whole list.
    public func newEvents(since position: inout Int) -> [PodEvent] {
        guard position < eventLog.count else { return [] }
        let fresh = eventLog[max(0, position)...].flatMap { $0.events(backend: backend.name) }
        position = eventLog.count
        return fresh
    }
    var streams: [Int: AsyncStream<PodEvent>.Continuation] = [:]
    var nextStream = 0
    /// Exec and host-context processes, and their exits once seen.
    enum Command {
        case running
        case exited(ProcessExit)
    }
    @exclusivity(unchecked) var commands: [ProcessID: Command] = [:]
    /// Pulls under way, by id and by the reference they fetch (one pull serves every container
    /// that needs it meanwhile), and the outcomes a `pullImage` caller waits for.
    @exclusivity(unchecked) var pulls: [PullID: PullState] = [:]
    var pullsByReference: [String: PullID] = [:]
    var pullOutcomes: [PullID: PullOutcome] = [:]
    /// The Secrets pods name (`imagePullSecrets`) when their manifest did not bring them: what
    /// `pod.secret{...}` creates, by name.
    public var secrets: [String: Secret] = [:]
    var closed = false
    /// Asked while the runtime waits (`sleep`, `wait`, `exec`, `stop`): true ends the wait early,
    /// as if it timed out (podsh's Ctrl-C on the linux backend, whose waits take real time).
    public var interruption: (() -> Bool)?
    /// Called with the spec of every pod created (podsh kube collects manifests with it).
    public var onCreate: ((PodSpec) -> Void)?

    /// A runtime on `backend` (the simulated kernel by default).
    public init(backend: any PodBackend) {
        self.backend = backend
        self.imageStore = backend as? any ImageBackend
        self.origin = backend.now
    }

    deinit { close() }

    /// Switches to another backend (`pod.use`). Pods belong to the backend that runs them, so
    /// this is refused while any pod or command is live. `now` goes on from where it was.
    public func use(_ newBackend: any PodBackend) throws(RuntimeError) {
        try ensureOpen()
        let live = pods.filter { !$0.removed }
        guard live.isEmpty, commands.isEmpty else {
            throw .unsupported(
                "pods exist on the \(backend.name) backend (\(live.map(\.spec.name).joined(separator: ", "))): remove them before switching"
            )
        }
        let current = now
        backend = newBackend
        imageStore = newBackend as? any ImageBackend
        origin = newBackend.now - current
    }

    /// Seconds since the runtime started, on the backend's clock (virtual on sim).
    public var now: Double { backend.now - origin }

    // MARK: Pods

    /// Validates and admits `spec`, and creates its sandbox; containers are not started.
    /// Throws `.invalid` with every field error (spec validation and admission together).
    @discardableResult
    public func create(_ spec: PodSpec) throws(RuntimeError) -> Pod {
        try ensureOpen()
        supervise()
        // A spec is validated once: one the decoders or `validated()` checked is not checked again.
        var errors = spec.isValidated ? [] : spec.validate()
        errors += admissionErrors(spec)
        if errors.isEmpty { errors += backend.admissionErrors(spec) }
        guard errors.isEmpty else { throw .invalid(ValidationError(errors)) }
        nextOrder += 1
        let record = PodRecord(spec: spec, order: nextOrder)
        do {
            try execute(PodPlanner.Action(.createSandbox, "pod created"), record)
        } catch {
            undo(record)
            throw error
        }
        register(record)
        emit(record, .scheduled, nil)
        onCreate?(spec)
        return Pod(runtime: self, name: spec.name, order: record.order)
    }

    /// Creates and starts a pod; returns without waiting for it to be Running. When a backend
    /// step fails, everything created so far is removed again before the error is thrown.
    @discardableResult
    public func run(_ spec: PodSpec) throws(RuntimeError) -> Pod {
        let pod = try create(spec)
        try start(pod.name)
        return pod
    }

    /// Starts the containers of a created pod (init containers first, then the app containers).
    public func start(_ name: String) throws(RuntimeError) {
        try start(try live(name))
    }

    func start(_ record: PodRecord) throws(RuntimeError) {
        try ensureOpen()
        do {
            try advance(record, strict: true)
        } catch {
            undo(record)
            unregister(record)
            throw error
        }
        supervise()
    }

    /// The pod named `name`, if this runtime has it.
    public func pod(named name: String) -> Pod? {
        supervise()
        return byName[name].map { Pod(runtime: self, name: $0.spec.name, order: $0.order) }
    }

    /// Every pod of this runtime, in creation order.
    public func list() -> [Pod] {
        supervise()
        return pods.map { Pod(runtime: self, name: $0.spec.name, order: $0.order) }
    }

    /// The spec a pod was created from.
    public func spec(of name: String) throws(RuntimeError) -> PodSpec {
        try record(name).spec
    }

    /// The pod's current status.
    public func status(of name: String) throws(RuntimeError) -> PodStatus {
        let record = try record(name)
        supervise()
        return record.status
    }

    /// The events of one pod.
    public func events(of name: String) throws(RuntimeError) -> [PodEvent] {
        _ = try record(name)
        supervise()
        return eventLog.filter { $0.pod == name }.flatMap { $0.events(backend: backend.name) }
    }

    /// Sends `signal` to a running container. A container killed this way counts as a crash
    /// for the restart policy.
    public func kill(_ name: String, container: String, signal: Signal = .kill) throws(RuntimeError) {
        let record = try live(name)
        supervise()
        let index = try containerIndex(record, container)
        guard let process = record.containers[index].process, record.containers[index].status.state.isRunning else {
            throw .containerNotRunning(pod: name, container: container, state: describe(record.containers[index].status.state))
        }
        do {
            try backend.signal(process, signal)
        } catch {
            throw .backend(error)
        }
        record.containers[index].pendingCause = .signaled(signal, sender: "kill()")
        markDirty(record)
        supervise()
    }

    /// Stops the pod gracefully: SIGTERM to every container (sidecars after the app
    /// containers, in reverse order), SIGKILL to what is left after the grace period. Returns
    /// when every container has terminated. The pod is not restarted afterwards.
    public func stop(_ name: String, gracePeriod: Int64? = nil) throws(RuntimeError) {
        try stop(try live(name), gracePeriod: gracePeriod)
    }

    func stop(_ record: PodRecord, gracePeriod: Int64?) throws(RuntimeError) {
        try ensureOpen()
        supervise()
        if record.stoppingSince == nil {
            record.stoppingSince = now
            record.stopGrace = max(0, gracePeriod ?? record.spec.terminationGracePeriodSeconds)
            markDirty(record)
        }
        _ = waitLoop(deadline: .infinity) {
            record.removed
                || !record.containers.contains { $0.status.state.isRunning } && record.infra != .running
                    && record.phase.isTerminal
        }
    }

    /// Removes the pod: kills what still runs at once and frees everything. Idempotent.
    public func remove(_ name: String) throws(RuntimeError) {
        guard let record = byName[name] else { return }
        remove(record)
    }

    func remove(_ record: PodRecord) {
        guard !record.removed else { return }
        supervise()
        for index in record.containers.indices where record.containers[index].status.state.isRunning {
            record.containers[index].pendingCause = .signaled(.kill, sender: "remove()")
            emit(record, .killing, record.containers[index].name)
        }
        let sandbox = record.sandbox
        undo(record)
        unregister(record)
        if let sandbox {
            finalizeRemoved(record, sandbox: sandbox)
        }
    }

    /// Keeps the pod after this runtime ends, unsupervised: restart policies no longer apply.
    public func detach(_ name: String) throws(RuntimeError) {
        let record = try live(name)
        guard backend.capabilities.contains(.detachedPods) else {
            throw .unsupported("the \(backend.name) backend cannot keep a pod after its owner")
        }
        supervise()
        if let sandbox = record.sandbox {
            do { try backend.detach(sandbox.id) } catch { throw .backend(error) }
        }
        record.detached = true
        scheduled[ObjectIdentifier(record)] = nil
    }

    /// Runs `argv` in a running container, waits for it (supervising the pods meanwhile) and
    /// returns its exit code and output. Throws `.containerNotRunning` for a container that is
    /// not running and `.timeout` when `timeout` (seconds) passes first.
    public func exec(
        _ name: String, container: String, _ argv: [String], stdin: String? = nil,
        env: [EnvVar] = [], timeout: Double = 30
    ) throws(RuntimeError) -> ExecResult {
        let record = try live(name)
        supervise()
        let index = try containerIndex(record, container)
        let c = record.containers[index]
        guard let sandbox = record.sandbox, let process = c.process, c.status.state.isRunning else {
            throw .containerNotRunning(pod: name, container: container, state: describe(c.status.state))
        }
        return try runCommand(
            SpawnRequest(
                context: .exec(sandbox.id, container: process), argv: argv,
                env: record.containerSpec(index).env + env,
                workingDir: record.containerSpec(index).workingDir, stdin: stdin),
            timeout: timeout)
    }

    /// Runs `argv` in the host context (outside every pod), supervising the pods meanwhile.
    public func execOnHost(
        _ argv: [String], stdin: String? = nil, env: [EnvVar] = [], timeout: Double = 30
    ) throws(RuntimeError) -> ExecResult {
        try ensureOpen()
        guard backend.capabilities.contains(.hostContext) else {
            throw .unsupported("the \(backend.name) backend has no host context")
        }
        return try runCommand(SpawnRequest(context: .host, argv: argv, env: env, stdin: stdin), timeout: timeout)
    }

    /// What a container wrote (stdout and stderr interleaved) in its current or last run, or
    /// with `previous`, in the run before.
    public func logs(_ name: String, container: String, previous: Bool = false) throws(RuntimeError) -> String {
        let record = try record(name)
        supervise()
        let c = record.containers[try containerIndex(record, container)]
        if previous {
            let finished = c.finishedLogs
            if c.process != nil { return finished.last ?? "" }
            return finished.count >= 2 ? finished[finished.count - 2] : ""
        }
        if let process = c.process { return backend.output(of: process).combined }
        return c.finishedLogs.last ?? ""
    }

}
