import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

extension LinuxBackend {
    // MARK: Processes

    public func spawn(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess {
        try StateLock.locked { () throws(BackendError) -> SpawnedProcess in try spawnLocked(request) }
    }

    private func spawnLocked(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess {
        switch request.context {
        case .host:
            return try spawnOnHost(request)
        case .container(let id, let container):
            return try spawnContainer(request, sandboxID: id, container: container)
        case .exec(let id, let container):
            return try spawnExec(request, sandboxID: id, container: container)
        }
    }

    func liveSandbox(_ id: SandboxID, _ operation: String) throws(BackendError) -> Sandbox {
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

    func spawnContainer(_ request: SpawnRequest, sandboxID: SandboxID, container: ContainerRequest) throws(BackendError) -> SpawnedProcess {
        let operation = "spawn(\(container.name))"
        let sandbox = try liveSandbox(sandboxID, operation)
        // Admission refuses these first; a caller that drives the backend directly is held to
        // the same rule.
        if container.image.isEmpty || (container.image == ImageStore.hostImage && !options.allowHostImage) {
            throw BackendError(
                .unsupported, operation,
                container.image.isEmpty ? "no image (the linux backend has no default image)" : "the host image is not allowed (allowHostImage)")
        }
        let lowerDirectories: [String]
        do {
            lowerDirectories = try store.lowerDirectories(for: container.image)
        } catch {
            throw BackendError(error.code, operation, error.message)
        }
        let lower = lowerDirectories.joined(separator: ":")
        let run = (sandbox.runs[container.name] ?? 0) + 1
        sandbox.runs[container.name] = run
        let runDir = sandbox.dir + "/runs/\(container.name)-\(run)"
        let logDir = sandbox.dir + "/logs/" + container.name
        // The mount point of every container's root is one directory of the pod: each container
        // mounts its overlay there in a mount namespace of its own.
        let merged = sandbox.dir + "/rootfs"
        for dir in [runDir + "/upper", runDir + "/work", merged, logDir] {
            if let code = LinuxSystem.makeDirectories(dir, mode: 0o755) {
                throw SystemCall.failure("mkdir", dir, code, operation: operation)
            }
        }
        let logName = "\(run).log"
        let logPath = logDir + "/" + logName
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
            return startFailure(
                id, kind: .container(container), sandbox: sandbox, argv: argv, pid: 0,
                message: "exec: no command given (the image has no Entrypoint or Cmd: set command)",
                logPath: logPath)
        }
        // The image's User, resolved in the image (runc's rules), and runAsUser and friends; a
        // name the image lacks fails the start.
        var user: ImageUser?
        do {
            user = try ImageUser.effective(container, lower: lowerDirectories)
        } catch {
            LinuxSystem.removeTree(runDir)
            return startFailure(
                id, kind: .container(container), sandbox: sandbox, argv: argv, pid: 0, message: error.message, logPath: logPath)
        }
        let security = container.security
        // Its seccomp filter (compiled once per profile and capability set); a Localhost
        // profile that cannot be read or parsed fails the start, naming the file.
        let seccomp: SeccompFilter?
        do {
            seccomp = try seccompFilters.filter(security.seccomp, capabilities: security.capabilities, root: options.seccompProfileRoot)
        } catch {
            LinuxSystem.removeTree(runDir)
            return startFailure(
                id, kind: .container(container), sandbox: sandbox, argv: argv, pid: 0, message: error.message, logPath: logPath)
        }
        // In the pod's user namespace: the run's layer is the pod root's, and the process always
        // sets its user (root inside by default).
        let userns: Int32
        do {
            userns = try openUserNamespace(sandbox, operation)
        } catch {
            LinuxSystem.removeTree(runDir)
            throw error
        }
        defer { if userns >= 0 { close(userns) } }
        if let base = sandbox.idRange {
            for dir in [runDir + "/upper", runDir + "/work"] where lchown(dir, base, base) != 0 {
                let code = errno
                LinuxSystem.removeTree(runDir)
                throw SystemCall.failure("chown", dir, code, operation: operation)
            }
            if user == nil { user = ImageUser(uid: 0, gid: 0, groups: [0]) }
        }
        let groups = user?.groups ?? []
        // A cgroup per run, with kubelet's container values, joined before exec.
        let cgroup = sandbox.cgroup + "/\(container.name)-\(run)"
        do {
            try cgroups.create(cgroup, values: container.cgroup, pidsMax: nil)
        } catch {
            cgroups.remove(cgroup)
            LinuxSystem.removeTree(runDir)
            throw BackendError(error.code, operation, error.message)
        }
        let procs = CStringArray(cgroups.procsFiles(cgroup))
        let procsCount = Int32(procs.pointers.count - 1)
        // Its stdout and stderr: the write end of a pipe whose read end its log shim holds.
        let log: (logger: Process, writeEnd: Int32)
        do {
            log = try startLogger(sandbox, directory: logDir, name: logName, logPath: logPath, operation: operation)
        } catch {
            cgroups.remove(cgroup)
            LinuxSystem.removeTree(runDir)
            throw error
        }
        var writeEnd = log.writeEnd
        defer { if writeEnd >= 0 { close(writeEnd) } }
        /// Ends the log of a run that did not start: no writer is left, the shim ends.
        func endLog() {
            close(writeEnd)
            writeEnd = -1
            finishLog(log.logger)
        }
        let oomScoreAdj = container.oomScoreAdj(qosClass: sandbox.request.qosClass, memoryCapacity: Self.memoryCapacity)
        let env = Self.environment(request.env, hostname: sandbox.request.hostname)
        var join = Int32(PODSPAWN_NS_IPC | PODSPAWN_NS_UTS | PODSPAWN_NS_NET)
        if sandbox.sharesPID { join |= Int32(PODSPAWN_NS_PID) }
        let newPID: Int32 = sandbox.request.namespaces.pid == .container ? 1 : 0
        let strings = CStringArray(
            [lower, runDir + "/upper", runDir + "/work", merged] + opened.map(\.target)
                + [request.workingDir ?? "/"])
        let cArgv = CStringArray(argv)
        let cEnv = CStringArray(env)
        var failure = podspawn_error()
        let pid: pid_t = strings.withPointer { s in
            let mounts = opened.enumerated().map { i, o in
                podspawn_mount(source_fd: o.fd, target: s[4 + i], read_only: o.readOnly ? 1 : 0, is_file: o.isFile ? 1 : 0)
            }
            return mounts.withUnsafeBufferPointer { buffer in
                var root = podspawn_root(
                    lower: s[0], upper: s[1], work: s[2], merged: s[3], mounts: buffer.baseAddress,
                    mount_count: Int32(buffer.count), read_only: security.readOnlyRootFilesystem ? 1 : 0)
                return cArgv.withPointer { a in
                    cEnv.withPointer { e in
                        procs.withPointer { c in
                            c.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Int(procsCount) + 1) { cgroupFiles in
                                groups.withUnsafeBufferPointer { groupList in
                                    Self.withFilter(seccomp) { filter, filterLength in
                                    var process = podspawn_process(
                                        argv: a, envp: e, workdir: s[4 + opened.count], in_fd: -1, out_fd: writeEnd,
                                        err_fd: writeEnd, cgroup_procs: cgroupFiles, cgroup_count: procsCount,
                                        privileged: security.privileged ? 1 : 0, oom_score_adj: Int32(oomScoreAdj),
                                        oom_score_adj_set: 1, set_user: user == nil ? 0 : 1, uid: user?.uid ?? 0,
                                        gid: user?.gid ?? 0, groups: groupList.baseAddress, group_count: Int32(groupList.count),
                                        capabilities: security.capabilityMask, no_new_privs: security.noNewPrivileges ? 1 : 0,
                                        unmasked: security.unmaskedProc ? 1 : 0, seccomp_filter: filter, seccomp_length: filterLength,
                                        userns_fd: userns, id_base: sandbox.idRange ?? 0)
                                    return podspawn_exec(sandbox.infraPid, join, newPID, &root, &process, &failure)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        guard pid > 0 else {
            LinuxSystem.removeTree(runDir)
            cgroups.remove(cgroup)
            endLog()
            if SystemCall.call(of: failure) == "execve" {
                return startFailure(
                    id, kind: .container(container), sandbox: sandbox, argv: argv, pid: failure.pid,
                    message: Self.execMessage(argv[0], failure.error), logPath: logPath)
            }
            throw SystemCall.failure(failure, operation: operation)
        }
        let process = Process(id: id, pid: pid, kind: .container(container), sandbox: sandbox.id, argv: argv)
        process.logPath = logPath
        process.logger = log.logger.id
        log.logger.run = id
        process.runDir = runDir
        process.cgroup = cgroup
        process.user = user
        process.seccomp = seccomp
        processes[id] = process
        sandbox.processes.append(id)
        sandbox.record.containers.removeAll { $0.name == container.name }
        sandbox.record.containers.append(
            LinuxPodRecord.Container(
                name: container.name, run: run, process: ProcessStamp.of(pid),
                cgroup: cgroup, exited: false, logger: ProcessStamp.of(log.logger.pid)))
        sandbox.recordDirty = true
        return SpawnedProcess(id: id, pid: Int(pid), startedAt: now)
    }

    /// A run's log shim in the pod's pause cgroup, reading a new pipe into `directory/name`;
    /// returns it with the pipe's write end (close-on-exec: only the container gets it).
    func startLogger(
        _ sandbox: Sandbox, directory: String, name: String, logPath: String, operation: String
    ) throws(BackendError) -> (logger: Process, writeEnd: Int32) {
        let pauseProcs = CStringArray(cgroups.procsFiles(sandbox.cgroup + "/pause"))
        let pauseProcsCount = Int32(pauseProcs.pointers.count - 1)
        var failure = podspawn_error()
        var writeEnd: Int32 = -1
        let pid = pauseProcs.withPointer { c in
            c.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Int(pauseProcsCount) + 1) {
                podspawn_logger(directory, name, options.containerLogMaxSize, $0, pauseProcsCount, &writeEnd, &failure)
            }
        }
        guard pid > 0 else { throw SystemCall.failure(failure, operation: operation) }
        let logger = Process(id: ProcessID(makeID()), pid: pid, kind: .logger, sandbox: sandbox.id, argv: ["pod-logger", logPath])
        processes[logger.id] = logger
        return (logger, writeEnd)
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
    func startFailure(
        _ id: ProcessID, kind: Process.Kind, sandbox: Sandbox?, argv: [String], pid: pid_t,
        message: String, logPath: String? = nil, stderrFD: Int32 = -1
    ) -> SpawnedProcess {
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

    func spawnExec(_ request: SpawnRequest, sandboxID: SandboxID, container: ProcessID) throws(BackendError) -> SpawnedProcess {
        let operation = "exec(\(request.argv.first ?? ""))"
        guard let sandbox = sandboxes[sandboxID] else { throw BackendError(.noSuchSandbox, operation, "no such sandbox: \(sandboxID)") }
        guard let target = processes[container] else { throw BackendError(.noSuchProcess, operation, "unknown \(container)") }
        reap(target, report: true)
        guard target.exit == nil, case .container(let spec) = target.kind else {
            throw BackendError(.noSuchProcess, operation, "the container's process has exited")
        }
        let id = ProcessID(makeID())
        // Before any descriptor of the exec's is made, so that a failure leaves none.
        let userns = try openUserNamespace(sandbox, operation)
        defer { if userns >= 0 { close(userns) } }
        let stdinFD: Int32 =
            request.stdin.map { text in
                text.withCString { podspawn_memfd("stdin", $0, strlen($0)) }
            } ?? -1
        defer { if stdinFD >= 0 { close(stdinFD) } }
        let outFD = podspawn_memfd("stdout", "", 0)
        let errFD = podspawn_memfd("stderr", "", 0)
        guard outFD >= 0, errFD >= 0, request.stdin == nil || stdinFD >= 0 else {
            let code = errno
            if outFD >= 0 { close(outFD) }
            if errFD >= 0 { close(errFD) }
            throw SystemCall.failure("memfd_create", "exec streams", code, operation: operation)
        }
        guard !request.argv.isEmpty else {
            close(outFD)
            return startFailure(
                id, kind: .exec(container: container), sandbox: sandbox, argv: [], pid: 0,
                message: "exec: no command given", stderrFD: errFD)
        }
        let env = Self.environment(spec.env, hostname: sandbox.request.hostname, extra: request.env)
        let join = Int32(PODSPAWN_NS_IPC | PODSPAWN_NS_UTS | PODSPAWN_NS_NET | PODSPAWN_NS_PID | PODSPAWN_NS_MNT)
        let cArgv = CStringArray(request.argv)
        let cEnv = CStringArray(env)
        let workdir = CStringArray([request.workingDir ?? spec.workingDir ?? "/"])
        let oomScoreAdj = spec.oomScoreAdj(qosClass: sandbox.request.qosClass, memoryCapacity: Self.memoryCapacity)
        // An exec runs in the container's cgroup (its limits; it dies with the container).
        let procs = CStringArray(target.cgroup.map { cgroups.procsFiles($0) } ?? [])
        let procsCount = Int32(procs.pointers.count - 1)
        var failure = podspawn_error()
        let pid: pid_t = cArgv.withPointer { a in
            cEnv.withPointer { e in
                workdir.withPointer { w in
                    procs.withPointer { c in
                        c.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Int(procsCount) + 1) { cgroupFiles in
                            let user = target.user ?? (sandbox.idRange == nil ? nil : ImageUser(uid: 0, gid: 0, groups: [0]))
                            return (user?.groups ?? []).withUnsafeBufferPointer { groupList in
                                Self.withFilter(target.seccomp) { filter, filterLength in
                                var process = podspawn_process(
                                    argv: a, envp: e, workdir: w[0], in_fd: stdinFD, out_fd: outFD, err_fd: errFD,
                                    cgroup_procs: cgroupFiles, cgroup_count: procsCount,
                                    privileged: spec.security.privileged ? 1 : 0, oom_score_adj: Int32(oomScoreAdj),
                                    oom_score_adj_set: 1, set_user: user == nil ? 0 : 1, uid: user?.uid ?? 0,
                                    gid: user?.gid ?? 0, groups: groupList.baseAddress, group_count: Int32(groupList.count),
                                    capabilities: spec.security.capabilityMask,
                                    no_new_privs: spec.security.noNewPrivileges ? 1 : 0, unmasked: 0,
                                    seccomp_filter: filter, seccomp_length: filterLength, userns_fd: userns,
                                    id_base: sandbox.idRange ?? 0)
                                return podspawn_exec(target.pid, join, 0, nil, &process, &failure)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard pid > 0 else {
            if SystemCall.call(of: failure) == "execve" {
                close(outFD)
                let failed = startFailure(
                    id, kind: .exec(container: container), sandbox: sandbox, argv: request.argv,
                    pid: failure.pid, message: Self.execMessage(request.argv[0], failure.error), stderrFD: errFD)
                return failed
            }
            close(outFD)
            close(errFD)
            throw SystemCall.failure(failure, operation: operation)
        }
        let process = Process(id: id, pid: pid, kind: .exec(container: container), sandbox: sandbox.id, argv: request.argv)
        process.stdoutFD = outFD
        process.stderrFD = errFD
        processes[id] = process
        sandbox.processes.append(id)
        return SpawnedProcess(id: id, pid: Int(pid), startedAt: now)
    }

    func spawnOnHost(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess {
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
            throw SystemCall.failure("memfd_create", "exec streams", code, operation: operation)
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
                return startFailure(
                    id, kind: .host, sandbox: nil, argv: request.argv, pid: 0,
                    message: Self.execMessage(program, status), stderrFD: errFD)
            }
            close(errFD)
            throw SystemCall.failure("posix_spawn", program, status, operation: operation)
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
        process.sentBecause = nil
        guard kill(process.pid, signal.number) == 0 else {
            let code = errno
            throw BackendError(
                .noSuchProcess, operation, "kill(\(process.pid), \(signal)): \(LinuxSystem.describe(code))",
                systemError: code)
        }
    }
}

extension LinuxBackend {
    /// Calls `body` with the filter's program and instruction count (nil, 0 without one).
    static func withFilter<R>(_ filter: SeccompFilter?, _ body: (UnsafeRawPointer?, UInt32) -> R) -> R {
        guard let filter else { return body(nil, 0) }
        return filter.program.withUnsafeBytes { body($0.baseAddress, UInt32(filter.instructionCount)) }
    }
}

extension LinuxBackend {
    /// The pod's user namespace (its pause's), open for a process to join; -1 for a pod in the
    /// host's.
    func openUserNamespace(_ sandbox: Sandbox, _ operation: String) throws(BackendError) -> Int32 {
        guard sandbox.idRange != nil else { return -1 }
        let path = "/proc/\(sandbox.infraPid)/ns/user"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCall.failure("open", path, errno, operation: operation) }
        return fd
    }
}
