import PodBackends
import Testing

@testable import PodKit
@testable import PodLinux
@testable import PodSim

/// The backend contract, as tests: every backend of the registry runs this suite — this
/// build's own and the toy of the "Implementing a backend" article. Commands are the portable
/// busybox ones, so a real backend gives the same results. A backend that cannot run here is
/// skipped with the reason printed (`Test.cancel`), never passed silently.
enum Conformance {
    /// The standard registry and the article's toy.
    static let registry = BackendRegistry.standard.adding(JournalBackend.entry)
    /// The names the suite runs on.
    static let backends = registry.entries.map(\.name)
}

/// A backend under test, with helpers that keep every event they see.
final class BackendHarness {
    let backend: any InspectableBackend
    private(set) var seen: [BackendEvent] = []
    /// The state directory of a backend that keeps one, removed with the harness.
    let stateDir: String?

    /// A backend of the registry entry `name`: one that takes a state directory gets one of its
    /// own (and the tests' image directory); one that cannot run here skips the test, printing why.
    init(_ name: String) throws {
        (backend, stateDir) = try Self.make(name)
    }

    static func make(_ name: String) throws -> (any InspectableBackend, String?) {
        let entry = try #require(Conformance.registry.entry(named: name))
        var options = BackendOptions()
        let stateDir = entry.optionNames.contains("stateDir") ? LinuxTestSupport.scratch("state") : nil
        if let stateDir {
            options.set("stateDir", stateDir)
            options.set("imageDir", LinuxTestSupport.imageDir)
        }
        // The suite runs the host's programs (sleep, sh) where a backend has a host image.
        if entry.optionNames.contains("allowHostImage") { options.set("allowHostImage", true) }
        let made: Result<any PodBackend, BackendError>
        if let reason = entry.unavailableReason() {
            made = .failure(BackendError(.unavailable, name, reason))
        } else {
            do { made = .success(try entry.configure(options).make()) } catch { made = .failure(error) }
        }
        switch made {
        case .success(let backend):
            return (try #require(backend as? any InspectableBackend, "the conformance suite reads a backend's inventory"), stateDir)
        case .failure(let error):
            if let stateDir { LinuxTestSupport.remove(stateDir) }
            print("skipping the \(name) backend: \(error)")
            try Test.cancel("the \(name) backend is unavailable here: \(error)")
        }
    }

    deinit {
        for line in backend.inventory().details where line.hasPrefix("sandbox") { print("leftover: \(line)") }
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
        try backend.spawn(SpawnRequest(context: .container(sandbox.id, ContainerRequest(name: "c", image: stateDir == nil ? "" : "host")), argv: argv))
    }
}

extension RealLinux {
    @Suite("Backend conformance", .serialized)
    struct BackendConformanceTests {
        @Test("sandbox: created with a live infra, removed without a trace, removal idempotent", arguments: Conformance.backends)
        func sandboxLifecycle(kind: String) throws {
            let h = try BackendHarness(kind)
            let sandbox = try h.backend.createSandbox(SandboxRequest(pod: BackendHarness.spec(), uid: "u1"))
            #expect(sandbox.infraPid > 1)
            let held = h.backend.inventory()
            #expect(held.sandboxes == 1)
            #expect(held.processes >= 1)
            try h.backend.removeSandbox(sandbox.id)
            try h.backend.removeSandbox(sandbox.id)
            #expect(h.backend.inventory() == BackendInventory(sandboxes: 0, processes: 0, namespaces: 0, details: []))
        }

        @Test("exit codes of container commands", arguments: Conformance.backends)
        func exitCodes(kind: String) throws {
            let h = try BackendHarness(kind)
            let sandbox = try h.backend.createSandbox(SandboxRequest(pod: BackendHarness.spec(), uid: "u1"))
            defer { try? h.backend.removeSandbox(sandbox.id) }
            for (argv, code) in [
                (["true"], Int32(0)), (["false"], 1), (["sh", "-c", "exit 3"], 3), (["sh", "-c", "false || exit 4"], 4),
                (["sh", "-c", "true && exit 5"], 5), (["sh", "-c", "exit 300"], 44),
            ] {
                let process = try h.container(sandbox, argv)
                let exit = h.exit(of: process.id)
                #expect(exit?.exitCode == code, "\(argv)")
                #expect(exit?.signal == nil)
            }
        }

