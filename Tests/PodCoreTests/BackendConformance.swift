import Testing
@testable import PodKit
@testable import PodSim
@testable import PodLinux

/// The backend contract, as tests: every backend runs this suite. Commands are the portable
/// busybox ones, so a real backend gives the same results. A backend that cannot run here is
/// skipped with the reason printed (`Test.cancel`), never passed silently.
enum BackendKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sim
    case linux

    var testDescription: String { rawValue }

    /// A backend of this kind; a linux one gets a state directory of its own (`stateDir`).
    func make(stateDir: String? = nil) throws(BackendError) -> any PodBackend {
        switch self {
        case .sim: return SimBackend()
        case .linux:
            return try LinuxBackend(options: LinuxBackendOptions(stateDir: stateDir ?? LinuxTestSupport.scratch("state"),
                                                                 imageDir: LinuxTestSupport.imageDir))
        }
    }
}

/// A backend under test, with helpers that keep every event they see.
final class BackendHarness {
    let backend: any PodBackend
    private(set) var seen: [BackendEvent] = []
    /// The linux backend's own state directory, removed with the harness.
    let stateDir: String?

    init(_ kind: BackendKind) throws {
        let stateDir = kind == .linux ? LinuxTestSupport.scratch("state") : nil
        self.stateDir = stateDir
        backend = try Self.make(kind, stateDir: stateDir)
    }

    /// The backend, or the test is skipped with the reason printed.
    static func make(_ kind: BackendKind, stateDir: String?) throws -> any PodBackend {
        let made: Result<any PodBackend, BackendError>
        do { made = .success(try kind.make(stateDir: stateDir)) } catch { made = .failure(error) }
        switch made {
        case .success(let backend): return backend
        case .failure(let error):
            if let stateDir { LinuxTestSupport.remove(stateDir) }
            print("skipping the \(kind.rawValue) backend: \(error)")
            try Test.cancel("the \(kind.rawValue) backend is unavailable here: \(error)")
        }
    }

    deinit {
        if let linux = backend as? LinuxBackend {
            for line in linux.inventory().details where line.hasPrefix("sandbox") { print("leftover: \(line)") }
        }
        if let stateDir { LinuxTestSupport.remove(stateDir) }
    }

    static func spec(_ name: String = "conformance", shared: Bool = false) -> PodSpec {
        PodSpec(name: name, shareProcessNamespace: shared, containers: [ContainerSpec(name: "main", command: ["sleep", "3600"])])
    }

    /// Polls until `match` finds an event (kept events included) or `timeout` seconds pass.
    func waitFor<T>(timeout: Double = 10, _ match: (BackendEvent) -> T?) -> T? {
        if let found = seen.lazy.compactMap(match).first { return found }
        let deadline = backend.now + timeout
        while true {
            let events = backend.poll(until: deadline)
            seen += events
            if let found = events.lazy.compactMap(match).first { return found }
            if backend.now >= deadline { return nil }
        }
    }

    func exit(of process: ProcessID, timeout: Double = 10) -> ProcessExit? {
        waitFor(timeout: timeout) { event in
            if case .processExited(let id, let exit) = event, id == process { return exit }
            return nil
        }
    }

    func container(_ sandbox: SandboxInfo, _ argv: [String]) throws -> SpawnedProcess {
        try backend.spawn(SpawnRequest(context: .container(sandbox.id, ContainerSpec(name: "c", command: argv)), argv: argv))
    }
}

extension RealLinux {
@Suite("Backend conformance", .serialized)
struct BackendConformanceTests {
    @Test("sandbox: created with a live infra, removed without a trace, removal idempotent", arguments: BackendKind.allCases)
    func sandboxLifecycle(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        let sandbox = try h.backend.createSandbox(SandboxRequest(podName: "p", uid: "u1", spec: BackendHarness.spec()))
        #expect(sandbox.infraPid > 1)
        let held = h.backend.inventory()
        #expect(held.sandboxes == 1)
        #expect(held.processes >= 1)
        try h.backend.removeSandbox(sandbox.id)
        try h.backend.removeSandbox(sandbox.id)
        #expect(h.backend.inventory() == BackendInventory(sandboxes: 0, processes: 0, namespaces: 0, details: []))
    }

    @Test("exit codes of container commands", arguments: BackendKind.allCases)
    func exitCodes(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        let sandbox = try h.backend.createSandbox(SandboxRequest(podName: "p", uid: "u1", spec: BackendHarness.spec()))
        defer { try? h.backend.removeSandbox(sandbox.id) }
        for (argv, code) in [(["true"], Int32(0)), (["false"], 1), (["sh", "-c", "exit 3"], 3), (["sh", "-c", "false || exit 4"], 4),
                             (["sh", "-c", "true && exit 5"], 5), (["sh", "-c", "exit 300"], 44)] {
            let process = try h.container(sandbox, argv)
            let exit = h.exit(of: process.id)
            #expect(exit?.exitCode == code, "\(argv)")
            #expect(exit?.signal == nil)
        }
    }

    @Test("a command that cannot be executed exits 127 with a start error", arguments: BackendKind.allCases)
    func startError(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        let sandbox = try h.backend.createSandbox(SandboxRequest(podName: "p", uid: "u1", spec: BackendHarness.spec()))
        defer { try? h.backend.removeSandbox(sandbox.id) }
        let process = try h.container(sandbox, ["no-such-program", "--flag"])
        let exit = try #require(h.exit(of: process.id))
        #expect(exit.exitCode == 127)
        #expect(exit.startError?.contains("no-such-program") == true)
    }

