import PodKit

/// What a simulated program sees of its process and the kernel: pid, argv, environment,
/// hostname, output, files, sockets, IPC, memory, children and signals. Built-in applets and
/// Lua programs use only this.
public struct SimContext {
    let kernel: SimKernel
    let process: SimProcess

    /// The pid as the process sees it (in its innermost PID namespace).
    public var pid: Int { process.ownPid }
    /// The pid on the host.
    public var hostPid: Int { process.hostPid }
    /// argv; `args[0]` is the program name.
    public var args: [String] { process.argv }
    /// Standard input.
    public var stdin: String { process.stdin }
    /// The working directory.
    public var workingDirectory: String { process.cwd }
    /// Virtual seconds since boot.
    public var now: Double { kernel.now }

    /// The value of an environment variable (the last one of that name wins).
    public func env(_ name: String) -> String? { process.env.last { $0.name == name }?.value }
    /// The whole environment.
    public var environment: [EnvVar] { process.env }

    /// The hostname of the process's UTS namespace.
    public func hostname() -> String { process.namespaces.uts.hostname }

    /// The identity of one of the process's namespaces, e.g. `net:[4026532201]`.
    public func namespaceIdentity(_ kind: NamespaceKind) -> String { process.namespaces[kind].identity }

    /// Writes to standard output; fails only when it is redirected to a file that cannot take
    /// the bytes (ENOSPC, EROFS, ENOMEM after an OOM kill).
    @discardableResult
    public func write(_ text: String) -> SimErrno? {
        guard process.isAlive else { return .ESRCH }
        return process.output.write(text, error: false, from: self)
    }
    /// Writes to standard error.
    @discardableResult
    public func writeError(_ text: String) -> SimErrno? {
        guard process.isAlive else { return .ESRCH }
        return process.output.write(text, error: true, from: self)
    }

    // MARK: Signals and children

    /// Installs a handler for `signal` (not SIGKILL). The handler returns the next step (e.g.
    /// `.exit(0)`), or nil to carry on with what the process was doing.
    public func trap(_ signal: Signal, _ handler: @escaping (SimContext) -> SimStep?) {
        guard signal != .kill else { return }
        process.handlers.removeAll { $0.signal == signal.number }
        process.handlers.append((signal.number, handler))
    }

    /// Runs `body` when the process exits, however it ends.
    public func atExit(_ body: @escaping () -> Void) {
        process.atExit = (process.atExit ?? []) + [body]
    }

    /// Whether the process is still running.
    public var isAlive: Bool { process.isAlive }

    /// Ends the process by a signal, as a fault would (SIGSEGV for a crash).
    public func terminate(by signal: Signal) {
        kernel.exit(process, .signaled(signal), sender: "the kernel")
    }

    /// Reaps exited children at once from now on (a SIGCHLD handler with a waitpid loop).
    public func reapChildren() { process.reapsChildren = true }

    /// fork + exec of a child in the same namespaces and cgroup; returns its pid as this
    /// process sees it. The child runs until it first blocks before this returns. Its output
    /// goes to `output`, or to this process's.
    public func spawn(
        _ argv: [String], env: [EnvVar]? = nil, stdin: String = "", output: SimOutput? = nil,
        cwd: String? = nil
    ) -> Result<Int, SimErrno> {
        do {
            let child = try kernel.spawn(
                argv: argv, env: env ?? process.env, cwd: cwd ?? process.cwd,
                namespaces: process.namespaces, parent: process, output: output ?? process.output,
                stdin: stdin)
            return .success(child.pid(in: process.pidNamespace) ?? child.hostPid)
        } catch {
            return .failure(error)
        }
    }

    /// Whether a program of this name exists (registered or built in).
    public func programExists(_ name: String) -> Bool {
        kernel.programs[name.split(separator: "/").last.map(String.init) ?? name] != nil
    }

