/// A handle on one pod of a runtime. It names the pod by uid, so it never reaches a later pod
/// that reuses the name; once the pod is removed, every call throws `.podRemoved`.
public final class Pod: CustomStringConvertible {
    let runtime: PodRuntime
    public let name: String
    let order: Int

    init(runtime: PodRuntime, name: String, order: Int) {
        (self.runtime, self.name, self.order) = (runtime, name, order)
    }

    /// The pod's uid (UUID-shaped, deterministic: the same scenario gives the same uids).
    public var uid: String { PodRuntime.uid(order) }

    private func check() throws(RuntimeError) {
        _ = try runtime.record(order: order, name: name)
    }

    /// Whether the pod still exists.
    public var isRemoved: Bool { (try? runtime.record(order: order, name: name)) == nil }

    public func spec() throws(RuntimeError) -> PodSpec { try runtime.record(order: order, name: name).spec }
    public func start() throws(RuntimeError) { try runtime.start(try runtime.record(order: order, name: name)) }
    public func status() throws(RuntimeError) -> PodStatus {
        try check()
        return try runtime.status(of: name)
    }
    public func events() throws(RuntimeError) -> [PodEvent] {
        try check()
        return try runtime.events(of: name)
    }
    public func kill(_ container: String, signal: Signal = .kill) throws(RuntimeError) {
        try check()
        try runtime.kill(name, container: container, signal: signal)
    }
    public func stop(gracePeriod: Int64? = nil) throws(RuntimeError) {
        try runtime.stop(try runtime.record(order: order, name: name), gracePeriod: gracePeriod)
    }
    /// Removes the pod; idempotent.
    public func remove() throws(RuntimeError) {
        guard let record = try? runtime.record(order: order, name: name) else { return }
        runtime.remove(record)
    }
    public func detach() throws(RuntimeError) {
        try check()
        try runtime.detach(name)
    }
    public func exec(
        _ container: String, _ argv: [String], stdin: String? = nil, env: [EnvVar] = [],
        timeout: Double = 30
    ) throws(RuntimeError) -> ExecResult {
        try check()
        return try runtime.exec(name, container: container, argv, stdin: stdin, env: env, timeout: timeout)
    }
    public func logs(_ container: String, previous: Bool = false) throws(RuntimeError) -> String {
        try check()
        return try runtime.logs(name, container: container, previous: previous)
    }
    public func wait(phase: PodPhase, timeout: Double = 30) throws(RuntimeError) -> PodRuntime.WaitOutcome {
        try check()
        return try runtime.wait(name, phase: phase, timeout: timeout)
    }
    public func wait(timeout: Double = 30, until condition: (PodStatus) -> Bool) throws(RuntimeError) -> PodRuntime.WaitOutcome {
        try check()
        return try runtime.wait(name, timeout: timeout, until: condition)
    }

    /// `Pod(web, 2 containers, Running)`.
    public var description: String {
        guard let record = try? runtime.record(order: order, name: name) else { return "Pod(\(name), removed)" }
        let count = record.spec.containers.count
        return "Pod(\(name), \(count) container\(count == 1 ? "" : "s"), \(record.phase.rawValue))"
    }
}
