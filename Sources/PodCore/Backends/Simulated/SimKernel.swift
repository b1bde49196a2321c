/// The simulated kernel: namespaces with identities, a process table per PID namespace with
/// host pids, the kernel's signal rules, and a virtual clock. Deterministic and in memory; it
/// is the executable specification the Linux backend is compared with.
///
/// Rules modelled (each as Linux has it):
/// - PID 1 of a PID namespace ignores every signal it has no handler for, including SIGKILL
///   sent from inside its own namespace; SIGKILL from an ancestor namespace always kills.
/// - When PID 1 of a PID namespace exits, every other process in it is killed (SIGKILL), and
///   no process can be created in it any more.
/// - Orphans are reparented to PID 1 of their PID namespace (the host's init outside pods).
/// - An exited process stays a zombie until its parent reaps it (processes with a SIGCHLD
///   reaping loop, such as pause, init and the runtime, reap at once).
/// - A command that cannot be executed exits with 127.
public final class SimKernel {
    var clock = SimClock()
    var processes: [Int: SimProcess] = [:]
    private var nextHostPid = 1
    private var nextInode: UInt64 = 4_026_532_200
    var programs: [String: SimProgram] = [:]
    /// Exits of watched processes, in order, for the backend to collect.
    var exits: [(pid: Int, status: SimExitStatus, sender: String?, startError: String?, at: Int64)] = []
    var watched: Set<Int> = []

    /// The host's namespaces.
    public let host: [NamespaceKind: SimNamespace]
    /// The host's init (PID 1).
    let initProcess: SimProcess
    /// The process that stands for the runtime: parent of every container process, reaps them.
    let supervisor: SimProcess

    /// The host's hostname.
    public static let hostHostname = "sim-host"

    public init() {
        var host: [NamespaceKind: SimNamespace] = [:]
        for kind in NamespaceKind.allCases {
            host[kind] = SimNamespace(kind: kind, inode: kind.hostInode,
                                      hostname: kind == .uts ? SimKernel.hostHostname : "")
        }
        self.host = host
        let hostPID = host[.pid]!
        hostPID.initHostPid = 1
        hostPID.pids[1] = 1
        initProcess = SimProcess(hostPid: 1, argv: ["/sbin/init"], env: [], cwd: "/", namespaces: host,
                                 pids: [(hostPID, 1)], parentPid: 0, startedAt: 0, output: SimOutput(), stdin: "")
        initProcess.reapsChildren = true
        initProcess.state = .waiting
        hostPID.pids[2] = 2
        supervisor = SimProcess(hostPid: 2, argv: ["swift-pods"], env: [], cwd: "/", namespaces: host,
                                pids: [(hostPID, 2)], parentPid: 1, startedAt: 0, output: SimOutput(), stdin: "")
        supervisor.reapsChildren = true
        supervisor.state = .waiting
        processes[1] = initProcess
        processes[2] = supervisor
        initProcess.children = [2]
        nextHostPid = 1000
        hostPID.nextPid = 1000
        SimApplets.install(in: self)
    }

    // MARK: Clock

    /// Seconds since boot, virtual.
    public var now: Double { clock.seconds }

    func schedule(after seconds: Double, _ action: @escaping () -> Void) {
        clock.schedule(at: clock.nanos + SimClock.nanos(seconds), action)
    }

    /// Runs every event due at or before `limit` (nanoseconds), in order. When `stopWhen`
    /// becomes true after an instant's events, stops there; otherwise the clock ends at `limit`.
    /// With `advanceClock` false (waiting without a deadline), the clock stays at the last
    /// event when the queue runs dry.
    func run(until limit: Int64, advanceClock: Bool = true, stopWhen: () -> Bool) {
        while let due = clock.nextDue, due <= limit {
            while let action = clock.popDue(upTo: due) { action() }
            if stopWhen() { return }
        }
        if advanceClock { clock.advance(to: limit) }
    }

    // MARK: Programs

    /// Registers a program under `name` (what `argv[0]`'s last path component must be). It takes
    /// precedence over a built-in applet of the same name.
    public func register(_ name: String, _ program: @escaping SimProgram) {
        programs[name] = program
    }

    // MARK: Namespaces

    /// A new namespace of `kind`; a PID namespace becomes a child of `parent`.
    func makeNamespace(_ kind: NamespaceKind, parent: SimNamespace? = nil, hostname: String = "") -> SimNamespace {
        nextInode += 1
        return SimNamespace(kind: kind, inode: nextInode, parent: kind == .pid ? (parent ?? host[.pid]) : nil,
                            hostname: hostname)
    }

