import Testing

@testable import PodKit
@testable import PodSim

/// A backend that fails its Nth mutating call, to prove that a failure at any step of pod
/// creation leaves nothing behind.
final class FaultyBackend: InspectableBackend {
    let inner: any InspectableBackend
    let failAt: Int
    private(set) var calls = 0

    init(_ inner: any InspectableBackend, failAt: Int) {
        (self.inner, self.failAt) = (inner, failAt)
    }

    private func step(_ operation: String) throws(BackendError) {
        calls += 1
        if calls == failAt { throw BackendError(.injected, operation, "injected failure at call \(calls)") }
    }

    var name: String { inner.name }
    var capabilities: BackendCapabilities { inner.capabilities }
    var now: Double { inner.now }
    func createSandbox(_ request: SandboxRequest) throws(BackendError) -> SandboxInfo {
        try step("createSandbox")
        return try inner.createSandbox(request)
    }
    func spawn(_ request: SpawnRequest) throws(BackendError) -> SpawnedProcess {
        try step("spawn")
        return try inner.spawn(request)
    }
    func signal(_ process: ProcessID, _ signal: Signal) throws(BackendError) {
        try step("signal")
        try inner.signal(process, signal)
    }
    func poll(until deadline: Double?) -> [BackendEvent] { inner.poll(until: deadline) }
    func output(of process: ProcessID) -> ProcessOutput { inner.output(of: process) }
    func removeSandbox(_ sandbox: SandboxID) throws(BackendError) { try inner.removeSandbox(sandbox) }
    func inventory() -> BackendInventory { inner.inventory() }
}

@Suite("Fault injection")
struct FaultInjectionTests {
    /// Creating this pod takes five backend steps: the sandbox, the sidecar, the init container
    /// (which exits at once), and the two app containers.
    static var spec: PodSpec {
        var sidecar = ContainerSpec(name: "side", command: ["sleep", "1000"])
        sidecar.restartPolicy = .always
        return PodSpec(
            name: "faulty", shareProcessNamespace: true,
            initContainers: [sidecar, ContainerSpec(name: "setup", command: ["true"])],
            containers: [
                ContainerSpec(name: "a", command: ["sleep", "1000"]),
                ContainerSpec(name: "b", command: ["sleep", "1000"]),
            ])
    }

    @Test func aFailureAtEachStepOfCreationLeavesNothingBehind() throws {
        var failedSteps = 0
        for failAt in 1...20 {
            let inner = SimBackend()
            let backend = FaultyBackend(inner, failAt: failAt)
            let runtime = PodRuntime(backend: backend)
            do {
                _ = try runtime.run(Self.spec)
            } catch {
                failedSteps += 1
                #expect(
                    error
                        == .backend(
                            BackendError(
                                .injected, backend.calls == 1 ? "createSandbox" : "spawn",
                                "injected failure at call \(failAt)")))
                #expect(inner.inventory().isEmpty, "failure at step \(failAt) left \(inner.inventory().details)")
                #expect(runtime.list().isEmpty)
                // The name is free: the same pod can be created once the fault is gone.
                continue
            }
            #expect(try runtime.status(of: "faulty").containers.map(\.state.isRunning) == [true, true])
            break
        }
        #expect(failedSteps == 5)
    }

    @Test func aFailedRestartDuringSupervisionIsRecordedNotThrown() throws {
        let inner = SimBackend()
        // Call 1 creates the sandbox, 2 starts the container, 3 is its first restart.
        let runtime = PodRuntime(backend: FaultyBackend(inner, failAt: 3))
        let pod = try runtime.run(PodSpec(name: "p", containers: [ContainerSpec(name: "app", command: ["sh", "-c", "sleep 1; exit 1"])]))
        runtime.sleep(30)
        let status = try pod.status()
        let second = try #require(status.containers[0].history.dropFirst().first)
        #expect(second.reason == .startError)
        #expect(second.cause == .startFailure("spawn: injected failure at call 3"))
        #expect(try pod.events().contains { $0.reason == "Failed" && $0.message == "Error: spawn: injected failure at call 3" })
        // Supervision goes on: the next attempt, after the backoff, runs again.
        #expect(status.containers[0].restartCount >= 2)
    }
}
