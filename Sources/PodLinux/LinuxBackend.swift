#if canImport(Glibc)
import Glibc
#endif
import CPodSpawn
import PodKit

/// The `linux` backend: real pods on this kernel (DESIGN.md §4.2). The infra is a `pause`
/// process made in C (no binary needed) holding new net, ipc and uts namespaces (and the pod's
/// PID namespace when shared); containers are processes joined to them with `setns`, each in a
/// mount namespace of its own with an overlay root on its image, a fresh `/proc`, a minimal
/// `/dev`, a `/tmp` and the pod's volumes. Every process is a direct child of the owner, reaped
/// per pid (pidfds wake the waits) — never `waitpid(-1)`.
///
/// Logs: a container's stdout and stderr go, interleaved as written, to one file per run
/// (`<pod dir>/logs/<container>/<run>.log`); an exec's or a host command's streams are captured
/// apart in memory files. Confined to its owner's thread, like every backend.
public final class LinuxBackend: InspectableBackend {
    public let options: LinuxBackendOptions
    public let images: ImageStore
    /// The cgroup hierarchy's driver (v1 here, v2 on most distributions).
    public let cgroups: any CgroupDriver
    /// The state directory's records (what `podsh ps/rm/gc` read).
    public let state: LinuxState
    /// The machine's memory (MemTotal), for kubelet's Burstable `oom_score_adj`.
    static let memoryCapacity: Int64 = {
        for line in LinuxSystem.readFile("/proc/meminfo").split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int64(fields[1]) { return kib * 1024 }
        }
        return 1 << 30
    }()
    /// This process, as its pods record their owner.
    static let ownStamp: ProcessStamp = ProcessStamp.of(getpid()) ?? ProcessStamp(pid: getpid(), start: 0)
    public var name: String { "linux" }
    public var capabilities: BackendCapabilities { [.sharedPIDNamespace, .hostNamespaces, .hostContext, .detachedPods] }
    public var now: Double { LinuxSystem.monotonic() - started }
    private let started = LinuxSystem.monotonic()

    /// Why this backend cannot run here, or nil when it can.
    public static func unavailableReason() -> String? {
        #if !os(Linux)
        return "it needs Linux"
        #else
        let uid = geteuid()
        if uid != 0 { return "it needs root (namespaces, mounts, cgroups); running as uid \(uid)" }
        if access("/proc/self/ns/net", F_OK) != 0 { return "no /proc/self/ns: this kernel has no namespaces (or /proc is not mounted)" }
        if !LinuxSystem.readFile("/proc/filesystems").contains("\toverlay\n") {
            return "the kernel has no overlay file system (modprobe overlay)"
        }
        if case .failure(let error) = CgroupDrivers.detect() { return error.message }
        return nil
        #endif
    }

    /// A backend on this machine, or `unavailable` with the reason.
    public init(options: LinuxBackendOptions = LinuxBackendOptions()) throws(BackendError) {
        if let reason = Self.unavailableReason() { throw BackendError(.unavailable, "linux", reason) }
        self.options = options
        self.images = ImageStore(directory: options.imageDir)
        switch CgroupDrivers.detect() {
        case .success(let driver): cgroups = driver
        case .failure(let error): throw error
        }
        state = LinuxState(directory: options.stateDir, cgroups: cgroups, cgroupParent: options.cgroupParent)
        let parent = options.cgroupParent
        guard !parent.isEmpty, !parent.hasPrefix("/"), !parent.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw BackendError(.unsupported, "linux", "cgroupParent \"\(parent)\" must be a relative path without . or ..")
        }
        guard options.podPidsLimit > 0 else {
            throw BackendError(.unsupported, "linux", "podPidsLimit must be positive, got \(options.podPidsLimit)")
        }
        if let code = LinuxSystem.makeDirectories(options.stateDir + "/pods", mode: 0o711) {
            throw BackendError(.unavailable, "linux", "state directory \(options.stateDir): \(LinuxSystem.describe(code))")
        }
    }

    deinit {
        for (id, sandbox) in sandboxes where !sandbox.detached { try? removeSandbox(id) }
        for process in processes.values where process.exit == nil && process.sandbox == nil {
            kill(process.pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(process.pid, &status, 0) < 0 && errno == EINTR {}
        }
        for process in processes.values { process.closeDescriptors() }
    }

    /// Keeps a pod after this backend is released: its record says so, its processes run on
    /// unsupervised (their exits are no longer reported), and `podsh rm` or `podsh gc` (once its
    /// pause has died) removes it.
    public func detach(_ id: SandboxID) throws(BackendError) {
        guard let sandbox = sandboxes[id] else { throw BackendError(.noSuchSandbox, "detach", "no such sandbox: \(id)") }
        sandbox.detached = true
        sandbox.recordDirty = false
        sandbox.record.detached = true
        try state.write(sandbox.record)
        pending.removeAll { event in
            switch event {
            case .processExited(let process, _): return sandbox.processes.contains(process)
            case .infraExited(let s, _): return s == id
            }
        }
    }

    // MARK: State

    final class Process {
        enum Kind {
            case infra
            case container(ContainerSpec)
            case exec(container: ProcessID)
            case host
            /// A sandbox's port forwarder (published host ports).
            case forwarder
        }

        let id: ProcessID
        let pid: pid_t
        var pidfd: Int32
        let kind: Kind
        let sandbox: SandboxID?
        let argv: [String]
        var exit: ProcessExit?
        /// The signal the backend last sent (the sender of a death by it).
        var sent: Signal?
        /// A container run's log file, layer directory and cgroup.
        var logPath: String?
        var runDir: String?
        var cgroup: String?
        /// An exec's or host command's captured streams (memory files).
        var stdoutFD: Int32 = -1
        var stderrFD: Int32 = -1
        /// Their contents once the process ended (the memory files are closed then).
        var captured: ProcessOutput?

        init(id: ProcessID, pid: pid_t, kind: Kind, sandbox: SandboxID?, argv: [String]) {
            self.id = id
            self.pid = pid
            self.pidfd = pid > 0 ? podspawn_pidfd(pid) : -1
            self.kind = kind
            self.sandbox = sandbox
            self.argv = argv
        }

        func closeDescriptors() {
            if pidfd >= 0 { close(pidfd) }
            if stdoutFD >= 0 { close(stdoutFD) }
            if stderrFD >= 0 { close(stderrFD) }
            pidfd = -1
            stdoutFD = -1
            stderrFD = -1
        }

        var isContainer: Bool {
            if case .container = kind { return true }
            return false
        }
    }

    final class Sandbox {
        let id: SandboxID
        let spec: PodSpec
        let dir: String
        let infra: ProcessID
        let infraPid: pid_t
        /// The namespaces the pause made (PODSPAWN_NS_* bits).
        let namespaces: Int32
        var volumes: LinuxVolumes
        /// Container runs so far, by container name (numbers the logs and layers).
        var runs: [String: Int] = [:]
        /// Processes started in it, oldest first.
        var processes: [ProcessID] = []
        /// The pod's cgroup (the pause in `<cgroup>/pause`, each container run below it).
        var cgroup = ""
        /// The forwarder of its published host ports, if any.
        var forwarder: ProcessID?
        /// Published host ports, as "8080/TCP".
        var published: [String] = []
        /// What the state directory says of it.
        var record = LinuxPodRecord(name: "", id: "", uid: "", hostname: "", bootID: "", owner: ProcessStamp(pid: 0, start: 0),
                                    cgroup: "", cgroupVersion: "")
        /// Kept after its owner (`detach`): never removed by this backend, its exits not reported.
        var detached = false
        /// Container entries changed since the record was last written (they are written when
        /// the owner next polls: a crash before that loses only what `ps` shows, since gc finds
        /// every container through the pod's cgroups).
        var recordDirty = false

        init(id: SandboxID, spec: PodSpec, dir: String, infra: ProcessID, infraPid: pid_t, namespaces: Int32, volumes: LinuxVolumes) {
            self.id = id
            self.spec = spec
            self.dir = dir
            self.infra = infra
            self.infraPid = infraPid
            self.namespaces = namespaces
            self.volumes = volumes
        }

        var sharesPID: Bool { spec.shareProcessNamespace && !spec.hostPID }
    }

    private var sandboxes: [SandboxID: Sandbox] = [:]
    private var processes: [ProcessID: Process] = [:]
    /// Exits observed but not yet returned by `poll`, in order.
    private var pending: [BackendEvent] = []
    private var nextID = 0
    /// Finished execs and host commands keep their captured output (as strings; the memory
    /// files are closed at the exit) this long, in count, so that `output(of:)` works after the
    /// exit; older ones are forgotten.
    private var finishedCommands: [ProcessID] = []
    static let keptCommandOutputs = 256

    private func makeID() -> Int {
        nextID += 1
        return nextID
    }


    // MARK: Sandboxes

    public func createSandbox(_ request: SandboxRequest) throws(BackendError) -> SandboxInfo {
        let spec = request.spec
        let operation = "createSandbox(\(request.podName))"
        // Every image first: a pod that cannot start leaves nothing behind.
        for container in spec.initContainers + spec.containers {
            do {
                _ = try images.root(for: container.image)
            } catch {
                throw BackendError(.unsupported, operation, "container \"\(container.name)\": \(error.message)")
            }
        }
        // Host ports: listening sockets made here, in the host's network namespace; a port
        // another program (or pod) holds is refused before anything exists.
        let listeners = try listen(spec, operation: operation)
        defer { for l in listeners { close(l.fd) } }  // the forwarder has its own copies
        let dirName = request.podName + "-" + LinuxSystem.randomHex()
        let dir = options.stateDir + "/pods/" + dirName
        // The record comes first, naming the directory and the cgroup before either holds
        // anything: the directory is made under a temporary name that says who makes it, with
        // the record inside, then renamed into place — so it never exists without its record,
        // and `podsh gc` finds everything whatever happens next.
        let staging = options.stateDir + "/pods/.new-\(dirName)-\(getpid())"
        if let code = LinuxSystem.makeDirectories(staging, mode: 0o711) {
            throw BackendError(.system, operation, "\(staging): \(LinuxSystem.describe(code))")
        }
        let cgroup = options.cgroupParent + "/" + dirName
        var record = LinuxPodRecord(name: request.podName, id: dirName, uid: request.uid, hostname: spec.effectiveHostname,
                                    bootID: LinuxState.bootID, owner: Self.ownStamp, cgroup: cgroup, cgroupVersion: cgroups.version)
        var volumes = LinuxVolumes()
        func undo() {
            cgroups.remove(cgroup + "/pause")
            cgroups.remove(cgroup)
            volumes.release()
            state.removePodDirectory(dir)
            LinuxSystem.removeTree(staging)
        }
        do throws(BackendError) {
            try state.write(record, into: staging)
            guard rename(staging, dir) == 0 else {
                throw BackendError(.system, operation, "\(dir): \(LinuxSystem.describe(errno))")
            }
            volumes = try LinuxVolumes.make(spec, podDir: dir, allowHostPaths: options.allowHostPaths, operation: operation)
            record.mounts = volumes.mounts
            // The manifest stream as JSON documents (JSON is YAML): `podsh inspect` shows it.
            _ = LinuxSystem.writeFile(dir + "/spec.yaml", spec.manifestDocuments.map { $0.jsonText + "\n" }.joined(separator: "---\n"),
                                      mode: 0o600)
            // The pod's cgroup with kubelet's pod-level values and the pod pids limit, and a leaf
            // for the pause (cgroup v2 keeps processes out of a cgroup that has children).
            try cgroups.create(cgroup, values: ResourceMath.podCgroup(of: spec), pidsMax: options.podPidsLimit)
            try cgroups.create(cgroup + "/pause", values: CgroupValues(cpuShares: ResourceMath.minShares), pidsMax: nil)
            try state.write(record)
        } catch {
            undo()
            throw BackendError(error.code, error.operation == "state" || error.operation == "cgroup" ? operation : error.operation,
                               error.message)
        }
        var namespaces: Int32 = 0
        if !spec.hostNetwork { namespaces |= Int32(PODSPAWN_NS_NET | PODSPAWN_NS_UTS) }
        if !spec.hostIPC { namespaces |= Int32(PODSPAWN_NS_IPC) }
        if spec.shareProcessNamespace && !spec.hostPID { namespaces |= Int32(PODSPAWN_NS_PID) }
        // The pause joins its cgroup itself, before its pid is known here.
        let pauseProcs = CStringArray(cgroups.procsFiles(cgroup + "/pause"))
        let pauseProcsCount = Int32(pauseProcs.pointers.count - 1)
        var failure = podspawn_error()
        let pid = pauseProcs.withPointer { c in
            c.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Int(pauseProcsCount) + 1) {
                podspawn_sandbox(spec.effectiveHostname, namespaces, $0, pauseProcsCount, &failure)
            }
        }
        guard pid > 0 else {
            undo()
            throw BackendError(failure.error == EAGAIN || failure.error == ENOMEM ? .resourceExhausted : .system, operation,
                               "\(String(cString: failure.step)): \(LinuxSystem.describe(failure.error))")
        }
        record.infra = ProcessStamp.of(pid)
        let id = SandboxID(makeID())
        let infra = Process(id: ProcessID(makeID()), pid: pid, kind: .infra, sandbox: id, argv: ["pause"])
        processes[infra.id] = infra
        let sandbox = Sandbox(id: id, spec: spec, dir: dir, infra: infra.id, infraPid: pid, namespaces: namespaces, volumes: volumes)
        sandbox.cgroup = cgroup
        sandbox.record = record
        sandboxes[id] = sandbox
        if !listeners.isEmpty {
            var failure = podspawn_error()
            let forwards = listeners.map { podspawn_forward(listen_fd: $0.fd, target_port: Int32($0.containerPort)) }
            let forwarder = forwards.withUnsafeBufferPointer { buffer in
                pauseProcs.withPointer { c in
                    c.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Int(pauseProcsCount) + 1) {
                        podspawn_forwarder(pid, buffer.baseAddress, Int32(buffer.count), $0, pauseProcsCount, &failure)
                    }
                }
            }
            guard forwarder > 0 else {
                try? removeSandbox(id)
                throw BackendError(.system, operation, "port forwarder: \(String(cString: failure.step)): \(LinuxSystem.describe(failure.error))")
            }
            let process = Process(id: ProcessID(makeID()), pid: forwarder, kind: .forwarder, sandbox: id,
                                  argv: ["pod-forwarder"] + listeners.map { "\($0.hostPort)->\($0.containerPort)" })
            processes[process.id] = process
            sandbox.forwarder = process.id
            sandbox.published = listeners.map { "\($0.hostPort)/TCP" }
            sandbox.record.forwarder = ProcessStamp.of(forwarder)
            sandbox.record.published = sandbox.published
        }
        save(sandbox)
        return SandboxInfo(id: id, infraPid: Int(pid), infraProcess: infra.id)
    }

    /// Rewrites a sandbox's record (best effort: a failed write leaves the previous one, which
    /// still names everything gc needs).
    private func save(_ sandbox: Sandbox) {
        try? state.write(sandbox.record)
    }

    struct Listener {
        let fd: Int32
        let hostPort: Int
        let containerPort: Int
    }

    /// Listening sockets for the pod's host ports (TCP; with hostNetwork the container's own
    /// socket is the host's, so there is nothing to publish).
    private func listen(_ spec: PodSpec, operation: String) throws(BackendError) -> [Listener] {
        guard spec.publishesHostPorts, !spec.hostNetwork else { return [] }
        var out: [Listener] = []
        func fail(_ error: BackendError) -> BackendError {
            for l in out { close(l.fd) }
            return error
        }
        for container in spec.initContainers + spec.containers {
            for port in container.ports {
                guard let hostPort = port.hostPort else { continue }
                guard port.protocol == .tcp else {
                    throw fail(BackendError(.unsupported, operation,
                                            "container \"\(container.name)\": hostPort \(hostPort)/\(port.protocol.rawValue): the linux backend publishes TCP ports only"))
                }
                if out.contains(where: { $0.hostPort == hostPort }) { continue }
                if out.count == Int(PODSPAWN_MAX_FORWARDS) {
                    throw fail(BackendError(.unsupported, operation, "more than \(PODSPAWN_MAX_FORWARDS) host ports"))
                }
                var code: Int32 = 0
                let fd = podspawn_listen_tcp(Int32(hostPort), &code)
                guard fd >= 0 else {
                    throw fail(BackendError(code == EADDRINUSE ? .unsupported : .system, operation,
                                            code == EADDRINUSE ? "host port \(hostPort)/TCP is already in use"
                                                : "host port \(hostPort)/TCP: \(LinuxSystem.describe(code))"))
                }
                out.append(Listener(fd: fd, hostPort: hostPort, containerPort: port.containerPort))
            }
        }
        return out
    }

    public func removeSandbox(_ id: SandboxID) throws(BackendError) {
        guard let sandbox = sandboxes[id] else { return }
        // Containers and execs, then the pause: SIGKILL, and every one reaped before the pause is
        // waited for (a dying PID 1 waits until its namespace's members are reaped).
        let members = sandbox.processes.compactMap { processes[$0] }
        for process in members.reversed() where process.exit == nil { kill(process.pid, SIGKILL) }
        let forwarder = sandbox.forwarder.flatMap { processes[$0] }
        if let forwarder, forwarder.exit == nil { kill(forwarder.pid, SIGKILL) }
        if let infra = processes[sandbox.infra], infra.exit == nil { kill(infra.pid, SIGKILL) }
        let all = members + [forwarder, processes[sandbox.infra]].compactMap { $0 }
        let deadline = now + 30
        while all.contains(where: { $0.exit == nil }) && now < deadline {
            for process in all where process.exit == nil { reap(process, report: false) }
            let live = all.filter { $0.exit == nil }
            if !live.isEmpty { waitForAny(live, timeout: 0.1) }
        }
        let stuck = all.filter { $0.exit == nil }
        sandboxes[id] = nil
        for process in members where process.cgroup != nil {
            if let cgroup = process.cgroup, cgroups.remove(cgroup) { process.cgroup = nil }
        }
        cgroups.remove(sandbox.cgroup + "/pause")
        cgroups.remove(sandbox.cgroup)
        sandbox.volumes.release()
        state.removePodDirectory(sandbox.dir)
        let ids = Set(all.map(\.id))
        pending.removeAll { event in
            switch event {
            case .processExited(let process, _): return ids.contains(process)
            case .infraExited(let s, _): return s == id
            }
        }
        finishedCommands.removeAll { ids.contains($0) }
        for process in all where process.exit != nil {
            process.closeDescriptors()
            processes[process.id] = nil
        }
        if !stuck.isEmpty {
            throw BackendError(.system, "removeSandbox(\(sandbox.spec.name))",
                               "pids \(stuck.map { String($0.pid) }.joined(separator: ", ")) did not exit after SIGKILL")
        }
    }

    // MARK: Processes

    public func spawn(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess {
        switch request.context {
        case .host:
            return try spawnOnHost(request)
        case .container(let id, let container):
            return try spawnContainer(request, sandboxID: id, container: container)
        case .exec(let id, let container):
            return try spawnExec(request, sandboxID: id, container: container)
        }
    }

    private func liveSandbox(_ id: SandboxID, _ operation: String) throws(BackendError) -> Sandbox {
        guard let sandbox = sandboxes[id] else { throw BackendError(.noSuchSandbox, operation, "no such sandbox: \(id)") }
        if let infra = processes[sandbox.infra] { reap(infra, report: true) }
        guard processes[sandbox.infra]?.exit == nil else {
            throw BackendError(.noSuchSandbox, operation, "the sandbox's infra process has exited")
        }
        return sandbox
    }

    /// The environment of a container's process (`ContainerEnvironment`), as `NAME=value`.
    static func environment(_ spec: [EnvVar], hostname: String, extra: [EnvVar] = []) -> [String] {
        ContainerEnvironment.resolve(spec, hostname: hostname, extra: extra).map { "\($0.name)=\($0.value)" }
    }

    private func spawnContainer(_ request: SpawnRequest, sandboxID: SandboxID, container: ContainerSpec) throws(BackendError) -> SpawnedProcess {
        let operation = "spawn(\(container.name))"
        let sandbox = try liveSandbox(sandboxID, operation)
        let lower: String
        do { lower = try images.root(for: container.image) } catch { throw BackendError(error.code, operation, error.message) }
        let run = (sandbox.runs[container.name] ?? 0) + 1
        sandbox.runs[container.name] = run
        let runDir = sandbox.dir + "/runs/\(container.name)-\(run)"
        let logDir = sandbox.dir + "/logs/" + container.name
        // The mount point of every container's root is one directory of the pod: each container
        // mounts its overlay there in a mount namespace of its own.
        let merged = sandbox.dir + "/rootfs"
        for dir in [runDir + "/upper", runDir + "/work", merged, logDir] {
            if let code = LinuxSystem.makeDirectories(dir, mode: 0o755) {
                throw BackendError(.system, operation, "\(dir): \(LinuxSystem.describe(code))")
            }
        }
        let logPath = logDir + "/\(run).log"
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard logFD >= 0 else {
            LinuxSystem.removeTree(runDir)
            throw BackendError(.system, operation, "\(logPath): \(LinuxSystem.describe(errno))")
        }
        defer { close(logFD) }
        let opened: [LinuxVolumes.Opened]
        do {
            opened = try sandbox.volumes.open(container, operation: operation)
        } catch {
            LinuxSystem.removeTree(runDir)
            throw error
        }
        defer { for o in opened { close(o.fd) } }
        let argv = request.argv
        let id = ProcessID(makeID())
        guard !argv.isEmpty else {
            LinuxSystem.removeTree(runDir)
            return startFailure(id, kind: .container(container), sandbox: sandbox, argv: argv, pid: 0,
                                message: "exec: no command given (an imported image has no entrypoint: set command)",
                                logPath: logPath)
        }
        // A cgroup per run, with kubelet's container values, joined before exec.
        let cgroup = sandbox.cgroup + "/\(container.name)-\(run)"
        do {
            try cgroups.create(cgroup, values: ResourceMath.containerCgroup(of: container), pidsMax: nil)
        } catch {
            cgroups.remove(cgroup)
            LinuxSystem.removeTree(runDir)
            throw BackendError(error.code, operation, error.message)
        }
        let procs = CStringArray(cgroups.procsFiles(cgroup))
        let procsCount = Int32(procs.pointers.count - 1)
        let oomScoreAdj = ResourceMath.oomScoreAdj(pod: sandbox.spec, container: container, memoryCapacity: Self.memoryCapacity)
        let env = Self.environment(request.env, hostname: sandbox.spec.effectiveHostname)
        var join = Int32(PODSPAWN_NS_IPC | PODSPAWN_NS_UTS | PODSPAWN_NS_NET)
        if sandbox.sharesPID { join |= Int32(PODSPAWN_NS_PID) }
        let newPID: Int32 = sandbox.sharesPID || sandbox.spec.hostPID ? 0 : 1
        let strings = CStringArray([lower, runDir + "/upper", runDir + "/work", merged] + opened.map(\.target)
                                   + [request.workingDir ?? "/"])
        let cArgv = CStringArray(argv)
        let cEnv = CStringArray(env)
        var failure = podspawn_error()
        let pid: pid_t = strings.withPointer { s in
            let mounts = opened.enumerated().map { i, o in
                podspawn_mount(source_fd: o.fd, target: s[4 + i], read_only: o.readOnly ? 1 : 0, is_file: o.isFile ? 1 : 0)
            }
            return mounts.withUnsafeBufferPointer { buffer in
                var root = podspawn_root(lower: s[0], upper: s[1], work: s[2], merged: s[3], mounts: buffer.baseAddress,
                                         mount_count: Int32(buffer.count))
                return cArgv.withPointer { a in
                    cEnv.withPointer { e in
                        procs.withPointer { c in
                            c.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Int(procsCount) + 1) { cgroupFiles in
                                var process = podspawn_process(argv: a, envp: e, workdir: s[4 + opened.count], in_fd: -1, out_fd: logFD,
                                                               err_fd: logFD, cgroup_procs: cgroupFiles, cgroup_count: procsCount,
                                                               privileged: 0, oom_score_adj: Int32(oomScoreAdj), oom_score_adj_set: 1)
                                return podspawn_exec(sandbox.infraPid, join, newPID, &root, &process, &failure)
                            }
                        }
                    }
                }
            }
        }
        guard pid > 0 else {
            LinuxSystem.removeTree(runDir)
            cgroups.remove(cgroup)
            let step = String(cString: failure.step)
            if step == "exec" {
                return startFailure(id, kind: .container(container), sandbox: sandbox, argv: argv, pid: failure.pid,
                                    message: Self.execMessage(argv[0], failure.error), logPath: logPath)
            }
            throw BackendError(failure.error == EAGAIN || failure.error == ENOMEM ? .resourceExhausted : .system, operation,
                               "\(step): \(LinuxSystem.describe(failure.error))")
        }
        let process = Process(id: id, pid: pid, kind: .container(container), sandbox: sandbox.id, argv: argv)
        process.logPath = logPath
        process.runDir = runDir
        process.cgroup = cgroup
        processes[id] = process
        sandbox.processes.append(id)
        sandbox.record.containers.removeAll { $0.name == container.name }
        sandbox.record.containers.append(LinuxPodRecord.Container(name: container.name, run: run, process: ProcessStamp.of(pid),
                                                                  cgroup: cgroup, exited: false))
        sandbox.recordDirty = true
        return SpawnedProcess(id: id, pid: Int(pid), startedAt: now)
    }

    /// What a failed exec says, as the sim and container runtimes word it.
    static func execMessage(_ program: String, _ code: Int32) -> String {
        switch code {
        case ENOENT where !program.contains("/"): return "exec: \"\(program)\": executable file not found in $PATH"
        case ENOENT: return "exec: \"\(program)\": no such file or directory"
        case EACCES: return "exec: \"\(program)\": permission denied"
        default: return "exec: \"\(program)\": \(LinuxSystem.describe(code))"
        }
    }

    /// A process whose command could not be executed: it exits 127 with a start error, reported
    /// by the next poll (as the fork succeeded and the exec failed).
    private func startFailure(_ id: ProcessID, kind: Process.Kind, sandbox: Sandbox?, argv: [String], pid: pid_t,
                              message: String, logPath: String? = nil, stderrFD: Int32 = -1) -> SpawnedProcess {
        let process = Process(id: id, pid: 0, kind: kind, sandbox: sandbox?.id, argv: argv)
        process.logPath = logPath
        if let logPath { _ = LinuxSystem.appendFile(logPath, message + "\n") }
        if stderrFD >= 0 {
            process.stderrFD = stderrFD
            _ = message.withCString { write(stderrFD, $0, strlen($0)) }
            _ = write(stderrFD, "\n", 1)
        }
        let time = now
        let exit = ProcessExit(exitCode: 127, startError: message, time: time)
        process.exit = exit
        if !process.isContainer {
            process.captured = capturedOutput(process)
            process.closeDescriptors()
        }
        processes[id] = process
        sandbox?.processes.append(id)
        pending.append(.processExited(id, exit))
        if !process.isContainer { remember(id) }
        return SpawnedProcess(id: id, pid: Int(pid), startedAt: time)
    }

    private func spawnExec(_ request: SpawnRequest, sandboxID: SandboxID, container: ProcessID) throws(BackendError) -> SpawnedProcess {
        let operation = "exec(\(request.argv.first ?? ""))"
        guard let sandbox = sandboxes[sandboxID] else { throw BackendError(.noSuchSandbox, operation, "no such sandbox: \(sandboxID)") }
        guard let target = processes[container] else { throw BackendError(.noSuchProcess, operation, "unknown \(container)") }
        reap(target, report: true)
        guard target.exit == nil, case .container(let spec) = target.kind else {
            throw BackendError(.noSuchProcess, operation, "the container's process has exited")
        }
        let id = ProcessID(makeID())
        let stdinFD: Int32 = request.stdin.map { text in
            text.withCString { podspawn_memfd("stdin", $0, strlen($0)) }
        } ?? -1
        defer { if stdinFD >= 0 { close(stdinFD) } }
        let outFD = podspawn_memfd("stdout", "", 0)
        let errFD = podspawn_memfd("stderr", "", 0)
        guard outFD >= 0, errFD >= 0, request.stdin == nil || stdinFD >= 0 else {
            let code = errno
            if outFD >= 0 { close(outFD) }
            if errFD >= 0 { close(errFD) }
            throw BackendError(.resourceExhausted, operation, "memfd_create: \(LinuxSystem.describe(code))")
        }
        guard !request.argv.isEmpty else {
            close(outFD)
            return startFailure(id, kind: .exec(container: container), sandbox: sandbox, argv: [], pid: 0,
                                message: "exec: no command given", stderrFD: errFD)
        }
        let env = Self.environment(spec.env, hostname: sandbox.spec.effectiveHostname, extra: request.env)
        let join = Int32(PODSPAWN_NS_IPC | PODSPAWN_NS_UTS | PODSPAWN_NS_NET | PODSPAWN_NS_PID | PODSPAWN_NS_MNT)
        let cArgv = CStringArray(request.argv)
        let cEnv = CStringArray(env)
        let workdir = CStringArray([request.workingDir ?? spec.workingDir ?? "/"])
        let oomScoreAdj = ResourceMath.oomScoreAdj(pod: sandbox.spec, container: spec, memoryCapacity: Self.memoryCapacity)
        // An exec runs in the container's cgroup (its limits; it dies with the container).
        let procs = CStringArray(target.cgroup.map { cgroups.procsFiles($0) } ?? [])
        let procsCount = Int32(procs.pointers.count - 1)
        var failure = podspawn_error()
        let pid: pid_t = cArgv.withPointer { a in
            cEnv.withPointer { e in
                workdir.withPointer { w in
                    procs.withPointer { c in
                        c.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Int(procsCount) + 1) { cgroupFiles in
                            var process = podspawn_process(argv: a, envp: e, workdir: w[0], in_fd: stdinFD, out_fd: outFD, err_fd: errFD,
                                                           cgroup_procs: cgroupFiles, cgroup_count: procsCount, privileged: 0,
                                                           oom_score_adj: Int32(oomScoreAdj), oom_score_adj_set: 1)
                            return podspawn_exec(target.pid, join, 0, nil, &process, &failure)
                        }
                    }
                }
            }
        }
        guard pid > 0 else {
            let step = String(cString: failure.step)
            if step == "exec" {
                close(outFD)
                let failed = startFailure(id, kind: .exec(container: container), sandbox: sandbox, argv: request.argv,
                                          pid: failure.pid, message: Self.execMessage(request.argv[0], failure.error), stderrFD: errFD)
                return failed
            }
            close(outFD)
            close(errFD)
            throw BackendError(.system, operation, "\(step): \(LinuxSystem.describe(failure.error))")
        }
        let process = Process(id: id, pid: pid, kind: .exec(container: container), sandbox: sandbox.id, argv: request.argv)
        process.stdoutFD = outFD
        process.stderrFD = errFD
        processes[id] = process
        sandbox.processes.append(id)
        return SpawnedProcess(id: id, pid: Int(pid), startedAt: now)
    }

    private func spawnOnHost(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess {
        let operation = "exec(\(request.argv.first ?? ""))"
        let id = ProcessID(makeID())
        let stdinFD: Int32 = request.stdin.map { text in text.withCString { podspawn_memfd("stdin", $0, strlen($0)) } } ?? -1
        defer { if stdinFD >= 0 { close(stdinFD) } }
        let outFD = podspawn_memfd("stdout", "", 0)
        let errFD = podspawn_memfd("stderr", "", 0)
        guard outFD >= 0, errFD >= 0 else {
            let code = errno
            if outFD >= 0 { close(outFD) }
            if errFD >= 0 { close(errFD) }
            throw BackendError(.resourceExhausted, operation, "memfd_create: \(LinuxSystem.describe(code))")
        }
        guard let program = request.argv.first else {
            close(outFD)
            return startFailure(id, kind: .host, sandbox: nil, argv: [], pid: 0, message: "exec: no command given", stderrFD: errFD)
        }
        // The host's environment, with the request's variables over it.
        var env: [String] = []
        if var pointer = podspawn_environ() {
            while let entry = pointer.pointee {
                env.append(String(cString: entry))
                pointer += 1
            }
        }
        let overridden = Set(request.env.map(\.name))
        env = env.filter { entry in !overridden.contains(String(entry.prefix { $0 != "=" })) }
        env += request.env.map { "\($0.name)=\($0.value)" }
        let cArgv = CStringArray(request.argv)
        let cEnv = CStringArray(env)
        var pid: pid_t = 0
        let status = cArgv.withPointer { a in cEnv.withPointer { e in podspawn_host(program, a, e, stdinFD, outFD, errFD, &pid) } }
        guard status == 0 else {
            close(outFD)
            if status == ENOENT || status == EACCES || status == ENOEXEC {
                return startFailure(id, kind: .host, sandbox: nil, argv: request.argv, pid: 0,
                                    message: Self.execMessage(program, status), stderrFD: errFD)
            }
            close(errFD)
            throw BackendError(status == EAGAIN || status == ENOMEM ? .resourceExhausted : .system, operation,
                               "posix_spawn: \(LinuxSystem.describe(status))")
        }
        let process = Process(id: id, pid: pid, kind: .host, sandbox: nil, argv: request.argv)
        process.stdoutFD = outFD
        process.stderrFD = errFD
        processes[id] = process
        return SpawnedProcess(id: id, pid: Int(pid), startedAt: now)
    }

    public func signal(_ id: ProcessID, _ signal: Signal) throws(BackendError) {
        let operation = "signal(\(signal))"
        guard let process = processes[id] else { throw BackendError(.noSuchProcess, operation, "unknown \(id)") }
        reap(process, report: true)
        guard process.exit == nil else {
            throw BackendError(.noSuchProcess, operation, "process \(process.pid) has exited")
        }
        process.sent = signal
        guard kill(process.pid, signal.number) == 0 else {
            throw BackendError(.noSuchProcess, operation, "kill \(process.pid): \(LinuxSystem.describe(errno))")
        }
    }

    // MARK: Waiting

    /// Collects the exit of `process` if it has ended (a per-pid, non-blocking wait).
    private func reap(_ process: Process, report: Bool) {
        guard process.exit == nil, process.pid > 0 else { return }
        var status: Int32 = 0
        let result = waitpid(process.pid, &status, WNOHANG)
        if result == 0 || (result < 0 && errno == EINTR) { return }
        let exit: ProcessExit
        if result < 0 {
            // ECHILD: someone else waited for it (a waitpid(-1) elsewhere in the program).
            exit = ProcessExit(exitCode: 255, sender: "unknown: the exit status was collected elsewhere", time: now)
        } else {
            let decoded = WaitStatus(status)
            // Killed by the kernel for its cgroup's memory limit: the run's own cgroup counts it
            // (a fresh cgroup per run, so any count is this run's).
            let oom = decoded.signal == .kill && process.isContainer && process.cgroup.map { cgroups.oomKills($0) > 0 } == true
            let sender = oom ? "the kernel (OOM killer)" : decoded.signal.flatMap { $0 == process.sent ? "the runtime" : nil }
            exit = ProcessExit(exitCode: decoded.exitCode, signal: decoded.signal, sender: sender, oomKilled: oom, time: now)
        }
        process.exit = exit
        if process.pidfd >= 0 {
            close(process.pidfd)
            process.pidfd = -1
        }
        ended(process)
        guard report else { return }
        if case .forwarder = process.kind { return }  // the sandbox's own; not a process the runtime started
        if let sandbox = process.sandbox.flatMap({ sandboxes[$0] }), sandbox.detached { return }
        if case .infra = process.kind, let sandbox = process.sandbox {
            pending.append(.infraExited(sandbox, exit))
        } else {
            pending.append(.processExited(process.id, exit))
        }
    }

    /// After an exit: a container's execs die with it (as with its cgroup in Kubernetes) and its
    /// writable layer goes; a command's output is kept for a while.
    private func ended(_ process: Process) {
        switch process.kind {
        case .container:
            if let sandbox = process.sandbox.flatMap({ sandboxes[$0] }) {
                for id in sandbox.processes {
                    guard let other = processes[id], other.exit == nil, case .exec(let container) = other.kind,
                          container == process.id else { continue }
                    kill(other.pid, SIGKILL)
                }
            }
            if let runDir = process.runDir {
                LinuxSystem.removeTree(runDir)
                process.runDir = nil
            }
            // What is left in its cgroup dies with it (execs, children that escaped a hostPID
            // container's PID 1); the cgroup goes once empty.
            if let cgroup = process.cgroup, cgroups.remove(cgroup) { process.cgroup = nil }
            if let sandbox = process.sandbox.flatMap({ sandboxes[$0] }),
               let index = sandbox.record.containers.firstIndex(where: { $0.process?.pid == process.pid }) {
                sandbox.record.containers[index].exited = true
                sandbox.recordDirty = true
            }
        case .exec, .host:
            // Keep the words, not the descriptors: a long session must not run out of fds.
            process.captured = capturedOutput(process)
            process.closeDescriptors()
            remember(process.id)
        case .infra, .forwarder:
            break
        }
    }

    private func remember(_ id: ProcessID) {
        finishedCommands.append(id)
        while finishedCommands.count > Self.keptCommandOutputs {
            let old = finishedCommands.removeFirst()
            guard let process = processes[old] else { continue }
            process.closeDescriptors()
            processes[old] = nil
            if let sandbox = process.sandbox.flatMap({ sandboxes[$0] }) { sandbox.processes.removeAll { $0 == old } }
        }
    }

    /// Sleeps until one of `live` may have exited (its pidfd is readable) or `timeout` seconds.
    private func waitForAny(_ live: [Process], timeout: Double) {
        var fds = live.compactMap { $0.pidfd >= 0 ? pollfd(fd: $0.pidfd, events: Int16(POLLIN), revents: 0) : nil }
        let milliseconds = timeout.isInfinite ? -1 : Int32(min(max(0, (timeout * 1000).rounded(.up)), 1_000_000))
        if fds.isEmpty {
            if milliseconds > 0 { usleep(UInt32(min(milliseconds, 1000)) * 1000) }
            return
        }
        _ = Glibc.poll(&fds, nfds_t(fds.count), milliseconds)
    }

    /// Writes the records whose container entries changed.
    private func flushRecords() {
        for sandbox in sandboxes.values where sandbox.recordDirty {
            sandbox.recordDirty = false
            save(sandbox)
        }
    }

    /// Collects every exit that happened. Exits found in one sweep are in no known order; an
    /// OOM kill goes before an infra exit of the same sweep (the OOM killer may take the pause
    /// right after the container it killed, when the pod's memory stays charged — a Memory
    /// emptyDir — and the container's end must keep its reason).
    private func sweep() {
        let before = pending.count
        for process in processes.values.sorted(by: { $0.id.rawValue < $1.id.rawValue }) where process.exit == nil {
            reap(process, report: true)
        }
        guard pending.count - before > 1 else { return }
        let found = pending[before...]
        func isOOM(_ event: BackendEvent) -> Bool {
            if case .processExited(_, let exit) = event { return exit.oomKilled }
            return false
        }
        pending = Array(pending[..<before]) + found.filter(isOOM) + found.filter { !isOOM($0) }
    }

    /// Returns what was observed; waits (up to a second at a time) only when nothing was.
    public func poll(until deadline: Double?) -> [BackendEvent] {
        flushRecords()
        while true {
            sweep()
            if !pending.isEmpty || deadline == nil {
                let out = pending
                pending = []
                return out
            }
            let remaining = deadline! - now
            if remaining <= 0 { return [] }
            let live = processes.values.filter { $0.exit == nil && $0.pid > 0 }
            if live.isEmpty && remaining.isInfinite { return [] }
            // Wake at least once a second: a process whose pidfd could not be made is polled, and
            // the caller gets to check its own interruption (Ctrl-C in podsh) — a return without
            // events is allowed, the runtime polls again.
            waitForAny(live, timeout: min(remaining, 1))
            sweep()
            let out = pending
            pending = []
            return out
        }
    }

    public func output(of id: ProcessID) -> ProcessOutput {
        guard let process = processes[id] else { return ProcessOutput() }
        if let logPath = process.logPath {
            return ProcessOutput(combined: LinuxSystem.readFile(logPath))
        }
        return process.captured ?? capturedOutput(process)
    }

    private func capturedOutput(_ process: Process) -> ProcessOutput {
        let out = process.stdoutFD >= 0 ? String(decoding: LinuxSystem.readAll(fd: process.stdoutFD), as: UTF8.self) : ""
        let err = process.stderrFD >= 0 ? String(decoding: LinuxSystem.readAll(fd: process.stderrFD), as: UTF8.self) : ""
        return ProcessOutput(stdout: out, stderr: err, combined: out + err)
    }

    // MARK: Inventory

    public func inventory() -> BackendInventory {
        for process in processes.values where process.exit == nil { reap(process, report: true) }
        // Detached pods belong to the state directory now (`podsh rm`/`gc`), not to this backend.
        let held = sandboxes.values.filter { !$0.detached }
        let detached = Set(sandboxes.values.filter(\.detached).map(\.id))
        let live = processes.values.filter { $0.exit == nil && $0.pid > 0 && !($0.sandbox.map(detached.contains) ?? false) }
            .sorted { $0.id.rawValue < $1.id.rawValue }
        var namespaces = 0
        var details: [String] = []
        for sandbox in held.sorted(by: { $0.id.rawValue < $1.id.rawValue }) {
            details.append("sandbox \(sandbox.id.rawValue) (\(sandbox.spec.name)) at \(sandbox.dir)")
            if processes[sandbox.infra]?.exit == nil { namespaces += sandbox.namespaces.nonzeroBitCount }
            details += sandbox.volumes.mounts.map { "tmpfs mount \($0)" }
            details.append("cgroup \(sandbox.cgroup) (\(cgroups.version))")
            details += sandbox.published.map { "published port \($0)" }
        }
        for process in live {
            // A container run has its own mount namespace, and a PID namespace unless shared.
            if case .container = process.kind, let sandbox = process.sandbox.flatMap({ sandboxes[$0] }) {
                namespaces += sandbox.sharesPID || sandbox.spec.hostPID ? 1 : 2
            }
            details.append("process \(process.pid) (\(process.argv.joined(separator: " ")))")
        }
        return BackendInventory(sandboxes: held.count, processes: live.count, namespaces: namespaces, details: details)
    }

    /// The pod cgroup of a sandbox (below each hierarchy's root), for tests and `inspect`.
    public func cgroup(of sandbox: SandboxID) -> String? {
        sandboxes[sandbox]?.cgroup
    }

    /// The cgroup of a running container process.
    public func cgroup(ofProcess process: ProcessID) -> String? {
        processes[process]?.cgroup
    }

    /// The host pid of a sandbox's port forwarder, if it publishes ports.
    public func forwarderPid(of sandbox: SandboxID) -> Int? {
        sandboxes[sandbox]?.forwarder.flatMap { processes[$0] }.map { Int($0.pid) }
    }

    /// The pod directory of a sandbox (volumes, layers, logs), for tests and `inspect`.
    public func directory(of sandbox: SandboxID) -> String? {
        sandboxes[sandbox]?.dir
    }
}

/// Moves a process into a cgroup by pid (the pause, from its owner).
enum LinuxCgroupJoin {
    static func write(_ file: String, _ pid: pid_t) throws(BackendError) {
        let fd = open(file, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BackendError(.system, "cgroup", "open \(file): \(LinuxSystem.describe(errno))") }
        defer { close(fd) }
        let text = String(pid)
        guard text.withCString({ Glibc.write(fd, $0, strlen($0)) }) >= 0 else {
            throw BackendError(.system, "cgroup", "join \(file): \(LinuxSystem.describe(errno))")
        }
    }
}