    // MARK: Processes

    /// fork + exec: a new process in `namespaces` (its innermost PID namespace is
    /// `namespaces[.pid]`), child of `parent`. It runs until it first blocks before this returns.
    func spawn(argv: [String], env: [EnvVar], cwd: String, namespaces: [NamespaceKind: SimNamespace],
               parent: SimProcess, output: SimOutput, stdin: String = "", watch: Bool = false) throws(SimErrno) -> SimProcess {
        let pidNamespace = namespaces[.pid] ?? parent.pidNamespace
        let chain = pidNamespace.chain
        if chain.contains(where: { $0.isDead }) { throw .ENOMEM }
        let hostPid = nextHostPid
        nextHostPid += 1
        var pids: [(SimNamespace, Int)] = []
        for ns in chain {
            if ns === host[.pid] {
                pids.append((ns, hostPid))
                ns.pids[hostPid] = hostPid
                continue
            }
            let pid = ns.nextPid
            ns.nextPid += 1
            ns.pids[pid] = hostPid
            if ns.initHostPid == nil { ns.initHostPid = hostPid }
            pids.append((ns, pid))
        }
        var all = host
        for (kind, ns) in namespaces { all[kind] = ns }
        let process = SimProcess(hostPid: hostPid, argv: argv, env: env, cwd: cwd, namespaces: all, pids: pids,
                                 parentPid: parent.hostPid, startedAt: clock.nanos, output: output, stdin: stdin)
        processes[hostPid] = process
        parent.children.insert(hostPid)
        if watch { watched.insert(hostPid) }

        let name = argv.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        guard let program = programs[name] else {
            let what = argv.first ?? ""
            process.startError = what.isEmpty
                ? "exec: no command given"
                : "exec: \"\(what)\": executable file not found in $PATH"
            process.output.write("\(process.startError ?? "")\n", error: true)
            exit(process, .exited(127))
            return process
        }
        execute(process, program(SimContext(kernel: self, process: process)))
        return process
    }

    /// Runs a process's steps until it blocks or exits.
    func execute(_ process: SimProcess, _ first: SimStep) {
        var step = first
        while process.isAlive {
            let context = SimContext(kernel: self, process: process)
            switch step {
            case .exit(let code):
                exit(process, .exited(code))
                return
            case .sleep(let seconds, let next):
                process.token += 1
                let token = process.token
                process.state = .sleeping
                schedule(after: seconds) { [unowned self] in
                    guard process.isAlive, process.token == token else { return }
                    process.state = .running
                    self.execute(process, next(SimContext(kernel: self, process: process)))
                }
                return
            case .waitForever:
                process.token += 1
                process.state = .waiting
                return
            case .waitChild(let pid, let next):
                let wanted = pid.flatMap { hostPid(of: $0, seenBy: process) }
                if pid != nil && wanted == nil || (pid == nil && process.children.isEmpty) {
                    step = next(context, nil)
                    continue
                }
                if let zombie = zombieChild(of: process, matching: wanted) {
                    let status = zombie.exitStatus
                    reap(zombie)
                    step = next(context, status)
                    continue
                }
                process.token += 1
                process.state = .waitingChild(wanted)
                process.childContinuation = next
                return
            }
        }
    }

    private func zombieChild(of process: SimProcess, matching hostPid: Int?) -> SimProcess? {
        for child in process.children.sorted() where hostPid == nil || child == hostPid {
            if let p = processes[child], !p.isAlive { return p }
        }
        return nil
    }

    /// The host pid of the process a process calls `pid`, if it can see it.
    func hostPid(of pid: Int, seenBy viewer: SimProcess) -> Int? {
        viewer.pidNamespace.pids[pid]
    }

    /// Ends a process: records its status, applies the PID-1 rule, reparents its children and
    /// tells (or lets reap) its parent.
    func exit(_ process: SimProcess, _ status: SimExitStatus, sender: String? = nil) {
        guard process.isAlive else { return }
        process.state = .zombie
        process.exitStatus = status
        process.exitSender = sender
        process.finishedAt = clock.nanos
        process.token += 1
        process.handlers = [:]

        let namespace = process.pidNamespace
        if process.isNamespaceInit && namespace !== host[.pid] {
            namespace.isDead = true
            let members = namespace.pids.values.sorted().compactMap { processes[$0] }.filter { $0 !== process }
            for member in members where member.isAlive {
                exit(member, .signaled(.kill), sender: "the kernel (PID 1 of its PID namespace exited)")
            }
        }
        if watched.contains(process.hostPid) {
            exits.append((process.hostPid, status, sender, process.startError, clock.nanos))
        }

        let reaper = reaperFor(orphansOf: process)
        for childPid in process.children.sorted() {
            guard let child = processes[childPid] else { continue }
            child.parentPid = reaper.hostPid
            reaper.children.insert(childPid)
            if !child.isAlive { notifyParent(of: child) }
        }
        process.children = []
        notifyParent(of: process)
    }

