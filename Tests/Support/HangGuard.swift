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
