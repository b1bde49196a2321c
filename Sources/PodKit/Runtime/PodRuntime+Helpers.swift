extension PodRuntime {
    // MARK: Helpers

    func runCommand(_ request: SpawnRequest, timeout: Double) throws(RuntimeError) -> ExecResult {
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
    func undo(_ record: PodRecord) {
        if let sandbox = record.sandbox {
            try? backend.removeSandbox(sandbox.id)
        }
        record.infra = .none
    }

    /// After a forced remove: the runs that were killed end in the status with the cause.
    func finalizeRemoved(_ record: PodRecord, sandbox: SandboxInfo) {
        let at = now
        for index in record.containers.indices where record.containers[index].status.state.isRunning {
            guard case .running(let startedAt, _) = record.containers[index].status.state else { continue }
            let termination = Termination(
                exitCode: Signal.kill.exitCode, signal: Signal.kill.number, reason: .error,
                cause: .signaled(.kill, sender: "remove()"), startedAt: startedAt, finishedAt: at)
            record.containers[index].status.state = .terminated(termination)
            record.containers[index].status.history.append(termination)
            record.containers[index].process = nil
        }
        if !record.phase.isTerminal { record.phase = .failed }
        record.infra = .stopped
    }

    func admissionErrors(_ spec: PodSpec) -> [FieldError] {
        var errors: [FieldError] = []
        if byName[spec.name] != nil {
            errors.append(
                FieldError(
                    .duplicate, FieldPath("metadata.name"), value: FieldError.quoted(spec.name),
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
                    errors.append(
                        FieldError(
                            .duplicate, path.child("ports").index(i).child("hostPort"),
                            value: FieldError.quoted(key), detail: "already published by pod \"\(owner)\""))
                }
            }
        }
        return errors
    }

    func ensureOpen() throws(RuntimeError) {
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

    func live(_ name: String) throws(RuntimeError) -> PodRecord {
        try ensureOpen()
        return try record(name)
    }

    func containerIndex(_ record: PodRecord, _ name: String) throws(RuntimeError) -> Int {
        guard let index = record.index(of: name) else { throw .noSuchContainer(pod: record.spec.name, container: name) }
        return index
    }

    func describe(_ state: ContainerState) -> String {
        switch state {
        case .waiting(let reason, _): return "waiting: \(reason)"
        case .running: return "running"
        case .terminated(let t): return "terminated: \(t.reason.rawValue), exit code \(t.exitCode)"
        }
    }

    func emit(_ record: PodRecord, _ type: PodEvent.Kind, _ reason: String, _ container: String?, _ message: String) {
        append(
            EventRecord(
                time: now, template: .custom, warning: type == .warning, pod: record.spec.name,
                container: container, custom: EventRecord.Custom(reason: reason, message: message)))
    }

    func emit(_ record: PodRecord, _ template: EventRecord.Template, _ container: String?) {
        append(
            EventRecord(
                time: now, template: template, warning: template.isWarning, pod: record.spec.name,
                container: container, custom: nil))
    }

    func append(_ record: EventRecord) {
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
