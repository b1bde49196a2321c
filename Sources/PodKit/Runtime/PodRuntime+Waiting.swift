extension PodRuntime {
    // MARK: Waiting

    /// The longest sleep or wait a script may ask for: 30 days of pod time. On the sim a
    /// crash-looping pod has an event every 5 minutes of virtual time, so a wait of 10^12 s
    /// would run for hours of real time; nothing a test needs comes near the limit.
    public static let longestWait: Double = 2_592_000

    /// Why `seconds` cannot be a duration to sleep or wait for, or nil when it can.
    public static func durationProblem(_ seconds: Double) -> String? {
        if seconds.isNaN || seconds < 0 { return "must be a non-negative number of seconds" }
        if seconds > longestWait { return "must be at most \(Int(longestWait)) seconds (30 days of pod time)" }
        return nil
    }

    /// Lets `seconds` pass while supervising (virtual time on sim).
    public func sleep(_ seconds: Double) {
        guard seconds.isFinite, seconds > 0 else {
            supervise()
            return
        }
        _ = waitLoop(deadline: now + seconds) { false }
    }

    /// Lets up to `seconds` pass while supervising, checking `condition` after every event;
    /// true when it held before the time was up. On the sim the clock jumps from one event
    /// to the next, so a long wait costs what happens in it, not its length.
    public func sleep(_ seconds: Double, until condition: () -> Bool) -> Bool {
        waitLoop(deadline: now + (seconds.isFinite ? max(0, seconds) : 0), until: condition)
    }

    /// How a wait ended.
    public enum WaitOutcome: Sendable, Equatable {
        case satisfied
        case timedOut
        /// The pod reached a final phase from which the condition can no longer hold.
        case unreachable(PodPhase)
    }

    /// Waits until the pod's status satisfies `condition` (checked after every event), at most
    /// `timeout` seconds.
    public func wait(_ name: String, timeout: Double = 30, until condition: (PodStatus) -> Bool) throws(RuntimeError) -> WaitOutcome {
        let record = try record(name)
        let satisfied = waitLoop(deadline: now + max(0, timeout)) {
            condition(record.status) || record.removed
        }
        if satisfied && !record.removed { return .satisfied }
        return record.phase.isTerminal ? .unreachable(record.phase) : .timedOut
    }

    /// Waits until the pod is in `phase`; gives up as soon as it cannot get there any more.
    public func wait(_ name: String, phase: PodPhase, timeout: Double = 30) throws(RuntimeError) -> WaitOutcome {
        let record = try record(name)
        let satisfied = waitLoop(deadline: now + max(0, timeout)) {
            record.phase == phase || PodRuntime.unreachable(phase, from: record.phase)
        }
        if record.phase == phase { return .satisfied }
        if satisfied { return .unreachable(record.phase) }
        return .timedOut
    }

    static func unreachable(_ target: PodPhase, from current: PodPhase) -> Bool {
        switch target {
        case .pending: return current != .pending
        case .running: return current.isTerminal
        case .succeeded: return current == .failed
        case .failed: return current == .succeeded
        }
    }

    /// Supervises until `condition` holds or `deadline` (runtime clock) passes; true when the
    /// condition held.
    func waitLoop(deadline: Double, until condition: () -> Bool) -> Bool {
        while true {
            supervise()
            if condition() { return true }
            if interruption?() == true { return false }
            let current = now
            if current >= deadline { return false }
            var wake = Double.infinity
            for record in scheduled.values { wake = min(wake, record.wakeup ?? .infinity) }
            let target = min(deadline, max(wake, current))
            let clockBefore = backend.now
            var events = backend.poll(until: origin + target)
            if events.isEmpty && backend.now == clockBefore && target > current && target.isFinite
                && backend.capabilities.contains(.virtualTime)
            {
                // A virtual clock counts whole nanoseconds: a target a hair past the reachable
                // tick (0.1 + 0.05) would never be reached. Step to the next tick instead.
                events = backend.poll(until: origin + target + 1e-9)
            }
            if events.isEmpty && target == .infinity && backend.capabilities.contains(.virtualTime) {
                // Virtual time with nothing left to happen: the condition can no longer change.
                supervise()
                return condition()
            }
            apply(events)
        }
    }

    // MARK: Events

    /// A stream of every event from now on, for async callers.
    public func eventStream() -> AsyncStream<PodEvent> {
        let (stream, continuation) = AsyncStream<PodEvent>.makeStream()
        nextStream += 1
        let key = nextStream
        streams[key] = continuation
        return stream
    }

    // MARK: Closing

    /// Removes every pod that is not detached and ends the event streams. Idempotent.
    public func close() {
        guard !closed else { return }
        for record in pods where !record.removed && !record.detached {
            remove(record)
        }
        closed = true
        for continuation in streams.values { continuation.finish() }
        streams = [:]
    }
}
