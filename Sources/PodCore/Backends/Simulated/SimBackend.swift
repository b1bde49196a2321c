/// The `sim` backend: pods on the simulated kernel. Deterministic, in memory, no privileges,
/// virtual time. The sandbox is a `pause` process holding new net, ipc and uts namespaces (the
/// host's where `hostNetwork`/`hostIPC` say so) and a PID namespace of its own, which the
/// containers share when `shareProcessNamespace` is set; otherwise each container's command is
/// PID 1 of a PID namespace of its own. Every container gets its own mount namespace.
public final class SimBackend: PodBackend {
    public let kernel: SimKernel
    public var name: String { "sim" }
    public var capabilities: BackendCapabilities { [.virtualTime, .sharedPIDNamespace, .hostNamespaces, .hostContext] }
    public var now: Double { kernel.now }

    final class Sandbox {
        let id: SandboxID
        let spec: PodSpec
        let infra: SimProcess
        let infraID: ProcessID
        let namespaces: [NamespaceKind: SimNamespace]
        /// Mount namespaces of the infra and of every container started: what belongs to the pod.
        var mountNamespaces: [SimNamespace] = []

        init(id: SandboxID, spec: PodSpec, infra: SimProcess, infraID: ProcessID, namespaces: [NamespaceKind: SimNamespace]) {
            self.id = id
            self.spec = spec
            self.infra = infra
            self.infraID = infraID
            self.namespaces = namespaces
        }
    }

    struct Tracked {
        let process: SimProcess
        let sandbox: SandboxID?
        let isInfra: Bool
    }

    private var sandboxes: [SandboxID: Sandbox] = [:]
    private var tracked: [ProcessID: Tracked] = [:]
    private var byHostPid: [Int: ProcessID] = [:]
    private var nextID = 0

    public init(kernel: SimKernel = SimKernel()) {
        self.kernel = kernel
    }

    private func makeID() -> Int {
        nextID += 1
        return nextID
    }

    private func track(_ process: SimProcess, sandbox: SandboxID?, isInfra: Bool) -> ProcessID {
        let id = ProcessID(makeID())
        tracked[id] = Tracked(process: process, sandbox: sandbox, isInfra: isInfra)
        byHostPid[process.hostPid] = id
        return id
    }

    public func createSandbox(_ request: SandboxRequest) throws(BackendError) -> SandboxInfo {
        let spec = request.spec
        var namespaces: [NamespaceKind: SimNamespace] = [:]
        namespaces[.net] = spec.hostNetwork ? kernel.host[.net] : kernel.makeNamespace(.net)
        namespaces[.uts] = spec.hostNetwork ? kernel.host[.uts] : kernel.makeNamespace(.uts, hostname: spec.effectiveHostname)
        namespaces[.ipc] = spec.hostIPC ? kernel.host[.ipc] : kernel.makeNamespace(.ipc)
        namespaces[.pid] = spec.hostPID ? kernel.host[.pid] : kernel.makeNamespace(.pid)
        var infraNamespaces = namespaces
        let mount = kernel.makeNamespace(.mnt)
        infraNamespaces[.mnt] = mount
        let infra: SimProcess
        do {
            infra = try kernel.spawn(argv: ["pause"], env: [], cwd: "/", namespaces: infraNamespaces,
                                     parent: kernel.supervisor, output: SimOutput(), watch: true)
        } catch {
            throw BackendError(.resourceExhausted, "createSandbox(\(request.podName))", "fork: \(error)")
        }
        let id = SandboxID(makeID())
        let infraID = track(infra, sandbox: id, isInfra: true)
        let sandbox = Sandbox(id: id, spec: spec, infra: infra, infraID: infraID, namespaces: namespaces)
        sandbox.mountNamespaces.append(mount)
        sandboxes[id] = sandbox
        return SandboxInfo(id: id, infraPid: infra.hostPid, infraProcess: infraID)
    }

