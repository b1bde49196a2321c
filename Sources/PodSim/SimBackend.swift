import PodKit

/// The `sim` backend: pods on the simulated kernel. Deterministic, in memory, no privileges,
/// virtual time. The sandbox is a `pause` process holding new net, ipc and uts namespaces (the
/// host's where `hostNetwork`/`hostIPC` say so) and a PID namespace of its own, which the
/// containers share when `shareProcessNamespace` is set; otherwise each container's command is
/// PID 1 of a PID namespace of its own. Every container run gets its own mount namespace (the
/// image root, copy-on-write, and the pod's volumes) and its own memory cgroup below the pod's.
public final class SimBackend: InspectableBackend {
    public let kernel: SimKernel
    /// The pod pids limit (kubelet's `--pod-max-pids`).
    public let podPidsLimit: Int
    public var name: String { "sim" }
    public var capabilities: BackendCapabilities { [.virtualTime, .sharedPIDNamespace, .hostNamespaces, .hostContext, .detachedPods] }
    public var now: Double { kernel.now }
    /// Files and output the kernel keeps, and each live sandbox at what a sim pod measured
    /// (Benchmarks/README.md: 4,370 resident bytes per live sim pod).
    public var heldBytes: Int { kernel.ledger.bytes + sandboxes.count * Self.bytesPerSandbox }
    static let bytesPerSandbox = 4_400

    final class Sandbox {
        let id: SandboxID
        /// The spec's namespace flags that matter after creation.
        let hostPID: Bool
        let sharePID: Bool
        let infra: SimProcess
        let infraID: ProcessID
        let namespaces: SimNamespaces
        let cgroup: SimCgroup
        let volumes: [String: SimVolume]
        /// configMap volumes, always mounted read-only.
        let configMaps: Set<String>
        var publishedTCP: [Int] = []
        var publishedOther: [String] = []
        /// With hostPID only: mount namespaces of the infra and of every container run, which
        /// tell what belongs to the pod when children outlive their parents on the host.
        var mountNamespaces: [ObjectIdentifier] = []
        /// Every process started in the sandbox (containers and execs).
        var processes: [ProcessID] = []

        init(
            id: SandboxID, request: SandboxRequest, infra: SimProcess, infraID: ProcessID, namespaces: SimNamespaces,
            cgroup: SimCgroup, volumes: [String: SimVolume]
        ) {
            self.id = id
            self.hostPID = request.namespaces.pid == .host
            self.sharePID = request.namespaces.pid == .pod
            self.configMaps = Set(
                request.volumes.compactMap { volume in
                    if case .configMap = volume.source { return volume.name }
                    return nil
                })
            (self.infra, self.infraID, self.namespaces, self.cgroup, self.volumes) = (infra, infraID, namespaces, cgroup, volumes)
        }
    }

    struct Tracked {
        let process: SimProcess
        let sandbox: SandboxID?
        let isInfra: Bool
    }

    /// The images `pod.sim.image` registered, and the store they are pulled into.
    public let imageRegistry = SimImages()
    /// Pulls that ended, for the next `poll`.
    var finishedPulls: [BackendEvent] = []
    private var pullCount = 0
    func nextPull() -> Int {
        pullCount += 1
        return pullCount
    }

    @exclusivity(unchecked) private var sandboxes: [SandboxID: Sandbox] = [:]
    @exclusivity(unchecked) private var tracked: [ProcessID: Tracked] = [:]
    private var nextID = 0

    static let pauseArgv = ["pause"]

    public init(kernel: SimKernel = SimKernel(), podPidsLimit: Int = 4096) {
        (self.kernel, self.podPidsLimit) = (kernel, podPidsLimit)
    }

    private func makeID() -> Int {
        nextID += 1
        return nextID
    }

    /// Records a process started with `backendID` (given to the kernel at spawn, so that an
    /// exit during the spawn itself is already attributed).
    private func track(_ process: SimProcess, sandbox: SandboxID?, isInfra: Bool) -> ProcessID {
        let id = ProcessID(process.backendID)
        tracked[id] = Tracked(process: process, sandbox: sandbox, isInfra: isInfra)
        return id
    }