        @Test("a command that cannot be executed exits 127 with a start error", arguments: Conformance.backends)
        func startError(kind: String) throws {
            let h = try BackendHarness(kind)
            let sandbox = try h.backend.createSandbox(SandboxRequest(pod: BackendHarness.spec(), uid: "u1"))
            defer { try? h.backend.removeSandbox(sandbox.id) }
            let process = try h.container(sandbox, ["no-such-program", "--flag"])
            let exit = try #require(h.exit(of: process.id))
            #expect(exit.exitCode == 127)
            #expect(exit.startError?.contains("no-such-program") == true)
        }

        @Test("PID 1 of a container ignores SIGTERM without a handler; SIGKILL kills it", arguments: Conformance.backends)
        func pid1IgnoresTerm(kind: String) throws {
            let h = try BackendHarness(kind)
            let sandbox = try h.backend.createSandbox(SandboxRequest(pod: BackendHarness.spec(shared: false), uid: "u1"))
            defer { try? h.backend.removeSandbox(sandbox.id) }
            let process = try h.container(sandbox, ["sleep", "3600"])
            try h.backend.signal(process.id, .term)
            #expect(h.exit(of: process.id, timeout: 1) == nil)
            try h.backend.signal(process.id, .kill)
            let exit = try #require(h.exit(of: process.id))
            #expect(exit.exitCode == 137)
            #expect(exit.signal == .kill)
        }

        @Test("with a shared PID namespace SIGTERM ends sleep (exit 143)", arguments: Conformance.backends)
        func sharedTerm(kind: String) throws {
            let h = try BackendHarness(kind)
            let sandbox = try h.backend.createSandbox(SandboxRequest(pod: BackendHarness.spec(shared: true), uid: "u1"))
            defer { try? h.backend.removeSandbox(sandbox.id) }
            let process = try h.container(sandbox, ["sleep", "3600"])
            try h.backend.signal(process.id, .term)
            let exit = try #require(h.exit(of: process.id))
            #expect(exit.exitCode == 143)
            #expect(exit.signal == .term)
        }

        @Test("signalling a process that has exited is a clear error", arguments: Conformance.backends)
        func signalDeadProcess(kind: String) throws {
            let h = try BackendHarness(kind)
            let sandbox = try h.backend.createSandbox(SandboxRequest(pod: BackendHarness.spec(), uid: "u1"))
            defer { try? h.backend.removeSandbox(sandbox.id) }
            let process = try h.container(sandbox, ["true"])
            _ = h.exit(of: process.id)
            #expect { try h.backend.signal(process.id, .term) } throws: { error in
                (error as? BackendError)?.code == .noSuchProcess
            }
        }

        @Test("exec runs in a running container and captures stdout and stderr", arguments: Conformance.backends)
        func exec(kind: String) throws {
            let h = try BackendHarness(kind)
            let sandbox = try h.backend.createSandbox(SandboxRequest(pod: BackendHarness.spec(), uid: "u1"))
            defer { try? h.backend.removeSandbox(sandbox.id) }
            let main = try h.container(sandbox, ["sleep", "3600"])
            let exec = try h.backend.spawn(SpawnRequest(context: .exec(sandbox.id, container: main.id), argv: ["echo", "hello", "pod"]))
            #expect(h.exit(of: exec.id)?.exitCode == 0)
            #expect(h.backend.output(of: exec.id).stdout == "hello pod\n")
            let failing = try h.backend.spawn(SpawnRequest(context: .exec(sandbox.id, container: main.id), argv: ["sh", "-c", "nosuch"]))
            #expect(h.exit(of: failing.id)?.exitCode == 127)
            #expect(h.backend.output(of: failing.id).stderr.contains("nosuch: not found"))
        }

        @Test("the infra's death is reported; in a shared PID namespace it takes the containers", arguments: Conformance.backends)
        func infraDeath(kind: String) throws {
            let h = try BackendHarness(kind)
            let sandbox = try h.backend.createSandbox(SandboxRequest(pod: BackendHarness.spec(shared: true), uid: "u1"))
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

        @Test("host context commands run outside every pod", arguments: Conformance.backends)
        func hostContext(kind: String) throws {
            let h = try BackendHarness(kind)
            guard h.backend.capabilities.contains(.hostContext) else { try Test.cancel("no host context") }
            let process = try h.backend.spawn(SpawnRequest(context: .host, argv: ["sh", "-c", "exit 7"]))
            #expect(h.exit(of: process.id)?.exitCode == 7)
            #expect(h.backend.inventory().processes == 0)
        }

        @Test("removing a sandbox kills its containers and execs; nothing is reported after", arguments: Conformance.backends)
        func removeKillsEverything(kind: String) throws {
            let h = try BackendHarness(kind)
            let sandbox = try h.backend.createSandbox(SandboxRequest(pod: BackendHarness.spec(), uid: "u1"))
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