    /// kill(2): sends `signal` to the process this process calls `pid`.
    public func kill(_ pid: Int, _ signal: Signal) -> SimErrno? {
        guard let hostPid = kernel.hostPid(of: pid, seenBy: process), let target = kernel.processes[hostPid] else {
            return .ESRCH
        }
        return kernel.signal(target, signal, from: process, senderName: "pid \(self.pid) (\(process.programName))")
    }

    /// The processes this process can see (its PID namespace and the ones below), as
    /// (pid as seen from here, command line), by pid.
    public func visibleProcesses() -> [(pid: Int, command: String)] {
        process.pidNamespace.pids.compactMap { pid, hostPid -> (Int, String)? in
            guard let p = kernel.processes[hostPid], p.isAlive else { return nil }
            return (pid, p.commandLine)
        }.sorted { $0.0 < $1.0 }
    }

    // MARK: Files

    /// Reads a file.
    public func read(_ path: String) -> Result<String, SimErrno> { process.fileSystem.read(path) }

    /// Writes (or appends to) a file; bytes on a Memory emptyDir are charged to this process's
    /// memory cgroup, which may OOM-kill it.
    public func writeFile(_ path: String, _ data: String, append: Bool = false) -> SimErrno? {
        process.fileSystem.write(path, data, append: append, ledger: kernel.ledger) { file, newSize in
            let cgroup = process.cgroup
            kernel.uncharge(file.charged, file.size)
            if kernel.charge(cgroup, newSize, for: process) {
                file.charged = cgroup
                return true
            }
            file.charged = nil
            return false
        }
    }

    /// Names in a directory (sorted); a file lists as itself.
    public func list(_ path: String) -> Result<[String], SimErrno> { process.fileSystem.list(path) }

    /// Whether `path` is a directory (nil: it does not exist).
    public func isDirectory(_ path: String) -> Bool? {
        switch process.fileSystem.stat(path) {
        case .success(let node): return node.isDirectory
        case .failure: return nil
        }
    }

    /// The size of a file in bytes.
    public func fileSize(_ path: String) -> Int64? {
        if case .success(.file(let file)) = process.fileSystem.stat(path) { return file.size }
        return nil
    }

    public func mkdir(_ path: String, parents: Bool = false) -> SimErrno? { process.fileSystem.mkdir(path, parents: parents) }

    public func remove(_ path: String, recursive: Bool = false) -> SimErrno? {
        process.fileSystem.remove(path, recursive: recursive) { file in
            kernel.uncharge(file.charged, file.size)
            file.charged = nil
        }
    }

    /// Resolves `path` against the working directory.
    public func absolutePath(_ path: String) -> String { "/" + process.fileSystem.components(path).joined(separator: "/") }

    /// Changes the working directory.
    public func changeDirectory(_ path: String) -> SimErrno? {
        switch process.fileSystem.stat(path) {
        case .success(let node) where node.isDirectory:
            process.cwd = absolutePath(path)
            return nil
        case .success: return .ENOTDIR
        case .failure(let error): return error
        }
    }

    // MARK: Network

    /// Listens on a TCP port of the process's network namespace; each request runs `handler`
    /// in a thread of its own. EADDRINUSE when the port is taken.
    public func listen(_ port: Int, _ handler: @escaping SimHandler) -> SimErrno? {
        kernel.listen(process, port: port, handler: handler)
    }

    // MARK: IPC

    /// Creates a System V object in the process's IPC namespace; returns its id.
    func createIPC(_ kind: SimIPCObject.Kind, size: Int) -> Int {
        process.namespaces.ipc.create(kind, size: size).id
    }

    /// `ipcs` output for the kinds asked.
    func ipcListing(_ kinds: [SimIPCObject.Kind]) -> String { process.namespaces.ipc.listing(kinds) }

    // MARK: Memory

    /// Allocates memory charged to the process's cgroup. Over the limit the kernel OOM-kills
    /// the largest process of the cgroup — possibly this one: false when this process died.
    public func alloc(_ bytes: Int64) -> Bool {
        guard bytes > 0 else { return true }
        guard kernel.charge(process.cgroup, bytes, for: process) else { return false }
        process.memory += bytes
        return process.isAlive
    }
}