    /// PID 1 of the process's namespace if it is alive and not the process itself; else the
    /// nearest such ancestor namespace's init.
    private func reaperFor(orphansOf process: SimProcess) -> SimProcess {
        for (namespace, _) in process.pids.reversed() {
            if let initPid = namespace.initHostPid, initPid != process.hostPid,
               let reaper = processes[initPid], reaper.isAlive {
                return reaper
            }
        }
        return initProcess
    }

    private func notifyParent(of process: SimProcess) {
        guard let parent = processes[process.parentPid] else {
            reap(process)
            return
        }
        if parent.reapsChildren {
            reap(process)
            return
        }
        if case .waitingChild(let wanted) = parent.state, wanted == nil || wanted == process.hostPid,
           let next = parent.childContinuation {
            let token = parent.token
            parent.childContinuation = nil
            schedule(after: 0) { [unowned self] in
                guard parent.isAlive, parent.token == token else { return }
                let status = process.exitStatus
                if self.processes[process.hostPid] != nil { self.reap(process) }
                parent.state = .running
                self.execute(parent, next(SimContext(kernel: self, process: parent), status))
            }
        }
    }

    /// Removes a zombie from every table.
    func reap(_ process: SimProcess) {
        guard processes[process.hostPid] != nil else { return }
        processes[process.hostPid] = nil
        for (namespace, pid) in process.pids where namespace.pids[pid] == process.hostPid {
            namespace.pids[pid] = nil
        }
        processes[process.parentPid]?.children.remove(process.hostPid)
    }

    /// Delivers a signal with the kernel's rules. `sender` is the sending process, nil for
    /// the host side (the runtime), which sits outside every pod namespace.
    func signal(_ target: SimProcess, _ signal: Signal, from sender: SimProcess?, senderName: String) -> SimErrno? {
        guard target.isAlive else { return .ESRCH }
        if let sender, target.pid(in: sender.pidNamespace) == nil { return .ESRCH }
        if target === initProcess || target === supervisor { return .EPERM }
        if signal != .kill, let handler = target.handlers[signal.number] {
            schedule(after: 0) { [unowned self] in
                guard target.isAlive else { return }
                if let step = handler(SimContext(kernel: self, process: target)) {
                    target.token += 1
                    target.state = .running
                    self.execute(target, step)
                }
            }
            return nil
        }
        let insideOwnNamespace = sender.map { $0.pidNamespace === target.pidNamespace } ?? false
        if target.isNamespaceInit {
            // PID 1 ignores what it has no handler for; SIGKILL only from an ancestor namespace.
            if signal == .kill && !insideOwnNamespace { exit(target, .signaled(.kill), sender: senderName) }
            return nil
        }
        if signal.terminatesByDefault { exit(target, .signaled(signal), sender: senderName) }
        return nil
    }

    // MARK: Inspection

    /// Live processes, by host pid.
    var liveProcesses: [SimProcess] {
        processes.values.filter { $0.isAlive && $0 !== initProcess && $0 !== supervisor }.sorted { $0.hostPid < $1.hostPid }
    }
}

/// The errno values the simulated kernel returns, with Linux's numbers and strerror texts.
public enum SimErrno: Int32, Error, Sendable, CustomStringConvertible {
    case EPERM = 1
    case ENOENT = 2
    case ESRCH = 3
    case ECHILD = 10
    case EAGAIN = 11
    case ENOMEM = 12
    case EINVAL = 22

    public var description: String {
        switch self {
        case .EPERM: return "Operation not permitted"
        case .ENOENT: return "No such file or directory"
        case .ESRCH: return "No such process"
        case .ECHILD: return "No child processes"
        case .EAGAIN: return "Resource temporarily unavailable"
        case .ENOMEM: return "Cannot allocate memory"
        case .EINVAL: return "Invalid argument"
        }
    }
}
