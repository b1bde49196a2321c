import PodKit

/// The simulated kernel: namespaces with identities, a process table per PID namespace with
/// host pids, the kernel's signal rules, file trees and mounts, loopback networking with
/// published host ports, System V IPC, memory and pids cgroups, and a virtual clock.
/// Deterministic and in memory; it is the executable specification the Linux backend is
/// compared with.
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
/// - A second bind of a port in one network namespace fails with EADDRINUSE; a connection
///   reaches only a listener of the same namespace, or from the host a published port.
/// - Going over a cgroup's memory limit OOM-kills the largest process of that cgroup (SIGKILL,
///   exit 137); forking past pids.max fails with EAGAIN.
public final class SimKernel {
    struct ExitRecord {
        let pid: Int
        let backendID: Int
        let status: SimExitStatus
        let sender: String?
        let startError: String?
        let oomKilled: Bool
        let at: Int64
    }

    // The hot tables here, in SimBackend, PodRuntime and PodRecord are @exclusivity(unchecked):
    // each is confined to its owner's thread and never mutated from inside a mutation of
    // itself, and the dynamic exclusivity checks cost about a seventh of a pod lifecycle.
    @exclusivity(unchecked) var clock = SimClock()
    @exclusivity(unchecked) var processes: [Int: SimProcess] = [:]
    private var nextHostPid = 1
    /// How many spawns are running their child's first steps, one inside the other.
    private var spawnDepth = 0
    /// Past this many, a child's first steps wait for the kernel's loop instead of running
    /// inside its parent's spawn: 2,000 nested `$(...)` would otherwise overflow the stack.
    static let maxSynchronousSpawnDepth = 32
    private var nextInode: UInt64 = 4_026_532_200
    var programs: [String: SimProgram] = [:]
    /// Exits of the processes the backend started (the supervisor's children), in order.
    @exclusivity(unchecked) var exits: [ExitRecord] = []
    /// Output that is dropped (the pause writes nothing worth keeping).
    let discard = SimOutput(discarding: true)
    /// Published host ports (TCP): host port -> the pod's namespace and container port.
    @exclusivity(unchecked) var published: [Int: (net: SimNetNamespace, port: Int)] = [:]
    /// Published host ports (UDP and SCTP), held so that they cannot be published twice.
    var publishedOther: Set<String> = []

    /// The host's namespaces.
    let host: SimNamespaces
    /// The image every container root starts from (shared copy-on-write).
    let imageRoot = SimTrees.image()
    /// The host's init (PID 1).
    let initProcess: SimProcess
    /// The process that stands for the runtime: parent of every container process, reaps them.
    let supervisor: SimProcess

    /// What the kernel holds of the owner's memory for files and output.
    let ledger = SimLedger()
    /// Disk volumes past their sizeLimit, not yet reported.
    let evictions = SimEvictions()

    /// The host's hostname.
    public static let hostHostname = "sim-host"

