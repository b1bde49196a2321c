import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

extension LinuxBackend {
    // MARK: Sandboxes

    public func createSandbox(_ request: SandboxRequest) throws(BackendError) -> SandboxInfo {
        try StateLock.locked { () throws(BackendError) -> SandboxInfo in try createSandboxLocked(request) }
    }

    private func createSandboxLocked(_ request: SandboxRequest) throws(BackendError) -> SandboxInfo {
        let operation = "createSandbox(\(request.podName))"
        // Images are not checked here: the runtime gets each before its container starts
        // (pulling it, or waiting with ErrImagePull), as kubelet does after the sandbox exists.
        // Host ports: listening sockets made here, in the host's network namespace; a port
        // another program (or pod) holds is refused before anything exists.
        let listeners = try listen(request.hostPorts, operation: operation)
        defer { for l in listeners { close(l.fd) } }  // the forwarder has its own copies
        let dirName = request.podName + "-" + LinuxSystem.randomHex()
        let dir = options.stateDir + "/pods/" + dirName
        // The record comes first, naming the directory and the cgroup before either holds
        // anything: the directory is made under a temporary name that says who makes it, with
        // the record inside, then renamed into place — so it never exists without its record,
        // and `podsh gc` finds everything whatever happens next.
        let staging = options.stateDir + "/pods/.new-\(dirName)-\(getpid())"
        if let code = LinuxSystem.makeDirectories(staging, mode: 0o711) {
            throw SystemCall.failure("mkdir", staging, code, operation: operation)
        }
        let cgroup = options.cgroupParent + "/" + dirName
        var record = LinuxPodRecord(
            name: request.podName, id: dirName, uid: request.uid, hostname: request.hostname,
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
            // A user namespace's ID range is taken by the record that names it, written under
            // the allocation lock.
            func place() throws(BackendError) {
                try state.write(record, into: staging)
                try SystemCall.check("rename", "\(staging), \(dir)", operation: operation) { rename(staging, dir) }
            }
            if request.userNamespace {
                try state.withFreeIDRange(operation) { (start: UInt32) throws(BackendError) in
                    record.idRange = start
                    try place()
                }
            } else {
                try place()
            }
            volumes = try LinuxVolumes.make(
                request.volumes, podDir: dir, allowHostPaths: options.allowHostPaths, fsGroup: request.fsGroup,
                idBase: record.idRange, operation: operation)
            record.mounts = volumes.mounts
            // The manifest stream as JSON documents (JSON is YAML): `podsh inspect` shows it.
            _ = LinuxSystem.writeFile(
                dir + "/spec.yaml", request.manifest.map { $0.jsonText + "\n" }.joined(separator: "---\n"),
                mode: 0o600)
            // The pod's cgroup with kubelet's pod-level values and the pod pids limit, and a leaf
            // for the pause (cgroup v2 keeps processes out of a cgroup that has children).
            try cgroups.create(cgroup, values: request.cgroup, pidsMax: options.podPidsLimit)
            try cgroups.create(cgroup + "/pause", values: CgroupValues(cpuShares: ResourceMath.minShares), pidsMax: nil)
            try state.write(record)
        } catch {
            undo()
            throw BackendError(
                error.code, error.operation == "state" || error.operation == "cgroup" ? operation : error.operation,
                error.message)
        }
        var namespaces: Int32 = 0
        if request.namespaces.network == .pod { namespaces |= LinuxNamespace.net.bit | LinuxNamespace.uts.bit }
        if request.namespaces.ipc == .pod { namespaces |= LinuxNamespace.ipc.bit }
        if request.namespaces.pid == .pod { namespaces |= LinuxNamespace.pid.bit }
        if record.idRange != nil { namespaces |= Int32(PODSPAWN_NS_USER) }
        // The pause joins its cgroup itself, before its pid is known here.
        let pauseProcs = CStringArray(cgroups.procsFiles(cgroup + "/pause"))
        let pauseProcsCount = Int32(pauseProcs.pointers.count - 1)
        var failure = podspawn_error()
        let pid = pauseProcs.withPointer { c in
            c.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Int(pauseProcsCount) + 1) {
                podspawn_sandbox(request.hostname, namespaces, $0, pauseProcsCount, &failure)
            }
        }
        guard pid > 0 else {
            undo()
            throw SystemCall.failure(failure, operation: operation)
        }
        if let start = record.idRange {
            // The pod's user namespace: its 0..65535 onto the range, before any container runs
            // (the pause needs no ID in it); kubelet's -998 for the pause, which it could not
            // set itself without the host's CAP_SYS_RESOURCE.
            let map = "0 \(start) \(LinuxState.idRangeSize)\n"
            for file in ["uid_map", "gid_map"] {
                if let code = LinuxSystem.writeExisting("/proc/\(pid)/\(file)", map) {
                    kill(pid, SIGKILL)
                    _ = LinuxSystem.waitExit(pid)
                    undo()
                    throw SystemCall.failure("write", "/proc/\(pid)/\(file)", code, operation: operation)
                }
            }
            _ = LinuxSystem.writeExisting("/proc/\(pid)/oom_score_adj", "-998\n")
        }
        record.infra = ProcessStamp.of(pid)
        let id = SandboxID(makeID())
        let infra = Process(id: ProcessID(makeID()), pid: pid, kind: .infra, sandbox: id, argv: ["pause"])
        processes[infra.id] = infra
        let sandbox = Sandbox(id: id, request: request, dir: dir, infra: infra.id, infraPid: pid, namespaces: namespaces, volumes: volumes)
        sandbox.idRange = record.idRange
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
                throw SystemCall.failure(failure, operation: operation)
            }
            let process = Process(
                id: ProcessID(makeID()), pid: forwarder, kind: .forwarder, sandbox: id,
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
    func save(_ sandbox: Sandbox) {
        try? state.write(sandbox.record)
    }

    struct Listener {
        let fd: Int32
        let hostPort: Int
        let containerPort: Int
    }

    /// Listening sockets for the pod's host ports (TCP; with hostNetwork the container's own
    /// socket is the host's, so there is nothing to publish).
    func listen(_ mappings: [HostPortMapping], operation: String) throws(BackendError) -> [Listener] {
        var out: [Listener] = []
        func fail(_ error: BackendError) -> BackendError {
            for l in out { close(l.fd) }
            return error
        }
        for port in mappings {
            do {
                let hostPort = port.hostPort
                guard port.protocol == .tcp else {
                    throw fail(
                        BackendError(
                            .unsupported, operation,
                            "container \"\(port.container)\": hostPort \(hostPort)/\(port.protocol.rawValue): the linux backend publishes TCP ports only"
                        ))
                }
                if out.contains(where: { $0.hostPort == hostPort }) { continue }
                if out.count == Int(PODSPAWN_MAX_FORWARDS) {
                    throw fail(BackendError(.unsupported, operation, "more than \(PODSPAWN_MAX_FORWARDS) host ports"))
                }
                var code: Int32 = 0
                let fd = podspawn_listen_tcp(Int32(hostPort), &code)
                guard fd >= 0 else {
                    throw fail(
                        BackendError(
                            code == EADDRINUSE ? .unsupported : .system, operation,
                            code == EADDRINUSE
                                ? "host port \(hostPort)/TCP is already in use"
                                : "\(SystemCall.named("listen", "0.0.0.0:\(hostPort)")): \(LinuxSystem.describe(code))",
                            systemError: code))
                }
                out.append(Listener(fd: fd, hostPort: hostPort, containerPort: port.containerPort))
            }
        }
        return out
    }

    public func removeSandbox(_ id: SandboxID) throws(BackendError) {
        try StateLock.locked { () throws(BackendError) in try removeSandboxLocked(id) }
    }

    private func removeSandboxLocked(_ id: SandboxID) throws(BackendError) {
        guard let sandbox = sandboxes[id] else { return }
        // Containers and execs, then the pause: SIGKILL, and every one reaped before the pause is
        // waited for (a dying PID 1 waits until its namespace's members are reaped).
        let members = sandbox.processes.compactMap { processes[$0] }
        let loggers = members.compactMap { $0.logger.flatMap { processes[$0] } }
        for process in members.reversed() + loggers where process.exit == nil { kill(process.pid, SIGKILL) }
        let forwarder = sandbox.forwarder.flatMap { processes[$0] }
        if let forwarder, forwarder.exit == nil { kill(forwarder.pid, SIGKILL) }
        if let infra = processes[sandbox.infra], infra.exit == nil { kill(infra.pid, SIGKILL) }
        let all = members + loggers + [forwarder, processes[sandbox.infra]].compactMap { $0 }
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
            case .infraExited(let s, _), .sandboxEvicted(let s, _): return s == id
            case .imagePulled: return false
            }
        }
        finishedCommands.removeAll { ids.contains($0) }
        for process in all where process.exit != nil {
            process.closeDescriptors()
            processes[process.id] = nil
        }
        if !stuck.isEmpty {
            throw BackendError(
                .system, "removeSandbox(\(sandbox.request.podName))",
                "pids \(stuck.map { String($0.pid) }.joined(separator: ", ")) did not exit after SIGKILL")
        }
    }
}