    public func createSandbox(_ request: SandboxRequest) throws(BackendError) -> SandboxInfo {
        func operation() -> String { "createSandbox(\(request.podName))" }
        let ports = try reservePorts(request.hostPorts, operation: operation)
        var volumes: [String: SimVolume] = [:]
        do {
            for volume in request.volumes { volumes[volume.name] = try makeVolume(volume, pod: request.podName, fsGroup: request.fsGroup) }
        } catch {
            release(ports)
            throw error
        }
        let spaces = request.namespaces
        let namespaces = SimNamespaces(
            pid: spaces.pid == .host ? kernel.host.pid : kernel.makePIDNamespace(),
            net: spaces.network == .host ? kernel.host.net : kernel.makeNetNamespace(),
            ipc: spaces.ipc == .host ? kernel.host.ipc : kernel.makeIPCNamespace(),
            uts: spaces.uts == .host ? kernel.host.uts : kernel.makeUTSNamespace(hostname: request.hostname),
            mnt: kernel.makeMountNamespace())
        let cgroup = SimCgroup(parent: nil, memoryLimit: request.limitsMemory ? request.cgroup.memoryLimit : nil, pidsLimit: podPidsLimit)
        let infra: SimProcess
        do {
            infra = try kernel.spawn(
                argv: SimBackend.pauseArgv, env: [], cwd: "/", namespaces: namespaces,
                parent: kernel.supervisor, output: kernel.discard, cgroup: .some(cgroup),
                backendID: makeID())
        } catch {
            release(ports)
            throw BackendError(.resourceExhausted, operation(), "fork: \(error)")
        }
        let id = SandboxID(makeID())
        let infraID = track(infra, sandbox: id, isInfra: true)
        for volume in volumes.values where volume.evictions != nil { volume.sandbox = id }
        let sandbox = Sandbox(
            id: id, request: request, infra: infra, infraID: infraID, namespaces: namespaces, cgroup: cgroup,
            volumes: volumes)
        sandbox.publishedTCP = ports.tcp
        sandbox.publishedOther = ports.other
        for (hostPort, containerPort) in ports.forwards { kernel.published[hostPort] = (namespaces.net, containerPort) }
        if sandbox.hostPID { sandbox.mountNamespaces.append(ObjectIdentifier(namespaces.mnt)) }
        sandboxes[id] = sandbox
        return SandboxInfo(id: id, infraPid: infra.hostPid, infraProcess: infraID)
    }

    private struct Ports {
        var tcp: [Int] = []
        var forwards: [(Int, Int)] = []
        var other: [String] = []
    }

    /// Checks and reserves the pod's host ports: a port published by another pod, or one a
    /// host process listens on, is refused.
    private func reservePorts(_ mappings: [HostPortMapping], operation: () -> String) throws(BackendError) -> Ports {
        var ports = Ports()
        for port in mappings {
            let hostPort = port.hostPort
            let key = "\(hostPort)/\(port.protocol.rawValue)"
            let taken =
                port.protocol == .tcp
                ? kernel.published[hostPort] != nil || kernel.host.net.listeners[hostPort] != nil
                : kernel.publishedOther.contains(key)
            if taken {
                throw BackendError(.unsupported, operation(), "host port \(key) is already in use")
            }
            if port.protocol == .tcp {
                ports.tcp.append(hostPort)
                ports.forwards.append((hostPort, port.containerPort))
            } else {
                ports.other.append(key)
                kernel.publishedOther.insert(key)
            }
        }
        return ports
    }

    private func release(_ ports: Ports) {
        for key in ports.other { kernel.publishedOther.remove(key) }
    }

    /// A volume's tree: a fresh directory (emptyDir), the host's (hostPath, after Kubernetes'
    /// type checks), or the configMap's files.
    /// An emptyDir is 0777, as kubelet makes it; with `fsGroup` it and a configMap's files
    /// belong to that group (set-group-ID, group-writable or group-readable).
    private func makeVolume(_ volume: VolumeSpec, pod: String, fsGroup: Int64?) throws(BackendError) -> SimVolume {
        let group = fsGroup.map { Int($0) } ?? 0
        let setgid = fsGroup == nil ? 0 : 0o2000
        switch volume.source {
        case .emptyDir(let source):
            return SimVolume(
                name: volume.name, root: .dir(SimDir(owner: SimOwner(gid: group, mode: 0o777 | setgid))),
                medium: source.medium == .memory ? .memory : .disk,
                limit: source.sizeLimit, evictions: source.medium == .memory ? nil : kernel.evictions)
        case .configMap(let source):
            let files = source.data.mapValues { SimNode.file(SimFile($0, owner: SimOwner(gid: group, mode: 0o644))) }
            return SimVolume(name: volume.name, root: .dir(SimDir(files, owner: SimOwner(gid: group, mode: 0o755 | setgid))))
        case .hostPath(let source):
            let fs = SimFileSystem(namespace: kernel.host.mnt, cwd: "/")
            func operation() -> String { "createSandbox(\(pod))" }
            let existing = fs.stat(source.path)
            func fail(_ what: String) -> BackendError {
                BackendError(
                    .unsupported, operation(),
                    "volume \"\(volume.name)\": hostPath type check failed: \(source.path) \(what)")
            }
            switch (source.type, existing) {
            case (.directoryOrCreate, .failure(.ENOENT)):
                if let error = fs.mkdir(source.path, parents: true) { throw fail("cannot be created: \(error)") }
            case (.fileOrCreate, .failure(.ENOENT)):
                if let error = fs.write(source.path, "", append: true, charge: { _, _ in true }) {
                    throw fail("cannot be created: \(error)")
                }
            case (.directory, .failure), (.file, .failure):
                throw fail("does not exist")
            case (.directory, .success(.file)), (.directoryOrCreate, .success(.file)):
                throw fail("is not a directory")
            case (.file, .success(.dir)), (.fileOrCreate, .success(.dir)):
                throw fail("is not a file")
            case (.unset, .failure):
                // Kubernetes mounts whatever is there; a missing path becomes a directory.
                if let error = fs.mkdir(source.path, parents: true) { throw fail("cannot be created: \(error)") }
            default:
                break
            }
            guard case .success(let node) = fs.stat(source.path) else { throw fail("does not exist") }
            return SimVolume(name: volume.name, root: node)
        }
    }