    public init() {
        let hostPID = SimPIDNamespace(inode: NamespaceKind.pid.hostInode, parent: nil)
        host = SimNamespaces(
            pid: hostPID,
            net: SimNetNamespace(inode: NamespaceKind.net.hostInode),
            ipc: SimIPCNamespace(inode: NamespaceKind.ipc.hostInode),
            uts: SimUTSNamespace(inode: NamespaceKind.uts.hostInode, hostname: SimKernel.hostHostname),
            mnt: SimMountNamespace(inode: NamespaceKind.mnt.hostInode, root: SimTrees.host(), shared: false))
        hostPID.initHostPid = 1
        hostPID.pids[1] = 1
        hostPID.pids[2] = 2
        initProcess = SimProcess(
            hostPid: 1, argv: ["/sbin/init"], env: [], cwd: "/", namespaces: host,
            innerPid: nil, parentPid: 0, startedAt: 0, output: SimOutput(), stdin: "", cgroup: nil)
        supervisor = SimProcess(
            hostPid: 2, argv: ["swift-pods"], env: [], cwd: "/", namespaces: host,
            innerPid: nil, parentPid: 1, startedAt: 0, output: SimOutput(), stdin: "", cgroup: nil)
        initProcess.reapsChildren = true
        supervisor.reapsChildren = true
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
    /// becomes true after an instant's events, stops there; otherwise the clock ends at `limit`
    /// (with `advanceClock` false, at the last event when the queue runs dry).
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

    private func inode() -> UInt64 {
        nextInode += 1
        return nextInode
    }

    func makePIDNamespace(parent: SimPIDNamespace? = nil) -> SimPIDNamespace {
        SimPIDNamespace(inode: inode(), parent: parent ?? host.pid)
    }
    func makeNetNamespace() -> SimNetNamespace { SimNetNamespace(inode: inode()) }
    func makeIPCNamespace() -> SimIPCNamespace { SimIPCNamespace(inode: inode()) }
    func makeUTSNamespace(hostname: String) -> SimUTSNamespace { SimUTSNamespace(inode: inode(), hostname: hostname) }
    /// A mount namespace whose root is the shared image (copied on the first write).
    func makeMountNamespace() -> SimMountNamespace { SimMountNamespace(inode: inode(), root: imageRoot, shared: true) }

    // MARK: Processes

    /// fork + exec: a new process in `namespaces`, child of `parent`, charged to `cgroup`
    /// (the parent's by default). It runs until it first blocks before this returns (below
    /// `maxSynchronousSpawnDepth` nested spawns; deeper, it starts from the kernel's loop).
    func spawn(
        argv: [String], env: [EnvVar], cwd: String, namespaces: SimNamespaces, parent: SimProcess,
        output: SimOutput, stdin: String = "", cgroup: SimCgroup?? = nil, backendID: Int = 0,
        user: SimCredentials? = nil, startError: String? = nil
    ) throws(SimErrno) -> SimProcess {
        try SimKernel.checkArgumentSizes(argv, env)
        let inner = namespaces.pid === host.pid ? nil : namespaces.pid
        if inner?.isDead == true { throw .ENOMEM }
        if let inner, inner.parent !== host.pid { throw .EINVAL }
        let group = cgroup ?? parent.cgroup
        if let group {
            guard group.canFork else { throw .EAGAIN }
            group.forEachLevel { $0.pidsCurrent += 1 }
        }
        let hostPid = nextHostPid
        nextHostPid += 1
        var innerPid: Int?
        host.pid.pids[hostPid] = hostPid
        if let ns = inner {
            let pid = ns.nextPid
            ns.nextPid += 1
            ns.pids[pid] = hostPid
            if ns.initHostPid == nil { ns.initHostPid = hostPid }
            innerPid = pid
        }
        let process = SimProcess(
            hostPid: hostPid, argv: argv, env: env, cwd: cwd, namespaces: namespaces, innerPid: innerPid,
            parentPid: parent.hostPid, startedAt: clock.nanos, output: output, stdin: stdin, cgroup: group)
        process.backendID = backendID
        process.credentials = user ?? parent.credentials
        if output.ledger == nil { output.ledger = ledger }
        processes[hostPid] = process
        if parent !== supervisor { parent.children.insert(hostPid) }

        guard startError == nil, let program = programs[process.programName] else {
            let what = argv.first ?? ""
            let startError =
                startError ?? (what.isEmpty ? "exec: no command given" : "exec: \"\(what)\": executable file not found in $PATH")
            process.exitDetail = SimExitDetail(startError: startError)
            process.output.write("\(startError)\n", error: true)
            exit(process, .exited(127))
            return process
        }
        guard spawnDepth < SimKernel.maxSynchronousSpawnDepth else {
            schedule(after: 0) { [unowned self] in
                guard process.isAlive else { return }
                self.start(process, program)
            }
            return process
        }
        start(process, program)
        return process
    }

    /// execve's limits (Linux's MAX_ARG_STRLEN a string, ARG_MAX in all): E2BIG past them.
    static func checkArgumentSizes(_ argv: [String], _ env: [EnvVar]) throws(SimErrno) {
        var total = 0
        for word in argv {
            let size = word.utf8.count + 1
            if size > 131_072 { throw .E2BIG }
            total += size
        }
        for variable in env {
            let size = variable.name.utf8.count + variable.value.utf8.count + 2
            if size > 131_072 { throw .E2BIG }
            total += size
        }
        if total > 2_097_152 { throw .E2BIG }
    }

    private func start(_ process: SimProcess, _ program: SimProgram) {
        spawnDepth += 1
        defer { spawnDepth -= 1 }
        execute(process, nil, program(SimContext(kernel: self, process: process)))
    }

    /// Runs a thread's steps (nil: the main thread) until it blocks or ends.
    func execute(_ process: SimProcess, _ thread: SimThread?, _ first: SimStep) {
        var step = first
        while process.isAlive {
            let context = SimContext(kernel: self, process: process)
            switch step {
            case .exit(let code):
                exit(process, .exited(code))
                return
            case .sleep(let seconds, let next):
                let token = process.bump(thread)
                schedule(after: seconds) { [unowned self] in
                    guard process.isAlive, process.token(thread) == token else { return }
                    self.execute(process, thread, next(SimContext(kernel: self, process: process)))
                }
                return
            case .waitForever:
                process.bump(thread)
                return
            case .waitChild(let pid, let next):
                let wanted = pid.flatMap { process.pidNamespace.pids[$0] }
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
                process.bump(thread)
                let wait = SimChildWait(wanted: wanted, next: next)
                if let thread { thread.childWait = wait } else { process.mainChildWait = wait }
                return
            case .fetch(let url, let request, let next):
                let token = process.bump(thread)
                fetch(from: process, url: url, request: request) { [unowned self] result in
                    self.schedule(after: 0) {
                        guard process.isAlive, process.token(thread) == token else { return }
                        self.execute(process, thread, next(SimContext(kernel: self, process: process), result))
                    }
                }
                return
            case .exec(let argv, let env):
                guard thread == nil else {
                    process.output.write("exec: not from a request handler\n", error: true)
                    exit(process, .exited(1))
                    return
                }
                process.argv = argv
                process.env = env
                process.handlers = []
                process.reapsChildren = false
                process.bump(nil)
                guard let program = programs[process.programName] else {
                    let startError = "exec: \"\(argv.first ?? "")\": executable file not found in $PATH"
                    process.output.write("\(startError)\n", error: true)
                    exit(process, .exited(127))
                    return
                }
                step = program(SimContext(kernel: self, process: process))
            case .respond(let response):
                guard let thread, let reply = thread.reply else {
                    process.output.write("respond: no request to answer outside a request handler\n", error: true)
                    exit(process, .exited(1))
                    return
                }
                thread.reply = nil
                thread.token += 1
                process.requestThreads.removeAll { $0 === thread }
                reply(.success(response))
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

    /// Ends a process: records its status, applies the PID-1 rule, closes its sockets, frees
    /// its memory, reparents its children and tells (or lets reap) its parent.
    func exit(_ process: SimProcess, _ status: SimExitStatus, sender: String? = nil, oomKilled: Bool = false) {
        guard process.isAlive else { return }
        process.isAlive = false
        process.exitStatus = status
        if sender != nil || oomKilled {
            let detail = process.exitDetail ?? SimExitDetail(startError: nil)
            detail.sender = sender
            detail.oomKilled = oomKilled
            process.exitDetail = detail
        }
        process.mainToken += 1
        process.mainChildWait = nil
        process.handlers = []

        // Sockets close; requests it was answering fail.
        let net = process.namespaces.net
        for (port, listener) in net.listeners where listener.process === process { net.listeners[port] = nil }
        let pending = process.requestThreads
        process.requestThreads = []
        for thread in pending {
            thread.token += 1
            if let reply = thread.reply {
                thread.reply = nil
                reply(.failure(.connectionReset))
            }
        }
        uncharge(process.cgroup, process.memory)
        process.memory = 0
        if let actions = process.atExit {
            process.atExit = nil
            for action in actions { action() }
        }

        let namespace = process.pidNamespace
        if process.isNamespaceInit && namespace !== host.pid {
            namespace.isDead = true
            let members =
                namespace.pids.count <= 1
                ? []
                : namespace.pids.values.sorted().compactMap { processes[$0] }.filter { $0 !== process }
            for member in members where member.isAlive {
                exit(member, .signaled(.kill), sender: "the kernel (PID 1 of its PID namespace exited)")
            }
        }
        if process.parentPid == supervisor.hostPid {
            exits.append(
                ExitRecord(
                    pid: process.hostPid, backendID: process.backendID, status: status, sender: sender,
                    startError: process.exitDetail?.startError,
                    oomKilled: oomKilled, at: clock.nanos))
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
        if process.innerPid != nil, let initPid = process.namespaces.pid.initHostPid, initPid != process.hostPid,
            let reaper = processes[initPid], reaper.isAlive
        {
            return reaper
        }
        return initProcess
    }

    private func notifyParent(of process: SimProcess) {
        if process.parentPid == supervisor.hostPid {
            reap(process)
            return
        }
        guard let parent = processes[process.parentPid] else {
            reap(process)
            return
        }
        if parent.reapsChildren {
            reap(process)
            return
        }
        func matches(_ wait: SimChildWait?) -> Bool {
            guard let wait else { return false }
            return wait.wanted == nil || wait.wanted == process.hostPid
        }
        let thread: SimThread?
        let wait: SimChildWait
        if matches(parent.mainChildWait), let main = parent.mainChildWait {
            thread = nil
            wait = main
            parent.mainChildWait = nil
        } else if let waiting = parent.requestThreads.first(where: { matches($0.childWait) }), let own = waiting.childWait {
            thread = waiting
            wait = own
            waiting.childWait = nil
        } else {
            return
        }
        let token = parent.token(thread)
        schedule(after: 0) { [unowned self] in
            guard parent.isAlive, parent.token(thread) == token else { return }
            let status = process.exitStatus
            if self.processes[process.hostPid] != nil { self.reap(process) }
            self.execute(parent, thread, wait.next(SimContext(kernel: self, process: parent), status))
        }
    }

    /// Removes a zombie from every table and releases its pids charge.
    func reap(_ process: SimProcess) {
        guard processes[process.hostPid] != nil else { return }
        processes[process.hostPid] = nil
        host.pid.pids[process.hostPid] = nil
        if let innerPid = process.innerPid, process.namespaces.pid.pids[innerPid] == process.hostPid {
            process.namespaces.pid.pids[innerPid] = nil
        }
        if process.parentPid != supervisor.hostPid { processes[process.parentPid]?.children.remove(process.hostPid) }
        process.cgroup?.forEachLevel { $0.pidsCurrent -= 1 }
    }

    /// Delivers a signal with the kernel's rules. `sender` is the sending process, nil for
    /// the host side (the runtime), which sits outside every pod namespace.
    func signal(_ target: SimProcess, _ signal: Signal, from sender: SimProcess?, senderName: String) -> SimErrno? {
        guard target.isAlive else { return .ESRCH }
        if let sender, target.pid(in: sender.pidNamespace) == nil { return .ESRCH }
        if target === initProcess || target === supervisor { return .EPERM }
        // Another user's process takes CAP_KILL.
        if let sender, sender.uid != target.uid, !sender.credentials.has("KILL") { return .EPERM }
        if signal != .kill, let handler = target.handler(for: signal) {
            schedule(after: 0) { [unowned self] in
                guard target.isAlive else { return }
                if let step = handler(SimContext(kernel: self, process: target)) {
                    target.mainToken += 1
                    target.mainChildWait = nil
                    self.execute(target, nil, step)
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

    // MARK: Memory

    /// Charges `bytes` to `cgroup` and its ancestors. Where a limit is exceeded the OOM killer
    /// ends the largest process of that cgroup (on a tie the oldest, the container's main
    /// process), as often as needed; returns false when the charge could not be made.
    func charge(_ cgroup: SimCgroup?, _ bytes: Int64, for process: SimProcess) -> Bool {
        guard let cgroup, bytes > 0 else { return true }
        for _ in 0..<64 {
            guard
                let over = cgroup.lineage.first(where: { level in
                    level.memoryLimit.map { level.memoryUsage + bytes > $0 } ?? false
                })
            else {
                cgroup.forEachLevel { $0.memoryUsage += bytes }
                return true
            }
            let candidates = liveProcesses.filter { $0.cgroup?.isWithin(over) ?? false }
            let victim =
                candidates.max { a, b in
                    a.memory != b.memory ? a.memory < b.memory : a.hostPid > b.hostPid
                } ?? process
            over.oomKills += 1
            exit(victim, .signaled(.kill), sender: "the kernel (OOM killer)", oomKilled: true)
            if victim === process || !process.isAlive { return false }
        }
        return false
    }

    func uncharge(_ cgroup: SimCgroup?, _ bytes: Int64) {
        guard bytes > 0 else { return }
        cgroup?.forEachLevel { $0.memoryUsage -= bytes }
    }

    // MARK: Network

    /// Binds a listening socket; EADDRINUSE when the port is taken in that namespace (or, on
    /// the host, published for a pod).
    func listen(_ process: SimProcess, port: Int, handler: @escaping SimHandler) -> SimErrno? {
        let net = process.namespaces.net
        guard (1...65535).contains(port) else { return .EINVAL }
        // Ports below 1024 take CAP_NET_BIND_SERVICE (a non-root uid has no capabilities).
        if port < 1024, !process.credentials.has("NET_BIND_SERVICE") { return .EACCES }
        if net.listeners[port] != nil { return .EADDRINUSE }
        if net === host.net && published[port] != nil { return .EADDRINUSE }
        net.listeners[port] = SimListener(process: process, port: port, handler: handler)
        return nil
    }

    /// Sends a request from `process` and calls `completion` once with the answer.
    func fetch(
        from process: SimProcess, url text: String, request: SimHTTPRequest,
        completion: @escaping (Result<SimHTTPResponse, SimNetError>) -> Void
    ) {
        guard let url = SimURL(text) else { return completion(.failure(.badURL(text))) }
        guard url.isLoopback else {
            return completion(.failure(url.isLiteralAddress ? .unreachable(host: url.host) : .badAddress(url.host)))
        }
        let net = process.namespaces.net
        var listener = net.listeners[url.port]
        if listener == nil, net === host.net, let target = published[url.port] {
            // The forwarder accepts, then finds nothing listening in the pod: the connection drops.
            guard let inside = target.net.listeners[target.port] else { return completion(.failure(.connectionReset)) }
            listener = inside
        }
        guard let listener else { return completion(.failure(.connectionRefused(host: url.address))) }
        var delivered = request
        delivered.path = url.path
        if delivered.headers["Host"] == nil { delivered.headers["Host"] = url.port == 80 ? url.host : "\(url.host):\(url.port)" }
        let server = listener.process
        let thread = SimThread()
        thread.reply = completion
        server.requestThreads.append(thread)
        schedule(after: 0) { [unowned self] in
            guard server.isAlive, thread.reply != nil else { return }
            self.execute(server, thread, listener.handler(SimContext(kernel: self, process: server), delivered))
        }
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
    case E2BIG = 7
    case ECHILD = 10
    case EAGAIN = 11
    case ENOMEM = 12
    case EACCES = 13
    case EBUSY = 16
    case EEXIST = 17
    case ENOTDIR = 20
    case EISDIR = 21
    case EINVAL = 22
    case ENOSPC = 28
    case ENAMETOOLONG = 36
    case EROFS = 30
    case ENOTEMPTY = 39
    case EADDRINUSE = 98
    case ECONNREFUSED = 111

    public var description: String {
        switch self {
        case .EPERM: return "Operation not permitted"
        case .ENOENT: return "No such file or directory"
        case .ESRCH: return "No such process"
        case .E2BIG: return "Argument list too long"
        case .ECHILD: return "No child processes"
        case .EAGAIN: return "Resource temporarily unavailable"
        case .ENOMEM: return "Cannot allocate memory"
        case .EACCES: return "Permission denied"
        case .EBUSY: return "Device or resource busy"
        case .EEXIST: return "File exists"
        case .ENOTDIR: return "Not a directory"
        case .EISDIR: return "Is a directory"
        case .EINVAL: return "Invalid argument"
        case .ENOSPC: return "No space left on device"
        case .ENAMETOOLONG: return "File name too long"
        case .EROFS: return "Read-only file system"
        case .ENOTEMPTY: return "Directory not empty"
        case .EADDRINUSE: return "Address already in use"
        case .ECONNREFUSED: return "Connection refused"
        }
    }
}