    @Test("PID 1 of a container ignores SIGTERM without a handler; SIGKILL kills it", arguments: BackendKind.allCases)
    func pid1IgnoresTerm(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        let sandbox = try h.backend.createSandbox(SandboxRequest(podName: "p", uid: "u1", spec: BackendHarness.spec(shared: false)))
        defer { try? h.backend.removeSandbox(sandbox.id) }
        let process = try h.container(sandbox, ["sleep", "3600"])
        try h.backend.signal(process.id, .term)
        #expect(h.exit(of: process.id, timeout: 1) == nil)
        try h.backend.signal(process.id, .kill)
        let exit = try #require(h.exit(of: process.id))
        #expect(exit.exitCode == 137)
        #expect(exit.signal == .kill)
    }

    @Test("with a shared PID namespace SIGTERM ends sleep (exit 143)", arguments: BackendKind.allCases)
    func sharedTerm(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        let sandbox = try h.backend.createSandbox(SandboxRequest(podName: "p", uid: "u1", spec: BackendHarness.spec(shared: true)))
        defer { try? h.backend.removeSandbox(sandbox.id) }
        let process = try h.container(sandbox, ["sleep", "3600"])
        try h.backend.signal(process.id, .term)
        let exit = try #require(h.exit(of: process.id))
        #expect(exit.exitCode == 143)
        #expect(exit.signal == .term)
    }

    @Test("signalling a process that has exited is a clear error", arguments: BackendKind.allCases)
    func signalDeadProcess(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        let sandbox = try h.backend.createSandbox(SandboxRequest(podName: "p", uid: "u1", spec: BackendHarness.spec()))
        defer { try? h.backend.removeSandbox(sandbox.id) }
        let process = try h.container(sandbox, ["true"])
        _ = h.exit(of: process.id)
        #expect { try h.backend.signal(process.id, .term) } throws: { error in
            (error as? BackendError)?.code == .noSuchProcess
        }
    }

    @Test("exec runs in a running container and captures stdout and stderr", arguments: BackendKind.allCases)
    func exec(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        let sandbox = try h.backend.createSandbox(SandboxRequest(podName: "p", uid: "u1", spec: BackendHarness.spec()))
        defer { try? h.backend.removeSandbox(sandbox.id) }
        let main = try h.container(sandbox, ["sleep", "3600"])
        let exec = try h.backend.spawn(SpawnRequest(context: .exec(sandbox.id, container: main.id), argv: ["echo", "hello", "pod"]))
        #expect(h.exit(of: exec.id)?.exitCode == 0)
        #expect(h.backend.output(of: exec.id).stdout == "hello pod\n")
        let failing = try h.backend.spawn(SpawnRequest(context: .exec(sandbox.id, container: main.id), argv: ["sh", "-c", "nosuch"]))
        #expect(h.exit(of: failing.id)?.exitCode == 127)
        #expect(h.backend.output(of: failing.id).stderr.contains("nosuch: not found"))
    }

    @Test("the infra's death is reported; in a shared PID namespace it takes the containers", arguments: BackendKind.allCases)
    func infraDeath(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        let sandbox = try h.backend.createSandbox(SandboxRequest(podName: "p", uid: "u1", spec: BackendHarness.spec(shared: true)))
        defer { try? h.backend.removeSandbox(sandbox.id) }
        let main = try h.container(sandbox, ["sleep", "3600"])
        try h.backend.signal(sandbox.infraProcess, .kill)
        let infra = h.waitFor { event -> ProcessExit? in
            if case .infraExited(let id, let exit) = event, id == sandbox.id { return exit }
            return nil
        }
        #expect(infra?.signal == .kill)
        #expect(h.exit(of: main.id)?.exitCode == 137)
    }

    @Test("host context commands run outside every pod", arguments: BackendKind.allCases)
    func hostContext(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        guard h.backend.capabilities.contains(.hostContext) else { try Test.cancel("no host context") }
        let process = try h.backend.spawn(SpawnRequest(context: .host, argv: ["sh", "-c", "exit 7"]))
        #expect(h.exit(of: process.id)?.exitCode == 7)
        #expect(h.backend.inventory().processes == 0)
    }

    @Test("removing a sandbox kills its containers and execs; nothing is reported after", arguments: BackendKind.allCases)
    func removeKillsEverything(kind: BackendKind) throws {
        let h = try BackendHarness(kind)
        let sandbox = try h.backend.createSandbox(SandboxRequest(podName: "p", uid: "u1", spec: BackendHarness.spec()))
        let a = try h.container(sandbox, ["sleep", "3600"])
        _ = try h.container(sandbox, ["sh", "-c", "sleep 3600; true"])
        _ = try h.backend.spawn(SpawnRequest(context: .exec(sandbox.id, container: a.id), argv: ["sleep", "3600"]))
        // The infra, two containers and the exec at least (the sim also counts sh's child).
        #expect(h.backend.inventory().processes >= 4)
        try h.backend.removeSandbox(sandbox.id)
        #expect(h.backend.inventory().isEmpty, "\(h.backend.inventory().details)")
        #expect(h.backend.poll(until: nil) == [])
        #expect { try h.container(sandbox, ["true"]) } throws: { error in
            (error as? BackendError)?.code == .noSuchSandbox
        }
    }
}
}
