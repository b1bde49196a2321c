import Foundation

/// A guard against hangs in hostile-input tests, not a timing assertion: `body` runs on a thread
/// of its own and the test waits for it at most `seconds` (about ten times what it needs on a
/// loaded machine). True when it finished; a body that hangs is left running and the test fails.
public func finishes(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    return done.wait(timeout: .now() + seconds) == .success
}

/// What `body` returned when it finished within `seconds`, or nil when it hung. The caller
/// waits while `body` runs, so what it captures (a Lua state, which is not Sendable) is never
/// used by two threads at once — unless it hangs, and then the test has failed anyway.
public func result<T>(within seconds: Double, _ body: @escaping () -> T) -> T? {
    let handoff = Handoff(body)
    guard finishes(within: seconds, { handoff.value = handoff.body() }) else { return nil }
    return handoff.value
}

private final class Handoff<T>: @unchecked Sendable {
    let body: () -> T
    var value: T?
    init(_ body: @escaping () -> T) { self.body = body }
}