    /// The mounts of a container: each volume mount, with subPath directories created when
    /// missing; configMap volumes are always read-only.
    private func mounts(for container: ContainerRequest, in sandbox: Sandbox) throws(BackendError) -> [SimMount] {
        var out: [SimMount] = []
        for mount in container.mounts {
            guard let volume = sandbox.volumes[mount.name] else {
                throw BackendError(.unsupported, "spawn(\(container.name))", "no volume named \(mount.name)")
            }
            var node = volume.root
            if let subPath = mount.subPath, !subPath.isEmpty {
                for part in subPath.split(separator: "/") where part != "." {
                    guard case .dir(let dir) = node else {
                        throw BackendError(.unsupported, "spawn(\(container.name))", "subPath \(subPath) crosses a file")
                    }
                    if let next = dir.entries[String(part)] {
                        node = next
                    } else {
                        let created = SimNode.dir(SimDir(owner: SimCredentials.root.owner(creatingIn: dir.owner, isDirectory: true)))
                        dir.entries[String(part)] = created
                        node = created
                    }
                }
            }
            var readOnly = mount.readOnly
            if sandbox.configMaps.contains(mount.name) { readOnly = true }
            let path = mount.mountPath.split(separator: "/").filter { $0 != "." }.map(String.init)
            out.append(SimMount(path: path, node: node, readOnly: readOnly, volume: volume))
        }
        return out
    }

