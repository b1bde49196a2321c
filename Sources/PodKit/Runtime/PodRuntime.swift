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
    /// The backend's clock reading when the runtime started: `now` counts from here.
    private(set) var origin: Double
    /// Live pods, in creation order, and indexes over them.
    @exclusivity(unchecked) var pods: [PodRecord] = []
    @exclusivity(unchecked) private var byName: [String: PodRecord] = [:]
    @exclusivity(unchecked) private var byOrder: [Int: PodRecord] = [:]
    /// The pod each container process and sandbox belongs to.
    @exclusivity(unchecked) private var owners: [ProcessID: PodRecord] = [:]
    @exclusivity(unchecked) private var sandboxOwners: [SandboxID: PodRecord] = [:]
    /// Host ports published by live pods ("80/TCP") and who publishes them.
    private var publishedPorts: [String: String] = [:]
    /// Pods whose planner must run: something happened to them since it last ran.
    @exclusivity(unchecked) private var dirty: [PodRecord] = []
    /// Pods whose planner asked to run again at a time (backoff, grace period).
    @exclusivity(unchecked) private var scheduled: [ObjectIdentifier: PodRecord] = [:]
    private var nextOrder = 0
    /// Every event of every pod, in order (messages are built when read).
    @exclusivity(unchecked) private var eventLog: [EventRecord] = []
    /// Every event of every pod, in order.
    public var events: [PodEvent] { eventLog.flatMap { $0.events(backend: backend.name) } }
    private var streams: [Int: AsyncStream<PodEvent>.Continuation] = [:]
    private var nextStream = 0
    /// Exec and host-context processes, and their exits once seen.
    private enum Command {
        case running
        case exited(ProcessExit)
    }
    @exclusivity(unchecked) private var commands: [ProcessID: Command] = [:]
    private var closed = false
    /// Asked while the runtime waits (`sleep`, `wait`, `exec`, `stop`): true ends the wait early,
    /// as if it timed out (podsh's Ctrl-C on the linux backend, whose waits take real time).
    public var interruption: (() -> Bool)?
    /// Called with the spec of every pod created (podsh kube collects manifests with it).
    public var onCreate: ((PodSpec) -> Void)?

    /// A runtime on `backend` (the simulated kernel by default).
    public init(backend: any PodBackend) {
        self.backend = backend
        self.origin = backend.now
    }

    deinit { close() }

    /// Switches to another backend (`pod.use`). Pods belong to the backend that runs them, so
    /// this is refused while any pod or command is live. `now` goes on from where it was.
    public func use(_ newBackend: any PodBackend) throws(RuntimeError) {
        try ensureOpen()
        let live = pods.filter { !$0.removed }
        guard live.isEmpty, commands.isEmpty else {
            throw .unsupported("pods exist on the \(backend.name) backend (\(live.map(\.spec.name).joined(separator: ", "))): remove them before switching")
        }
        let current = now
        backend = newBackend
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
        var errors = spec.validate()
        errors += admissionErrors(spec)
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
            record.removed || !record.containers.contains { $0.status.state.isRunning } && record.infra != .running
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
    public func exec(_ name: String, container: String, _ argv: [String], stdin: String? = nil,
                     env: [EnvVar] = [], timeout: Double = 30) throws(RuntimeError) -> ExecResult {
        let record = try live(name)
        supervise()
        let index = try containerIndex(record, container)
        let c = record.containers[index]
        guard let sandbox = record.sandbox, let process = c.process, c.status.state.isRunning else {
            throw .containerNotRunning(pod: name, container: container, state: describe(c.status.state))
        }
        return try runCommand(SpawnRequest(context: .exec(sandbox.id, container: process), argv: argv,
                                           env: record.containerSpec(index).env + env,
                                           workingDir: record.containerSpec(index).workingDir, stdin: stdin),
                              timeout: timeout)
    }

    /// Runs `argv` in the host context (outside every pod), supervising the pods meanwhile.
    public func execOnHost(_ argv: [String], stdin: String? = nil, env: [EnvVar] = [], timeout: Double = 30) throws(RuntimeError) -> ExecResult {
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

    // MARK: Waiting

    /// Lets `seconds` pass while supervising (virtual time on sim).
    public func sleep(_ seconds: Double) {
        guard seconds.isFinite, seconds > 0 else {
            supervise()
            return
        }
        _ = waitLoop(deadline: now + seconds) { false }
    }

    /// How a wait ended.
    public enum WaitOutcome: Sendable, Equatable {
        case satisfied
        case timedOut
        /// The pod reached a final phase from which the condition can no longer hold.
        case unreachable(PodPhase)
    }

    /// Waits until the pod's status satisfies `condition` (checked after every event), at most
    /// `timeout` seconds.
    public func wait(_ name: String, timeout: Double = 30, until condition: (PodStatus) -> Bool) throws(RuntimeError) -> WaitOutcome {
        let record = try record(name)
        let satisfied = waitLoop(deadline: now + max(0, timeout)) {
            condition(record.status) || record.removed
        }
        if satisfied && !record.removed { return .satisfied }
        return record.phase.isTerminal ? .unreachable(record.phase) : .timedOut
    }

    /// Waits until the pod is in `phase`; gives up as soon as it cannot get there any more.
    public func wait(_ name: String, phase: PodPhase, timeout: Double = 30) throws(RuntimeError) -> WaitOutcome {
        let record = try record(name)
        let satisfied = waitLoop(deadline: now + max(0, timeout)) {
            record.phase == phase || PodRuntime.unreachable(phase, from: record.phase)
        }
        if record.phase == phase { return .satisfied }
        if satisfied { return .unreachable(record.phase) }
        return .timedOut
    }

    static func unreachable(_ target: PodPhase, from current: PodPhase) -> Bool {
        switch target {
        case .pending: return current != .pending
        case .running: return current.isTerminal
        case .succeeded: return current == .failed
        case .failed: return current == .succeeded
        }
    }

    /// Supervises until `condition` holds or `deadline` (runtime clock) passes; true when the
    /// condition held.
    func waitLoop(deadline: Double, until condition: () -> Bool) -> Bool {
        while true {
            supervise()
            if condition() { return true }
            if interruption?() == true { return false }
            let current = now
            if current >= deadline { return false }
            var wake = Double.infinity
            for record in scheduled.values { wake = min(wake, record.wakeup ?? .infinity) }
            let target = min(deadline, max(wake, current))
            let clockBefore = backend.now
            var events = backend.poll(until: origin + target)
            if events.isEmpty && backend.now == clockBefore && target > current && target.isFinite
                && backend.capabilities.contains(.virtualTime) {
                // A virtual clock counts whole nanoseconds: a target a hair past the reachable
                // tick (0.1 + 0.05) would never be reached. Step to the next tick instead.
                events = backend.poll(until: origin + target + 1e-9)
            }
            if events.isEmpty && target == .infinity && backend.capabilities.contains(.virtualTime) {
                // Virtual time with nothing left to happen: the condition can no longer change.
                supervise()
                return condition()
            }
            apply(events)
        }
    }

    // MARK: Events

    /// A stream of every event from now on, for async callers.
    public func eventStream() -> AsyncStream<PodEvent> {
        let (stream, continuation) = AsyncStream<PodEvent>.makeStream()
        nextStream += 1
        let key = nextStream
        streams[key] = continuation
        return stream
    }

    // MARK: Closing

    /// Removes every pod that is not detached and ends the event streams. Idempotent.
    public func close() {
        guard !closed else { return }
        for record in pods where !record.removed && !record.detached {
            remove(record)
        }
        closed = true
        for continuation in streams.values { continuation.finish() }
        streams = [:]
    }

    // MARK: Supervision

    /// Observes what happened and lets every supervised pod's planner act on it.
    func supervise() {
        apply(backend.poll(until: nil))
        let current = now
        for record in scheduled.values where (record.wakeup ?? .infinity) <= current { markDirty(record) }
        while !dirty.isEmpty {
            let batch = dirty.sorted { $0.order < $1.order }
            dirty = []
            for record in batch {
                record.isDirty = false
                guard !record.removed && !record.detached else { continue }
                try? advance(record, strict: false)
            }
        }
    }

    func markDirty(_ record: PodRecord) {
        guard !record.isDirty else { return }
        record.isDirty = true
        dirty.append(record)
    }

    private func register(_ record: PodRecord) {
        pods.append(record)
        byName[record.spec.name] = record
        byOrder[record.order] = record
        if let sandbox = record.sandbox { sandboxOwners[sandbox.id] = record }
        if record.spec.publishesHostPorts {
            record.spec.forEachContainer { _, container in
                for port in container.ports {
                    if let hostPort = port.hostPort { publishedPorts["\(hostPort)/\(port.protocol.rawValue)"] = record.spec.name }
                }
            }
        }
    }

    private func unregister(_ record: PodRecord) {
        record.removed = true
        if let index = pods.firstIndex(where: { $0 === record }) { pods.remove(at: index) }
        if byName[record.spec.name] === record { byName[record.spec.name] = nil }
        byOrder[record.order] = nil
        if record.wakeup != nil { scheduled[ObjectIdentifier(record)] = nil }
        if !publishedPorts.isEmpty {
            for (key, owner) in publishedPorts where owner == record.spec.name { publishedPorts[key] = nil }
        }
        if let sandbox = record.sandbox, let owner = sandboxOwners.removeValue(forKey: sandbox.id), owner !== record {
            sandboxOwners[sandbox.id] = owner
        }
        for container in record.containers {
            if let process = container.process { owners[process] = nil }
        }
    }

    /// Plans and executes until the pod needs nothing more now. With `strict`, a backend
    /// failure is thrown (the caller undoes); otherwise it is recorded on the pod.
    func advance(_ record: PodRecord, strict: Bool) throws(RuntimeError) {
        for _ in 0..<256 {
            let plan = PodPlanner.plan(record.view, now: now)
            record.wakeup = plan.wakeup
            scheduled[ObjectIdentifier(record)] = plan.wakeup == nil ? nil : record
            if plan.actions.isEmpty { return }
            for action in plan.actions {
                do {
                    try execute(action, record)
                } catch {
                    if strict { throw error }
                    absorb(error, of: action, record)
                }
            }
            apply(backend.poll(until: nil))
        }
    }

    /// A failed action during supervision becomes part of the pod's state, never a trap.
    private func absorb(_ error: RuntimeError, of action: PodPlanner.Action, _ record: PodRecord) {
        switch action.kind {
        case .startContainer(let name):
            guard let index = record.index(of: name) else { return }
            // A failed start is still a start: it counts towards the restarts.
            if record.containers[index].runCount > 0 { record.containers[index].status.restartCount += 1 }
            record.containers[index].runCount += 1
            record.containers[index].started = true
            let at = now
            let termination = Termination(exitCode: 128, signal: nil, reason: .startError,
                                          cause: .startFailure(error.description), startedAt: at, finishedAt: at,
                                          message: error.description)
            finish(record, index, termination, log: "")
            emit(record, .warning, "Failed", name, "Error: \(error)")
        case .createSandbox, .recreateSandbox:
            record.phase = .failed
            record.message = "could not create the pod sandbox: \(error)"
            emit(record, .warning, "FailedCreatePodSandBox", nil, "Failed to create pod sandbox: \(error)")
        default:
            break
        }
    }

    func execute(_ action: PodPlanner.Action, _ record: PodRecord) throws(RuntimeError) {
        switch action.kind {
        case .createSandbox:
            let sandbox = try createSandbox(record)
            record.sandbox = sandbox
            record.infra = .running
            record.infraStopRequested = false
            if !record.removed && byOrder[record.order] === record { sandboxOwners[sandbox.id] = record }
        case .recreateSandbox:
            emit(record, .sandboxChanged, nil)
            if let old = record.sandbox {
                record.sandbox = nil
                sandboxOwners[old.id] = nil
                do { try backend.removeSandbox(old.id) } catch { throw .backend(error) }
            }
            record.infra = .none
            for index in record.containers.indices {
                record.containers[index].started = false
                record.containers[index].completed = false
                record.containers[index].restartAt = nil
            }
            let sandbox = try createSandbox(record)
            record.sandbox = sandbox
            sandboxOwners[sandbox.id] = record
            record.infra = .running
        case .startContainer(let name):
            guard let index = record.index(of: name), let sandbox = record.sandbox else { return }
            let spec = record.containerSpec(index)
            let spawned: SpawnedProcess
            do {
                // `$(VAR)` references in command, args and env values, as kubelet expands them.
                let mayExpand = spec.argv.contains { $0.utf8.contains(36) } || spec.env.contains { $0.value.utf8.contains(36) }
                let (argv, env) = mayExpand ? EnvExpansion.resolve(spec) : (spec.argv, spec.env)
                spawned = try backend.spawn(SpawnRequest(context: .container(sandbox.id, spec), argv: argv,
                                                         env: env, workingDir: spec.workingDir))
            } catch {
                throw .backend(error)
            }
            owners[spawned.id] = record
            // In place: the record's array is the only owner, so nothing is copied.
            func update(_ c: inout ContainerRecord) {
                if c.runCount > 0 { c.status.restartCount += 1 }
                c.runCount += 1
                c.process = spawned.id
                c.started = true
                c.termSent = false
                c.killSent = false
                c.pendingCause = nil
                c.status.state = .running(startedAt: spawned.startedAt - origin, pid: spawned.pid)
            }
            update(&record.containers[index])
            emit(record, .createdAndStarted, name)
        case .signalContainer(let name, let signal, let cause):
            guard let index = record.index(of: name), let process = record.containers[index].process else { return }
            do {
                try backend.signal(process, signal)
            } catch where error.code == .noSuchProcess {
                return
            } catch {
                throw .backend(error)
            }
            if signal == .kill { record.containers[index].killSent = true } else { record.containers[index].termSent = true }
            if let cause {
                record.containers[index].pendingCause = cause
            } else if record.containers[index].pendingCause == nil {
                record.containers[index].pendingCause = .signaled(signal, sender: "the runtime (pod stop)")
            }
            emit(record, .killing, name)
        case .backOff(let name, _):
            guard let index = record.index(of: name) else { return }
            let delay = record.containers[index].backoffDelay.formatted3
            record.containers[index].status.state = .waiting(
                reason: "CrashLoopBackOff",
                message: "back-off \(delay)s restarting failed container=\(name) pod=\(record.spec.name)")
            emit(record, .backOff, name)
        case .stopInfra:
            guard let sandbox = record.sandbox, record.infra == .running, !record.infraStopRequested else { return }
            record.infraStopRequested = true
            do {
                try backend.signal(sandbox.infraProcess, .term)
            } catch where error.code == .noSuchProcess {
                return
            } catch {
                throw .backend(error)
            }
        case .setPhase(let phase, let message):
            record.phase = phase
            if let message {
                record.message = message
                emit(record, .warning, "Failed", nil, message)
            }
        case .beginStop:
            if record.stoppingSince == nil {
                record.stoppingSince = now
                record.stopGrace = record.spec.terminationGracePeriodSeconds
            }
        }
    }

    private func createSandbox(_ record: PodRecord) throws(RuntimeError) -> SandboxInfo {
        do {
            return try backend.createSandbox(SandboxRequest(podName: record.spec.name, uid: record.uid, spec: record.spec))
        } catch {
            throw .backend(error)
        }
    }

    /// Applies observed exits to the pods. Infra deaths go first: when the pause dies in a
    /// shared PID namespace, the kernel kills the containers before the pause's own exit is
    /// reported, and those deaths are the infra's doing.
    func apply(_ events: [BackendEvent]) {
        guard !events.isEmpty else { return }
        for pass in 0..<2 {
            for event in events {
                let isInfra: Bool
                if case .infraExited = event { isInfra = true } else { isInfra = false }
                if isInfra == (pass == 0) { apply(event) }
            }
        }
    }

    private func apply(_ event: BackendEvent) {
        switch event {
        case .processExited(let process, let exit):
            if !commands.isEmpty, commands[process] != nil {
                commands[process] = .exited(exit)
                return
            }
            guard let record = owners.removeValue(forKey: process), let index = record.index(of: process) else { return }
            recordExit(record, index, exit)
            markDirty(record)
        case .infraExited(let sandbox, let exit):
            guard let record = sandboxOwners[sandbox] else { return }
            markDirty(record)
            if record.infraStopRequested {
                record.infra = .stopped
                return
            }
            let why = exit.signal.map { "killed by \($0) from \(exit.sender ?? "an unknown sender")" }
                ?? "exited with code \(exit.exitCode)"
            record.infra = .dead(why)
            emit(record, .warning, "InfraExited", nil, "The pod's infra container (pause) \(why)")
            for index in record.containers.indices where record.containers[index].status.state.isRunning {
                record.containers[index].pendingCause = .infraDeath
            }
        }
    }

    private func recordExit(_ record: PodRecord, _ index: Int, _ exit: ProcessExit) {
        let c = record.containers[index]
        let finishedAt = exit.time - origin
        var startedAt = finishedAt
        if case .running(let at, _) = c.status.state { startedAt = at }
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
            if let pending = c.pendingCause, Self.explains(pending, signal) {
                cause = pending
            } else {
                cause = .signaled(signal, sender: exit.sender ?? "an unknown sender")
            }
        } else {
            reason = exit.exitCode == 0 ? .completed : .error
            cause = .exited(exit.exitCode)
        }
        let termination = Termination(exitCode: exit.exitCode, signal: exit.signal?.number, reason: reason, cause: cause,
                                      startedAt: startedAt, finishedAt: finishedAt, message: exit.startError)
        let log = c.process.map { backend.output(of: $0).combined } ?? ""
        finish(record, index, termination, log: log)
        if let startError = exit.startError {
            emit(record, .warning, "Failed", c.name, "Error: \(startError)")
        } else if exit.oomKilled {
            emit(record, .oomKilled, c.name)
        }
    }

    /// Whether a cause the runtime recorded explains a death by `signal`.
    static func explains(_ cause: TerminationCause, _ signal: Signal) -> Bool {
        switch cause {
        case .signaled(let sent, _): return sent == signal
        case .gracePeriodExpired, .infraDeath: return signal == .kill
        default: return false
        }
    }

    /// Records a termination and computes the crash backoff: the first restart at once, then
    /// 10 s doubling up to 300 s; a run of 10 minutes or more resets it.
    private func finish(_ record: PodRecord, _ index: Int, _ termination: Termination, log: String) {
        func update(_ c: inout ContainerRecord) {
            c.status.state = .terminated(termination)
            c.status.history.append(termination)
            c.finishedLogs.append(log)
            c.process = nil
            c.pendingCause = nil
            if c.kind == .initContainer && termination.exitCode == 0 { c.completed = true }
            let ranFor = termination.finishedAt - termination.startedAt
            let delay: Double
            if ranFor >= 600 {
                delay = 0
            } else if let last = c.lastDelay {
                delay = last == 0 ? 10 : min(last * 2, 300)
            } else {
                delay = 0
        }
        c.lastDelay = delay
        c.backoffDelay = delay
        c.restartAt = termination.finishedAt + delay
        }
        update(&record.containers[index])
    }

    // MARK: Helpers

    private func runCommand(_ request: SpawnRequest, timeout: Double) throws(RuntimeError) -> ExecResult {
        let spawned: SpawnedProcess
        do {
            spawned = try backend.spawn(request)
        } catch {
            throw .backend(error)
        }
        commands[spawned.id] = .running
        defer { commands[spawned.id] = nil }
        func exited() -> ProcessExit? {
            if case .exited(let exit) = commands[spawned.id] { return exit }
            return nil
        }
        guard waitLoop(deadline: now + max(0, timeout), until: { exited() != nil }), let exit = exited() else {
            let interrupted = interruption?() == true
            try? backend.signal(spawned.id, .kill)
            let saved = interruption
            interruption = nil
            _ = waitLoop(deadline: now + 1) { exited() != nil }
            interruption = saved
            if interrupted { throw .timeout("\(request.argv.first ?? "command") interrupted (killed)") }
            throw .timeout("\(request.argv.first ?? "command") timed out after \(timeout.formatted3) s")
        }
        let output = backend.output(of: spawned.id)
        return ExecResult(exitCode: exit.exitCode, stdout: output.stdout, stderr: output.stderr)
    }

    /// Undoes what exists of a pod: its sandbox and everything in it.
    private func undo(_ record: PodRecord) {
        if let sandbox = record.sandbox {
            try? backend.removeSandbox(sandbox.id)
        }
        record.infra = .none
    }

    /// After a forced remove: the runs that were killed end in the status with the cause.
    private func finalizeRemoved(_ record: PodRecord, sandbox: SandboxInfo) {
        let at = now
        for index in record.containers.indices where record.containers[index].status.state.isRunning {
            guard case .running(let startedAt, _) = record.containers[index].status.state else { continue }
            let termination = Termination(exitCode: Signal.kill.exitCode, signal: Signal.kill.number, reason: .error,
                                          cause: .signaled(.kill, sender: "remove()"), startedAt: startedAt, finishedAt: at)
            record.containers[index].status.state = .terminated(termination)
            record.containers[index].status.history.append(termination)
            record.containers[index].process = nil
        }
        if !record.phase.isTerminal { record.phase = .failed }
        record.infra = .stopped
    }

    private func admissionErrors(_ spec: PodSpec) -> [FieldError] {
        var errors: [FieldError] = []
        if byName[spec.name] != nil {
            errors.append(FieldError(.duplicate, FieldPath("metadata.name"), value: FieldError.quoted(spec.name),
                                     detail: "a pod of this name exists already"))
        }
        guard !publishedPorts.isEmpty, spec.publishesHostPorts else { return errors }
        let inits = spec.initContainers.count
        spec.forEachContainer { index, container in
            let path = index < inits ? FieldPath("spec.initContainers").index(index) : FieldPath("spec.containers").index(index - inits)
            for (i, port) in container.ports.enumerated() {
                guard let hostPort = port.hostPort else { continue }
                let key = "\(hostPort)/\(port.protocol.rawValue)"
                if let owner = publishedPorts[key] {
                    errors.append(FieldError(.duplicate, path.child("ports").index(i).child("hostPort"),
                                             value: FieldError.quoted(key), detail: "already published by pod \"\(owner)\""))
                }
            }
        }
        return errors
    }

    private func ensureOpen() throws(RuntimeError) {
        if closed { throw .unsupported("the runtime is closed") }
    }

    /// The record behind a handle: by creation order (the uid), so a handle never reaches a
    /// later pod of the same name; a pod created earlier and gone was removed.
    func record(order: Int, name: String) throws(RuntimeError) -> PodRecord {
        if let record = byOrder[order] { return record }
        if order <= nextOrder { throw .podRemoved(name) }
        throw .noSuchPod(name)
    }

    func record(_ name: String) throws(RuntimeError) -> PodRecord {
        guard let record = byName[name] else { throw .noSuchPod(name) }
        return record
    }

    private func live(_ name: String) throws(RuntimeError) -> PodRecord {
        try ensureOpen()
        return try record(name)
    }

    private func containerIndex(_ record: PodRecord, _ name: String) throws(RuntimeError) -> Int {
        guard let index = record.index(of: name) else { throw .noSuchContainer(pod: record.spec.name, container: name) }
        return index
    }

    private func describe(_ state: ContainerState) -> String {
        switch state {
        case .waiting(let reason, _): return "waiting: \(reason)"
        case .running: return "running"
        case .terminated(let t): return "terminated: \(t.reason.rawValue), exit code \(t.exitCode)"
        }
    }

    private func emit(_ record: PodRecord, _ type: PodEvent.Kind, _ reason: String, _ container: String?, _ message: String) {
        append(EventRecord(time: now, template: .custom, warning: type == .warning, pod: record.spec.name,
                           container: container, custom: EventRecord.Custom(reason: reason, message: message)))
    }

    private func emit(_ record: PodRecord, _ template: EventRecord.Template, _ container: String?) {
        append(EventRecord(time: now, template: template, warning: template.isWarning, pod: record.spec.name,
                           container: container, custom: nil))
    }

    private func append(_ record: EventRecord) {
        eventLog.append(record)
        guard !streams.isEmpty else { return }
        for event in record.events(backend: backend.name) {
            for continuation in streams.values { continuation.yield(event) }
        }
    }

    /// A deterministic UUID-shaped uid: the same scenario gives the same uids.
    static func uid(_ n: Int) -> String {
        // "00000000-0000-4000-8000-" and n as 12 zero-padded digits, written in one buffer.
        var bytes = Array("00000000-0000-4000-8000-000000000000".utf8)
        var value = n.magnitude
        var index = bytes.count - 1
        while value > 0 && index >= 24 {
            bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
            index -= 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
