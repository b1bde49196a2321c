import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

extension LinuxBackend {
    // MARK: Waiting

    /// Collects the exit of `process` if it has ended (a per-pid, non-blocking wait).
    func reap(_ process: Process, report: Bool) {
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
            let sender =
                oom ? "the kernel (OOM killer)" : decoded.signal.flatMap { $0 == process.sent ? process.sentBecause ?? "the runtime" : nil }
            exit = ProcessExit(exitCode: decoded.exitCode, signal: decoded.signal, sender: sender, oomKilled: oom, time: now)
        }
        process.exit = exit
        if process.pidfd >= 0 {
            close(process.pidfd)
            process.pidfd = -1
        }
        ended(process)
        if process.isLogger {
            // Its end is its run's, and nothing to report — unless the run still goes on: its
            // output has nowhere to go (writes fail with EPIPE, and a PID 1 ignores SIGPIPE),
            // so the run is killed, with why, and restarts per the pod's restartPolicy with a
            // shim of its own, as a container whose shim dies does under containerd.
            if report, let run = process.run.flatMap({ processes[$0] }), run.exit == nil {
                run.sent = .kill
                run.sentBecause = "the runtime, as its log shim (pod-logger, pid \(process.pid)) died"
                kill(run.pid, SIGKILL)
            }
            return
        }
        guard report else { return }
        if let sandbox = process.sandbox.flatMap({ sandboxes[$0] }), sandbox.detached { return }
        if case .forwarder = process.kind, let sandbox = process.sandbox {
            // The published host ports die with it: the sandbox is broken, as when the pause dies.
            var lost = exit
            lost.program = "pod-forwarder"
            pending.append(.infraExited(sandbox, lost))
        } else if case .infra = process.kind, let sandbox = process.sandbox {
            pending.append(.infraExited(sandbox, exit))
        } else {
            pending.append(.processExited(process.id, exit))
        }
    }

    /// After an exit: a container's execs die with it (as with its cgroup in Kubernetes) and its
    /// writable layer goes; a command's output is kept for a while.
    func ended(_ process: Process) {
        switch process.kind {
        case .container:
            if let sandbox = process.sandbox.flatMap({ sandboxes[$0] }) {
                for id in sandbox.processes {
                    guard let other = processes[id], other.exit == nil, case .exec(let container) = other.kind,
                        container == process.id
                    else { continue }
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
            // Every writer of its log pipe is gone with the cgroup: the log is whole once the
            // shim has written what the pipe still held and ended.
            if let logger = process.logger.flatMap({ processes[$0] }) { finishLog(logger) }
            if let sandbox = process.sandbox.flatMap({ sandboxes[$0] }),
                let index = sandbox.record.containers.firstIndex(where: { $0.process?.pid == process.pid })
            {
                sandbox.record.containers[index].exited = true
                sandbox.recordDirty = true
            }
        case .exec, .host:
            // Keep the words, not the descriptors: a long session must not run out of fds.
            process.captured = capturedOutput(process)
            process.closeDescriptors()
            remember(process.id)
        case .infra, .forwarder, .logger:
            break
        }
    }

    /// How long a log shim may take to end once its run has (it ends when the pipe's last
    /// writer closes; only a descriptor of the pipe passed outside the run's cgroup keeps it):
    /// a bound on a condition, after which it is killed and the log is what it wrote.
    static let logDrainSeconds = 10.0

    /// Waits for a run's log shim to end (see `logDrainSeconds`), reaps it and forgets it.
    func finishLog(_ logger: Process) {
        let deadline = now + Self.logDrainSeconds
        var killed = false
        while logger.exit == nil {
            reap(logger, report: false)
            guard logger.exit == nil else { break }
            if !killed && now >= deadline {
                kill(logger.pid, SIGKILL)
                killed = true
            }
            waitForAny([logger], timeout: killed ? 1 : min(1, max(0.001, deadline - now)))
        }
        logger.closeDescriptors()
        processes[logger.id] = nil
    }

    func remember(_ id: ProcessID) {
        finishedCommands.append(id)
        while finishedCommands.count > Self.keptCommandOutputs {
            let old = finishedCommands.removeFirst()
            guard let process = processes[old] else { continue }
            process.closeDescriptors()
            processes[old] = nil
            if let sandbox = process.sandbox.flatMap({ sandboxes[$0] }) { sandbox.processes.removeAll { $0 == old } }
        }
    }

    /// Sleeps until one of `live` may have exited (its pidfd is readable), `extra` is readable (a
    /// pull ended), or `timeout` seconds.
    func waitForAny(_ live: [Process], timeout: Double, alsoWatching extra: Int32 = -1) {
        var fds = live.compactMap { $0.pidfd >= 0 ? pollfd(fd: $0.pidfd, events: Int16(POLLIN), revents: 0) : nil }
        if extra >= 0 { fds.append(pollfd(fd: extra, events: Int16(POLLIN), revents: 0)) }
        let milliseconds = timeout.isInfinite ? -1 : Int32(min(max(0, (timeout * 1000).rounded(.up)), 1_000_000))
        if fds.isEmpty {
            if milliseconds > 0 { usleep(UInt32(min(milliseconds, 1000)) * 1000) }
            return
        }
        _ = Glibc.poll(&fds, nfds_t(fds.count), milliseconds)
    }

    /// Writes the records whose container entries changed.
    func flushRecords() {
        for sandbox in sandboxes.values where sandbox.recordDirty {
            sandbox.recordDirty = false
            save(sandbox)
        }
    }

    /// Collects every exit that happened. Exits found in one sweep are in no known order; an
    /// OOM kill goes before an infra exit of the same sweep (the OOM killer may take the pause
    /// right after the container it killed, when the pod's memory stays charged — a Memory
    /// emptyDir — and the container's end must keep its reason).
    func sweep() {
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

    /// How often kubelet's eviction manager would look at the disk emptyDirs, at the most (it
    /// looks every 10 s; tests and scripts wait for the eviction as a condition).
    static let volumeCheckInterval = 1.0

    /// kubelet's eviction of a pod whose disk emptyDir holds more than its sizeLimit (its
    /// `emptyDirLimitEviction`): measured at most once per `volumeCheckInterval`, and never more
    /// than a tenth of the time (a tree of a million files takes a while to walk); a pod is
    /// reported once, for the first volume found over.
    func checkVolumeLimits() {
        let started = now
        guard started >= nextVolumeCheck else { return }
        for sandbox in sandboxes.values.sorted(by: { $0.id.rawValue < $1.id.rawValue })
        where !sandbox.volumes.sizeLimited.isEmpty && !sandbox.detached && !sandbox.evicted {
            for volume in sandbox.volumes.sizeLimited {
                let limit = volume.limit.value
                guard LinuxSystem.diskUsage(volume.path, stoppingAbove: limit) > limit else { continue }
                sandbox.evicted = true
                pending.append(
                    .sandboxEvicted(sandbox.id, message: BackendEvent.emptyDirEvictionMessage(volume: volume.name, limit: volume.limit)))
                break
            }
        }
        volumeChecks += 1
        nextVolumeCheck = now + max(Self.volumeCheckInterval, 10 * (now - started))
    }

    /// Returns what was observed; waits (up to a second at a time) only when nothing was.
    public func poll(until deadline: Double?) -> [BackendEvent] {
        flushRecords()
        while true {
            checkVolumeLimits()
            collectPulls()
            sweep()
            if !pending.isEmpty || deadline == nil {
                let out = pending
                pending = []
                return out
            }
            let remaining = deadline! - now
            if remaining <= 0 { return [] }
            let live = processes.values.filter { $0.exit == nil && $0.pid > 0 }
            if live.isEmpty && pullsRunning.isEmpty && remaining.isInfinite { return [] }
            // Wake at least once a second: a process whose pidfd could not be made is polled, and
            // the caller gets to check its own interruption (Ctrl-C in podsh) — a return without
            // events is allowed, the runtime polls again.
            waitForAny(live, timeout: min(remaining, 1), alsoWatching: pullsRunning.isEmpty ? -1 : pullMailbox.fd)
            collectPulls()
            sweep()
            let out = pending
            pending = []
            return out
        }
    }

    public func output(of id: ProcessID) -> ProcessOutput {
        guard let process = processes[id] else { return ProcessOutput() }
        if let logPath = process.logPath {
            return ProcessOutput(combined: String(decoding: ContainerLog.read(logPath), as: UTF8.self))
        }
        return process.captured ?? capturedOutput(process)
    }

    func capturedOutput(_ process: Process) -> ProcessOutput {
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
            details.append("sandbox \(sandbox.id.rawValue) (\(sandbox.request.podName)) at \(sandbox.dir)")
            if processes[sandbox.infra]?.exit == nil { namespaces += sandbox.namespaces.nonzeroBitCount }
            details += sandbox.volumes.mounts.map { "tmpfs mount \($0)" }
            details.append("cgroup \(sandbox.cgroup) (\(cgroups.version))")
            details += sandbox.published.map { "published port \($0)" }
        }
        for process in live {
            // A container run has its own mount namespace, and a PID namespace unless shared.
            if case .container = process.kind, let sandbox = process.sandbox.flatMap({ sandboxes[$0] }) {
                namespaces += sandbox.sharesPID || sandbox.hostPID ? 1 : 2
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
