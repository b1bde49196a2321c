import PodKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension LinuxBackend {
    /// The state directories this process's backends keep pods in, for `removeOwnedPods`.
    static let statesInUse = Mutex<[String: LinuxState]>([:])

    /// Removes the pods this process owns (all but the detached) in every state directory a
    /// linux backend of it used, from the records on disk: kills their processes and cgroups,
    /// unmounts, deletes their directories. For a watchdog thread ending a process whose own
    /// thread is stuck (the backend's memory is not touched, so it is safe while that thread
    /// holds it); what the owner's thread also removes at the same time is removed once.
    /// Returns what could not be removed.
    @discardableResult
    public static func removeOwnedPods() -> [String] {
        StateLock.lock()
        defer { StateLock.unlock() }
        let states = statesInUse.withLock { Array($0.values) }
        var left: [String] = []
        for state in states {
            for record in state.list() where record.owner == ownStamp && !record.detached {
                left += state.remove(record)
                // They were this process's children: reap them, or they stay zombies until
                // their new parent (init) gets round to it.
                for pid in record.processes.map(\.pid) {
                    var status: Int32 = 0
                    while waitpid(pid, &status, WNOHANG) < 0 && errno == EINTR {}
                }
            }
        }
        return left
    }

    /// Waits for a change to the pods under way on another thread (the watchdog's removal) and
    /// keeps every later one from starting: for a process about to exit, which would otherwise
    /// cut it short and leave half a pod directory. The lock is never given back.
    public static func holdRemovalsUntilExit() {
        StateLock.lock()
    }

    func registerState() {
        let state = self.state
        Self.statesInUse.withLock { $0[state.directory] = state }
    }
}

/// Pod records and directories change under one lock, whichever thread changes them: the
/// owner's (making, filling and removing a sandbox, writing its record), the watchdog's
/// (`removeOwnedPods`, ending a process whose own thread is stuck), `gc`'s. Without it the
/// watchdog could read a record in the instant it is replaced and miss the pod, or one thread
/// could end the process while the other is halfway through a pod, leaving its directory (or a
/// `.gone-` one) behind. Recursive: a removal takes it again for each part.
enum StateLock {
    nonisolated(unsafe) static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        return mutex
    }()

    static func lock() { pthread_mutex_lock(mutex) }
    static func unlock() { pthread_mutex_unlock(mutex) }

    static func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