    public func spawn(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess {
        let namespaces: [NamespaceKind: SimNamespace]
        var sandboxID: SandboxID?
        let operation = "spawn(\(request.argv.first ?? ""))"
        switch request.context {
        case .host:
            namespaces = kernel.host
        case .container(let id, _):
            guard let sandbox = sandboxes[id] else { throw BackendError(.noSuchSandbox, operation, "no such sandbox: \(id)") }
            guard sandbox.infra.isAlive else {
                throw BackendError(.noSuchSandbox, operation, "the sandbox's infra process has exited")
            }
            var own = sandbox.namespaces
            if !sandbox.spec.hostPID && !sandbox.spec.shareProcessNamespace {
                own[.pid] = kernel.makeNamespace(.pid)
            }
            let mount = kernel.makeNamespace(.mnt)
            own[.mnt] = mount
            sandbox.mountNamespaces.append(mount)
            namespaces = own
            sandboxID = id
        case .exec(let id, let container):
            guard sandboxes[id] != nil else { throw BackendError(.noSuchSandbox, operation, "no such sandbox: \(id)") }
            guard let target = tracked[container]?.process, target.isAlive else {
                throw BackendError(.noSuchProcess, operation, "the container's process has exited")
            }
            namespaces = target.namespaces
            sandboxID = id
        }
        do {
            let process = try kernel.spawn(argv: request.argv, env: request.env, cwd: request.workingDir ?? "/",
                                           namespaces: namespaces, parent: kernel.supervisor, output: SimOutput(),
                                           stdin: request.stdin ?? "", watch: true)
            let id = track(process, sandbox: sandboxID, isInfra: false)
            return SpawnedProcess(id: id, pid: process.hostPid, startedAt: Double(process.startedAt) / 1e9)
        } catch {
            throw BackendError(.resourceExhausted, operation, "fork: \(error)")
        }
    }

    public func signal(_ process: ProcessID, _ signal: Signal) throws(BackendError) {
        let operation = "signal(\(signal))"
        guard let entry = tracked[process] else { throw BackendError(.noSuchProcess, operation, "unknown \(process)") }
        guard entry.process.isAlive else {
            throw BackendError(.noSuchProcess, operation, "process \(entry.process.hostPid) has exited")
        }
        if signal.defaultAction == .stop || signal.defaultAction == .continue {
            throw BackendError(.unsupported, operation, "the sim backend does not model stopped processes")
        }
        if let error = kernel.signal(entry.process, signal, from: nil, senderName: "the runtime") {
            throw BackendError(.noSuchProcess, operation, "\(error)")
        }
    }

    public func poll(until deadline: Double?) -> [BackendEvent] {
        let now = kernel.clock.nanos
        let forever = deadline == .infinity
        let limit = forever ? Int64.max : max(now, deadline.map(SimClock.nanos) ?? now)
        if kernel.exits.isEmpty {
            kernel.run(until: limit, advanceClock: !forever) { !kernel.exits.isEmpty }
        } else {
            kernel.run(until: now) { false }
        }
        let exits = kernel.exits
        kernel.exits = []
        return exits.compactMap { exit in
            guard let id = byHostPid[exit.pid], let entry = tracked[id] else { return nil }
            let status: ProcessExit
            switch exit.status {
            case .exited(let code):
                status = ProcessExit(exitCode: code, startError: exit.startError, time: Double(exit.at) / 1e9)
            case .signaled(let signal):
                status = ProcessExit(exitCode: signal.exitCode, signal: signal, sender: exit.sender, time: Double(exit.at) / 1e9)
            }
            if entry.isInfra, let sandbox = entry.sandbox { return .infraExited(sandbox, status) }
            return .processExited(id, status)
        }
    }

    public func output(of process: ProcessID) -> ProcessOutput {
        tracked[process]?.process.output.snapshot ?? ProcessOutput()
    }

    public func removeSandbox(_ id: SandboxID) throws(BackendError) {
        guard let sandbox = sandboxes.removeValue(forKey: id) else { return }
        let mounts = sandbox.mountNamespaces.map(ObjectIdentifier.init)
        // Everything that lives in one of the pod's mount namespaces belongs to the pod, including
        // children of containers on the host PID namespace; containers first, the infra last.
        let members = kernel.liveProcesses.filter { process in
            process.namespaces[.mnt].map { mounts.contains(ObjectIdentifier($0)) } ?? false
        }
        for process in members.reversed() where process !== sandbox.infra {
            _ = kernel.signal(process, .kill, from: nil, senderName: "the runtime (pod removed)")
        }
        _ = kernel.signal(sandbox.infra, .kill, from: nil, senderName: "the runtime (pod removed)")
        let gone = Set(tracked.filter { $0.value.sandbox == id }.map(\.key))
        let pids = Set(gone.compactMap { tracked[$0]?.process.hostPid })
        kernel.exits.removeAll { pids.contains($0.pid) }
        for processID in gone {
            if let pid = tracked[processID]?.process.hostPid { byHostPid[pid] = nil }
            tracked[processID] = nil
        }
        kernel.watched.subtract(pids)
    }

    public func inventory() -> BackendInventory {
        let live = kernel.liveProcesses
        var namespaces: [ObjectIdentifier: SimNamespace] = [:]
        for process in live {
            for (kind, namespace) in process.namespaces where namespace !== kernel.host[kind] {
                namespaces[ObjectIdentifier(namespace)] = namespace
            }
        }
        var details = sandboxes.keys.sorted { $0.rawValue < $1.rawValue }.map { "sandbox \($0.rawValue)" }
        details += live.map { "process \($0.hostPid) (\($0.commandLine))" }
        details += namespaces.values.map(\.identity).sorted()
        return BackendInventory(sandboxes: sandboxes.count, processes: live.count, namespaces: namespaces.count, details: details)
    }

    /// The namespace identities of a process this backend started, by kind (for tests and
    /// `inspect`): `["net": "net:[4026532201]", ...]`.
    public func namespaceIdentities(of process: ProcessID) -> [String: String] {
        guard let entry = tracked[process] else { return [:] }
        var out: [String: String] = [:]
        for (kind, namespace) in entry.process.namespaces { out[kind.rawValue] = namespace.identity }
        return out
    }
}
