/// What a simulated program sees of its process and the kernel: its pid, argv, environment,
/// hostname, output, children and signals. Built-in applets and Lua programs use only this.
public struct SimContext {
    let kernel: SimKernel
    let process: SimProcess

    /// The pid as the process sees it (in its innermost PID namespace).
    public var pid: Int { process.pids[process.pids.count - 1].pid }
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
    public func hostname() -> String { process.namespaces[.uts]?.hostname ?? "" }

    /// The identity of one of the process's namespaces, e.g. `net:[4026532201]`.
    public func namespaceIdentity(_ kind: NamespaceKind) -> String { process.namespaces[kind]?.identity ?? "" }

    /// Writes to standard output.
    public func write(_ text: String) { process.output.write(text, error: false) }
    /// Writes to standard error.
    public func writeError(_ text: String) { process.output.write(text, error: true) }

    /// Installs a handler for `signal` (not SIGKILL). The handler returns the next step (e.g.
    /// `.exit(0)`), or nil to carry on with what the process was doing.
    public func trap(_ signal: Signal, _ handler: @escaping (SimContext) -> SimStep?) {
        guard signal != .kill else { return }
        process.handlers[signal.number] = handler
    }

    /// Reaps exited children at once from now on (a SIGCHLD handler with a waitpid loop).
    public func reapChildren() { process.reapsChildren = true }

    /// fork + exec of a child in the same namespaces and output; returns its pid as this
    /// process sees it. The child runs until it first blocks before this returns.
    public func spawn(_ argv: [String], env: [EnvVar]? = nil) -> Result<Int, SimErrno> {
        do {
            let child = try kernel.spawn(argv: argv, env: env ?? process.env, cwd: process.cwd,
                                         namespaces: process.namespaces, parent: process, output: process.output)
            return .success(child.pid(in: process.pidNamespace) ?? child.hostPid)
        } catch {
            return .failure(error)
        }
    }

    /// kill(2): sends `signal` to the process this process calls `pid`.
    public func kill(_ pid: Int, _ signal: Signal) -> SimErrno? {
        guard let hostPid = kernel.hostPid(of: pid, seenBy: process), let target = kernel.processes[hostPid] else {
            return .ESRCH
        }
        let name = args.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "?"
        return kernel.signal(target, signal, from: process, senderName: "pid \(self.pid) (\(name))")
    }

    /// The processes this process can see (its PID namespace and the ones below), as
    /// (pid as seen from here, command line), by pid.
    public func visibleProcesses() -> [(pid: Int, command: String)] {
        let namespace = process.pidNamespace
        return namespace.pids.compactMap { pid, hostPid -> (Int, String)? in
            guard let p = kernel.processes[hostPid], p.isAlive else { return nil }
            return (pid, p.commandLine)
        }.sorted { $0.0 < $1.0 }
    }
}
