extension PodRuntime {
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

    func register(_ record: PodRecord) {
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

    func unregister(_ record: PodRecord) {
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
    func absorb(_ error: RuntimeError, of action: PodPlanner.Action, _ record: PodRecord) {
        switch action.kind {
        case .startContainer(let name):
            guard let index = record.index(of: name) else { return }
            // A failed start is still a start: it counts towards the restarts.
            if record.containers[index].runCount > 0 { record.containers[index].status.restartCount += 1 }
            record.containers[index].runCount += 1
            record.containers[index].started = true
            let at = now
            let termination = Termination(
                exitCode: 128, signal: nil, reason: .startError,
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
            var spec = record.containerSpec(index)
            var image: ImageConfig?
            if let images = imageStore, images.managesImage(spec.image) {
                guard let info = prepareImage(record, index, spec, images) else { return }
                image = info.config
                // The image's Entrypoint and Cmd where the container sets no command or args.
                spec.command = info.config.argv(command: spec.command, args: spec.args)
                spec.args = []
            }
            // kubelet's runAsNonRoot check, against the image's user: the container waits
            // (CreateContainerConfigError) and is looked at again as kubelet does at each sync.
            if let violation = ContainerSecurity.runAsNonRootViolation(
                spec.securityContext, pod: record.spec.securityContext, imageUser: image?.user,
                podName: "\(record.spec.name)_default(\(record.uid))", containerName: name)
            {
                wait(record, index, "CreateContainerConfigError", violation, retryAt: now + Self.imageRecheckSeconds)
                emit(record, .warning, "Failed", name, "Error: \(violation)")
                return
            }
            let spawned: SpawnedProcess
            do {
                // `$(VAR)` references in command, args and env values, as kubelet expands them
                // (from the container's own variables; the image's come first, unexpanded).
                let mayExpand = spec.argv.contains { $0.utf8.contains(36) } || spec.env.contains { $0.value.utf8.contains(36) }
                var (argv, env) = mayExpand ? EnvExpansion.resolve(spec) : (spec.argv, spec.env)
                var request = ContainerRequest(spec)
                request.security = ContainerSecurity(spec.securityContext, pod: record.spec.securityContext)
                if let image {
                    env = image.environment(over: env)
                    request.env = image.environment(over: request.env)
                    request.workingDir = spec.workingDir ?? image.workingDir.flatMap { $0.isEmpty ? nil : $0 }
                    request.user = image.user.flatMap { $0.isEmpty ? nil : $0 }
                }
                spawned = try backend.spawn(
                    SpawnRequest(
                        context: .container(sandbox.id, request), argv: argv, env: env, workingDir: request.workingDir))
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
                c.stopSignal = image?.gracefulStopSignal ?? .term
                c.status.state = .running(startedAt: spawned.startedAt - origin, pid: spawned.pid)
            }
            update(&record.containers[index])
            emit(record, .createdAndStarted, name)
            if spec.securityContext?.privileged == true {
                emit(
                    record, .warning, "Privileged", name,
                    "Container \(name) runs privileged: every capability, no seccomp filter, no masked or read-only /proc and /sys paths, device nodes allowed")
            }
        case .signalContainer(let name, let planned, let cause):
            guard let index = record.index(of: name), let process = record.containers[index].process else { return }
            // A graceful stop sends the image's StopSignal.
            let signal = planned == .term && cause == nil ? record.containers[index].stopSignal : planned
            do {
                try backend.signal(process, signal)
            } catch  where error.code == .noSuchProcess {
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
        case .imageBackOff(let name, let until):
            guard let index = record.index(of: name) else { return }
            imageBackOff(record, index, until: until)
        case .stopInfra:
            guard let sandbox = record.sandbox, record.infra == .running, !record.infraStopRequested else { return }
            record.infraStopRequested = true
            do {
                try backend.signal(sandbox.infraProcess, .term)
            } catch  where error.code == .noSuchProcess {
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
        case .setEvicted(let message):
            record.phase = .failed
            record.reason = "Evicted"
            record.message = message
        case .beginStop:
            if record.stoppingSince == nil {
                record.stoppingSince = now
                record.stopGrace = record.spec.terminationGracePeriodSeconds
            }
        }
    }

    func createSandbox(_ record: PodRecord) throws(RuntimeError) -> SandboxInfo {
        do {
            return try backend.createSandbox(SandboxRequest(pod: record.spec, uid: record.uid))
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

    func apply(_ event: BackendEvent) {
        switch event {
        case .processExited(let process, let exit):
            if !commands.isEmpty, commands[process] != nil {
                commands[process] = .exited(exit)
                return
            }
            guard let record = owners.removeValue(forKey: process), let index = record.index(of: process) else { return }
            recordExit(record, index, exit)
            markDirty(record)
        case .imagePulled(let id, let outcome):
            pullFinished(id, outcome)
        case .sandboxEvicted(let sandbox, let message):
            guard let record = sandboxOwners[sandbox], !record.phase.isTerminal, record.evicted == nil else { return }
            record.evicted = message
            emit(record, .warning, "Evicted", nil, message)
            markDirty(record)
        case .infraExited(let sandbox, let exit):
            guard let record = sandboxOwners[sandbox] else { return }
            markDirty(record)
            if record.infraStopRequested {
                record.infra = .stopped
                return
            }
            let why =
                exit.signal.map { "killed by \($0) from \(exit.sender ?? "an unknown sender")" }
                ?? "exited with code \(exit.exitCode)"
            record.infra = .dead(why)
            if let program = exit.program {
                emit(
                    record, .warning, "InfraExited", nil,
                    "The pod's \(program) \(why); its published host ports went with it, so the sandbox is re-created")
            } else {
                emit(record, .warning, "InfraExited", nil, "The pod's infra container (pause) \(why)")
            }
            for index in record.containers.indices where record.containers[index].status.state.isRunning {
                record.containers[index].pendingCause = .infraDeath
            }
        }
    }

    func recordExit(_ record: PodRecord, _ index: Int, _ exit: ProcessExit) {
        let c = record.containers[index]
        let finishedAt = exit.time - origin
        var startedAt = finishedAt
        if case .running(let at, _) = c.status.state { startedAt = at }
        let termination = TerminationMapping.termination(
            of: exit, pending: c.pendingCause, startedAt: startedAt,
            finishedAt: finishedAt)
        let log = c.process.map { backend.output(of: $0).combined } ?? ""
        finish(record, index, termination, log: log)
        if let startError = exit.startError {
            emit(record, .warning, "Failed", c.name, "Error: \(startError)")
        } else if exit.oomKilled {
            emit(record, .oomKilled, c.name)
        }
    }

    /// Records a termination and the crash backoff before the next start (`CrashBackoff`).
    func finish(_ record: PodRecord, _ index: Int, _ termination: Termination, log: String) {
        func update(_ c: inout ContainerRecord) {
            c.status.state = .terminated(termination)
            c.status.history.append(termination)
            c.finishedLogs.append(log)
            if c.finishedLogs.count > ContainerRecord.keptFinishedLogs { c.finishedLogs.removeFirst() }
            c.process = nil
            c.pendingCause = nil
            if c.kind == .initContainer && termination.exitCode == 0 { c.completed = true }
            let delay = CrashBackoff.delay(ranFor: termination.finishedAt - termination.startedAt, previous: c.lastDelay)
            c.lastDelay = delay
            c.backoffDelay = delay
            c.restartAt = termination.finishedAt + delay
        }
        update(&record.containers[index])
    }
}