    public func spawn(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess {
        var namespaces: SimNamespaces
        var sandboxID: SandboxID?
        var cgroup: SimCgroup?
        var sandboxObject: Sandbox?
        func operation() -> String { "spawn(\(request.argv.first ?? ""))" }
        switch request.context {
        case .host:
            namespaces = kernel.host
        case .container(let id, let container):
            guard let sandbox = sandboxes[id] else { throw BackendError(.noSuchSandbox, operation(), "no such sandbox: \(id)") }
            guard sandbox.infra.isAlive else {
                throw BackendError(.noSuchSandbox, operation(), "the sandbox's infra process has exited")
            }
            namespaces = sandbox.namespaces
            sandboxObject = sandbox
            if !sandbox.hostPID && !sandbox.sharePID {
                namespaces.pid = kernel.makePIDNamespace()
            }
            let mount = kernel.makeMountNamespace()
            let planned = try mounts(for: container, in: sandbox)
            // The mount points exist in the container's root, as the runtime creates them.
            let fs = SimFileSystem(namespace: mount, cwd: "/")
            for m in planned {
                let path = "/" + m.path.joined(separator: "/")
                if case .dir = m.node {
                    _ = fs.mkdir(path, parents: true)
                } else {
                    _ = fs.mkdir("/" + m.path.dropLast().joined(separator: "/"), parents: true)
                    _ = fs.write(path, "", append: true) { _, _ in true }
                }
            }
            mount.mounts = planned
            if container.security.readOnlyRootFilesystem {
                // The root read-only; /tmp stays writable (a tmpfs, as the linux backend and
                // Podman's --read-only give).
                if let workingDir = request.workingDir { _ = fs.mkdir(workingDir, parents: true) }
                mount.rootReadOnly = true
                mount.mounts.insert(SimMount(path: ["tmp"], node: .dir(SimDir(owner: SimOwner(mode: 0o1777))), readOnly: false, volume: nil), at: 0)
            }
            namespaces.mnt = mount
            if sandbox.hostPID { sandbox.mountNamespaces.append(ObjectIdentifier(mount)) }
            // A container with a memory limit gets a cgroup of its own below the pod's; one without
            // is charged to the pod's directly (the same accounting, one object fewer).
            if let limit = container.cgroup.memoryLimit {
                cgroup = SimCgroup(parent: sandbox.cgroup, memoryLimit: limit, pidsLimit: nil)
            } else {
                cgroup = sandbox.cgroup
            }
            sandboxID = id
        case .exec(let id, let container):
            guard let sandbox = sandboxes[id] else { throw BackendError(.noSuchSandbox, operation(), "no such sandbox: \(id)") }
            sandboxObject = sandbox
            guard let target = tracked[container]?.process, target.isAlive else {
                throw BackendError(.noSuchProcess, operation(), "the container's process has exited")
            }
            namespaces = target.namespaces
            cgroup = target.cgroup
            sandboxID = id
        }
        var user: SimCredentials?
        var startError: String?
        switch request.context {
        case .container(_, let container):
            var image: (uid: Int, gid: Int)?
            if let name = container.user {
                // As runc's user lookup fails in the container's init: a start failure.
                image = Self.credentials(name)
                if image == nil { startError = "unable to find user \(name): no matching entries in passwd file" }
            }
            user = SimCredentials(image: image, security: container.security)
        case .exec(_, let container): user = tracked[container]?.process.credentials
        case .host: user = nil
        }
        let cwd = request.workingDir ?? "/"
        if let workingDir = request.workingDir, case .container = request.context {
            _ = SimFileSystem(namespace: namespaces.mnt, cwd: "/").mkdir(workingDir, parents: true)
        }
        do {
            // A container's environment as container runtimes make it; an exec's is its container's
            // with its own variables over it.
            let env: [EnvVar]
            switch request.context {
            case .host: env = request.env
            case .container: env = ContainerEnvironment.resolve(request.env, hostname: namespaces.uts.hostname)
            case .exec(_, let container):
                env = ContainerEnvironment.resolve(
                    tracked[container]?.process.env ?? [], hostname: namespaces.uts.hostname,
                    extra: request.env)
            }
            let process = try kernel.spawn(
                argv: request.argv, env: env, cwd: cwd, namespaces: namespaces,
                parent: kernel.supervisor, output: SimOutput(), stdin: request.stdin ?? "",
                cgroup: .some(cgroup), backendID: makeID(), user: user, startError: startError)
            let id = track(process, sandbox: sandboxID, isInfra: false)
            sandboxObject?.processes.append(id)
            return SpawnedProcess(id: id, pid: process.hostPid, startedAt: Double(process.startedAt) / 1e9)
        } catch {
            // E2BIG is execve's (the argv or environment is too large); the rest are fork's.
            throw BackendError(.resourceExhausted, operation(), "\(error == .E2BIG ? "execve" : "fork"): \(error)")
        }
    }

    public func signal(_ process: ProcessID, _ signal: Signal) throws(BackendError) {
        func operation() -> String { "signal(\(signal))" }
        guard let entry = tracked[process] else { throw BackendError(.noSuchProcess, operation(), "unknown \(process)") }
        guard entry.process.isAlive else {
            throw BackendError(.noSuchProcess, operation(), "process \(entry.process.hostPid) has exited")
        }
        if signal.defaultAction == .stop || signal.defaultAction == .continue {
            throw BackendError(.unsupported, operation(), "the sim backend does not model stopped processes")
        }
        if let error = kernel.signal(entry.process, signal, from: nil, senderName: "the runtime") {
            throw BackendError(.noSuchProcess, operation(), "\(error)")
        }
    }

    public func poll(until deadline: Double?) -> [BackendEvent] {
        let now = kernel.clock.nanos
        let forever = deadline == .infinity
        let limit = forever ? Int64.max : max(now, deadline.map(SimClock.nanos) ?? now)
        let evictions = kernel.evictions
        if kernel.exits.isEmpty && evictions.volumes.isEmpty && finishedPulls.isEmpty {
            kernel.run(until: limit, advanceClock: !forever) {
                !kernel.exits.isEmpty || !evictions.volumes.isEmpty || !finishedPulls.isEmpty
            }
        } else {
            kernel.run(until: now) { false }
        }
        let exits = kernel.exits
        kernel.exits = []
        var events = exits.compactMap { exit -> BackendEvent? in
            let id = ProcessID(exit.backendID)
            guard let entry = tracked[id] else { return nil }
            let time = Double(exit.at) / 1e9
            let status: ProcessExit
            switch exit.status {
            case .exited(let code):
                status = ProcessExit(exitCode: code, startError: exit.startError, time: time)
            case .signaled(let signal):
                status = ProcessExit(
                    exitCode: signal.exitCode, signal: signal, sender: exit.sender, oomKilled: exit.oomKilled,
                    time: time)
            }
            if entry.isInfra, let sandbox = entry.sandbox { return .infraExited(sandbox, status) }
            return .processExited(id, status)
        }
        if !evictions.volumes.isEmpty {
            // Reported once per pod, for its first volume past the limit (kubelet's check stops
            // at the first too).
            var evicted = Set<SandboxID>()
            for volume in evictions.volumes {
                guard let id = volume.sandbox, sandboxes[id] != nil, let limit = volume.limit, evicted.insert(id).inserted
                else { continue }
                events.append(.sandboxEvicted(id, message: BackendEvent.emptyDirEvictionMessage(volume: volume.name, limit: limit)))
            }
            evictions.volumes = []
        }
        if !finishedPulls.isEmpty {
            events += finishedPulls
            finishedPulls = []
        }
        return events
    }

    public func output(of process: ProcessID) -> ProcessOutput {
        tracked[process]?.process.output.snapshot ?? ProcessOutput()
    }

    public func removeSandbox(_ id: SandboxID) throws(BackendError) {
        guard let sandbox = sandboxes.removeValue(forKey: id) else { return }
        // Containers and execs first, newest first, the infra last. A container's PID 1 takes its
        // PID namespace (and so its children) with it; so does the pause for a shared one.
        for processID in sandbox.processes.reversed() {
            if let process = tracked[processID]?.process, process.isAlive {
                _ = kernel.signal(process, .kill, from: nil, senderName: "the runtime (pod removed)")
            }
        }
        if sandbox.hostPID {
            // On the host's PID namespace children outlive their parents: everything that lives in
            // one of the pod's mount namespaces belongs to the pod.
            let mounts = Set(sandbox.mountNamespaces)
            for process in kernel.liveProcesses.reversed()
            where mounts.contains(ObjectIdentifier(process.namespaces.mnt))
                && process !== sandbox.infra
            {
                _ = kernel.signal(process, .kill, from: nil, senderName: "the runtime (pod removed)")
            }
        }
        _ = kernel.signal(sandbox.infra, .kill, from: nil, senderName: "the runtime (pod removed)")
        for port in sandbox.publishedTCP { kernel.published[port] = nil }
        for key in sandbox.publishedOther { kernel.publishedOther.remove(key) }
        for processID in sandbox.processes { tracked[processID] = nil }
        tracked[sandbox.infraID] = nil
        // Exits of the pod's processes not collected yet are dropped: the pod is gone.
        if !kernel.exits.isEmpty {
            let ids = Set(sandbox.processes.map(\.rawValue) + [sandbox.infraID.rawValue])
            kernel.exits.removeAll { ids.contains($0.backendID) }
        }
    }

    public func inventory() -> BackendInventory {
        let live = kernel.liveProcesses
        var namespaces: [ObjectIdentifier: SimNamespace] = [:]
        for process in live {
            for kind in NamespaceKind.allCases where process.namespaces[kind] !== kernel.host[kind] {
                namespaces[ObjectIdentifier(process.namespaces[kind])] = process.namespaces[kind]
            }
        }
        var details = sandboxes.keys.sorted { $0.rawValue < $1.rawValue }.map { "sandbox \($0.rawValue)" }
        details += live.map { "process \($0.hostPid) (\($0.commandLine))" }
        details += namespaces.values.map(\.identity).sorted()
        details += kernel.published.keys.sorted().map { "published port \($0)/TCP" }
        return BackendInventory(
            sandboxes: sandboxes.count, processes: live.count, namespaces: namespaces.count,
            details: details)
    }

    /// The namespace identities of a process this backend started, by kind (for tests and
    /// `inspect`): `["net": "net:[4026532201]", ...]`.
    public func namespaceIdentities(of process: ProcessID) -> [String: String] {
        guard let entry = tracked[process] else { return [:] }
        var out: [String: String] = [:]
        for kind in NamespaceKind.allCases { out[kind.rawValue] = entry.process.namespaces[kind].identity }
        return out
    }

    /// Memory charged to a sandbox's pod cgroup (bytes), and its OOM kills.
    public func podMemory(_ sandbox: SandboxID) -> (usage: Int64, oomKills: Int)? {
        guard let s = sandboxes[sandbox] else { return nil }
        return (s.cgroup.memoryUsage, s.cgroup.oomKills)
    }
}
