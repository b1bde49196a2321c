import PodBackends
import PodKit
import Testing

/// The toy backend of the "Implementing a backend" article: it keeps a journal of every call
/// and leaves the work to another backend of the registry. It is the smallest thing that is a
/// whole backend — the six requirements, the capabilities it passes on, an inventory for the
/// conformance suite — and one registry entry makes it usable by name (`pod.use("journal")`,
/// the conformance suite).
final class JournalBackend: InspectableBackend {
    private let inner: any PodBackend
    /// One line per call, in order: `createSandbox(web)`, `spawn(container sleep)`, ...
    private(set) var journal: [String] = []

    init(wrapping inner: any PodBackend) {
        self.inner = inner
    }

    var name: String { "journal" }
    var capabilities: BackendCapabilities { inner.capabilities.subtracting(.detachedPods) }
    var now: Double { inner.now }

    func createSandbox(_ request: SandboxRequest) throws(BackendError) -> SandboxInfo {
        journal.append("createSandbox(\(request.podName))")
        return try inner.createSandbox(request)
    }

    func spawn(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess {
        let context: String
        switch request.context {
        case .container: context = "container"
        case .exec: context = "exec"
        case .host: context = "host"
        }
        journal.append("spawn(\(context) \(request.argv.first ?? ""))")
        return try inner.spawn(request)
    }

    func signal(_ process: ProcessID, _ signal: Signal) throws(BackendError) {
        journal.append("signal(\(process), \(signal))")
        try inner.signal(process, signal)
    }

    func poll(until deadline: Double?) -> [BackendEvent] { inner.poll(until: deadline) }

    func output(of process: ProcessID) -> ProcessOutput { inner.output(of: process) }

    func removeSandbox(_ sandbox: SandboxID) throws(BackendError) {
        journal.append("removeSandbox(\(sandbox))")
        try inner.removeSandbox(sandbox)
    }

    func inventory() -> BackendInventory {
        (inner as? any InspectableBackend)?.inventory() ?? BackendInventory(sandboxes: 0, processes: 0, namespaces: 0, details: [])
    }

    /// Its registry entry: option `over` names the backend it wraps (default: the sim).
    static let entry = BackendEntry(
        name: "journal",
        summary: "a journal of every backend call, over another backend (a toy)",
        optionNames: ["over"],
        trusted: false,
        unavailableReason: { nil },
        configure: { options throws(BackendError) in
            try BackendEntry.refuseUnknown(options, known: ["over"], backend: "journal")
            var over = "sim"
            if let node = options["over"] {
                guard case .string(let name) = node.value, name != "journal" else {
                    throw BackendError(.unsupported, "options", "options.over must name another backend")
                }
                over = name
            }
            let inner = try BackendRegistry.standard.configure(over)
            return BackendConfiguration(backend: "journal", settings: over) { () throws(BackendError) in
                JournalBackend(wrapping: try inner.make())
            }
        })
}

@Suite("Implementing a backend: the toy")
struct ToyBackendTests {
    @Test func oneRegistryEntryMakesItUsableByName() throws {
        let registry = BackendRegistry.standard.adding(JournalBackend.entry)
        #expect(registry.availableNames().contains("journal"))
        let backend = try registry.make("journal", options: BackendOptions([SpecNode.Entry("over", SpecNode(.string("sim")))]))
        let runtime = PodRuntime(backend: backend)
        defer { runtime.close() }
        let pod = try runtime.create(
            PodSpec(
                name: "web", restartPolicy: .never,
                containers: [ContainerSpec(name: "c", command: ["sh", "-c", "exit 3"])]))
        try pod.start()
        #expect(try pod.wait(phase: .failed, timeout: 5) == .satisfied)
        #expect(try pod.status().containers[0].state.termination?.exitCode == 3)
        let journal = try #require(backend as? JournalBackend).journal
        #expect(journal.first == "createSandbox(web)")
        #expect(journal.contains("spawn(container sh)"))
        #expect(throws: BackendError.self) {
            try registry.make("journal", options: BackendOptions([SpecNode.Entry("over", SpecNode(.string("journal")))]))
        }
        #expect(throws: BackendError.self) {
            try registry.make("journal", options: BackendOptions([SpecNode.Entry("speed", SpecNode(.number("2")))]))
        }
    }
}
