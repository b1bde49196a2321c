import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// The `linux` backend: real pods on this kernel (PodCore.docc/LinuxBackend.md). The infra is a `pause`
/// process made in C (no binary needed) holding new net, ipc and uts namespaces (and the pod's
/// PID namespace when shared); containers are processes joined to them with `setns`, each in a
/// mount namespace of its own with an overlay root on its image, a fresh `/proc`, a minimal
/// `/dev`, a `/tmp` and the pod's volumes. Every process is a direct child of the owner, reaped
/// per pid (pidfds wake the waits) — never `waitpid(-1)`.
///
/// Logs: a container's stdout and stderr are one pipe, read by the run's log shim
/// (`pod-logger`), which appends what comes, interleaved as written, to one file per run
/// (`<pod dir>/logs/<container>/<run>.log`) and rotates it at `containerLogMaxSize`; an exec's
/// or a host command's streams are captured apart in memory files. Confined to its owner's thread, like every backend.
public final class LinuxBackend: InspectableBackend {
    public let options: LinuxBackendOptions
    public let store: ImageStore
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
    let started = LinuxSystem.monotonic()

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
        self.store = ImageStore(directory: options.imageDir)
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
        for (path, what) in [(options.stateDir, "state directory"), (options.stateDir + "/pods", "state directory"), (options.imageDir, "image directory")] {
            if let why = LinuxState.untrustedDirectory(path, what: what) { throw BackendError(.unavailable, "linux", why) }
        }
        if let code = LinuxSystem.makeDirectories(options.stateDir + "/pods", mode: 0o711) {
            throw BackendError(
                .unavailable, "linux",
                "state directory: \(SystemCall.named("mkdir", options.stateDir + "/pods")): \(LinuxSystem.describe(code))",
                systemError: code)
        }
        registerState()
    }

    deinit {
        stopPulls()
        for (id, sandbox) in sandboxes where !sandbox.detached { try? removeSandbox(id) }
        for process in processes.values where process.exit == nil && process.sandbox == nil {
            kill(process.pid, SIGKILL)
            _ = LinuxSystem.waitExit(process.pid)
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
            case .infraExited(let s, _), .sandboxEvicted(let s, _): return s == id
            case .imagePulled: return false
            }
        }
    }

    // MARK: State

    final class Process {
        enum Kind {
            case infra
            case container(ContainerRequest)
            case exec(container: ProcessID)
            case host
            /// A sandbox's port forwarder (published host ports).
            case forwarder
            /// A container run's log shim.
            case logger
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
        /// A container run's log shim; a log shim's container run.
        var logger: ProcessID?
        var run: ProcessID?
        /// Who sent the signal the backend last sent, when it was not the runtime's asking.
        var sentBecause: String?
        var runDir: String?
        var cgroup: String?
        /// A container run's user (from its image), which its execs run as too.
        var user: ImageUser?
        /// A container run's seccomp filter, which its execs run under too.
        var seccomp: SeccompFilter?
        /// An exec's or host command's captured streams (memory files).
        var stdoutFD: Int32 = -1
        var stderrFD: Int32 = -1
        /// Their contents once the process ended (the memory files are closed then).
        var captured: ProcessOutput?

        init(id: ProcessID, pid: pid_t, kind: Kind, sandbox: SandboxID?, argv: [String]) {
            self.id = id
            self.pid = pid
            self.pidfd = pid > 0 ? podspawn_pidfd(pid) : -1
            (self.kind, self.sandbox, self.argv) = (kind, sandbox, argv)
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

        var isLogger: Bool {
            if case .logger = kind { return true }
            return false
        }
    }

    final class Sandbox {
        let id: SandboxID
        let request: SandboxRequest
        let dir: String
        let infra: ProcessID
        let infraPid: pid_t
        /// The namespaces the pause made (PODSPAWN_NS_* bits).
        let namespaces: Int32
        var volumes: LinuxVolumes
        /// `hostUsers: false`: the first host ID of the pod's user namespace range.
        var idRange: UInt32?
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
        var record = LinuxPodRecord(
            name: "", id: "", uid: "", hostname: "", bootID: "", owner: ProcessStamp(pid: 0, start: 0),
            cgroup: "", cgroupVersion: "")
        /// Kept after its owner (`detach`): never removed by this backend, its exits not reported.
        var detached = false
        /// Reported evicted (once).
        var evicted = false
        /// Container entries changed since the record was last written (they are written when
        /// the owner next polls: a crash before that loses only what `ps` shows, since gc finds
        /// every container through the pod's cgroups).
        var recordDirty = false

        init(
            id: SandboxID, request: SandboxRequest, dir: String, infra: ProcessID, infraPid: pid_t, namespaces: Int32,
            volumes: LinuxVolumes
        ) {
            (self.id, self.request, self.dir, self.infra, self.infraPid, self.namespaces, self.volumes) =
                (id, request, dir, infra, infraPid, namespaces, volumes)
        }

        var sharesPID: Bool { request.namespaces.pid == .pod }
        var hostPID: Bool { request.namespaces.pid == .host }
    }

    var sandboxes: [SandboxID: Sandbox] = [:]
    var processes: [ProcessID: Process] = [:]
    /// Exits observed but not yet returned by `poll`, in order.
    var pending: [BackendEvent] = []
    var nextID = 0
    /// Finished execs and host commands keep their captured output (as strings; the memory
    /// files are closed at the exit) this long, in count, so that `output(of:)` works after the
    /// exit; older ones are forgotten.
    var finishedCommands: [ProcessID] = []
    static let keptCommandOutputs = 256
    /// When the disk emptyDirs' usage is next measured (`checkVolumeLimits`), and how many
    /// times it was (for tests that wait for a check).
    var nextVolumeCheck = 0.0
    var volumeChecks = 0
    /// Pulls under way, each on a thread of its own; their outcomes come through `pullMailbox`.
    var pullsRunning: [PullID: (thread: LinuxThread, cancel: ImageStore.PullCancel)] = [:]
    let pullMailbox = PullMailbox()
    /// Seccomp filters, compiled once per profile and capability set.
    let seccompFilters = SeccompFilters()

    func makeID() -> Int {
        nextID += 1
        return nextID
    }
}
