/// The runtime for Swift concurrency: an actor that owns a `PodRuntime` (and its backend) and
/// forwards to it, so async code can drive pods from any task. The runtime itself stays
/// synchronous; events also arrive as an `AsyncStream`. Releasing the actor releases the
/// runtime, which removes its pods.
public actor PodRuntimeActor {
    private let runtime: PodRuntime

    /// A runtime on the backend `makeBackend` returns (called once, on this actor).
    public init(makeBackend: @Sendable () -> any PodBackend) {
        runtime = PodRuntime(backend: makeBackend())
    }

    public var now: Double { runtime.now }
    public var backendName: String { runtime.backend.name }

    public func run(_ spec: PodSpec) throws(RuntimeError) { _ = try runtime.run(spec) }
    public func create(_ spec: PodSpec) throws(RuntimeError) { _ = try runtime.create(spec) }
    public func start(_ name: String) throws(RuntimeError) { try runtime.start(name) }
    public func status(of name: String) throws(RuntimeError) -> PodStatus { try runtime.status(of: name) }
    public func names() -> [String] { runtime.list().map(\.name) }
    public func kill(_ name: String, container: String, signal: Signal = .kill) throws(RuntimeError) {
        try runtime.kill(name, container: container, signal: signal)
    }
    public func stop(_ name: String, gracePeriod: Int64? = nil) throws(RuntimeError) {
        try runtime.stop(name, gracePeriod: gracePeriod)
    }
    public func remove(_ name: String) throws(RuntimeError) { try runtime.remove(name) }
    public func exec(_ name: String, container: String, _ argv: [String], timeout: Double = 30) throws(RuntimeError) -> ExecResult {
        try runtime.exec(name, container: container, argv, timeout: timeout)
    }
    public func logs(_ name: String, container: String, previous: Bool = false) throws(RuntimeError) -> String {
        try runtime.logs(name, container: container, previous: previous)
    }
    public func sleep(_ seconds: Double) { runtime.sleep(seconds) }
    public func wait(_ name: String, phase: PodPhase, timeout: Double = 30) throws(RuntimeError) -> PodRuntime.WaitOutcome {
        try runtime.wait(name, phase: phase, timeout: timeout)
    }
    public func events() -> [PodEvent] { runtime.events }
    /// Every event from now on.
    public func eventStream() -> AsyncStream<PodEvent> { runtime.eventStream() }
    /// Removes every pod not detached; ends the event streams.
    public func close() { runtime.close() }
}
