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

    func registerState() {
        let state = self.state
        Self.statesInUse.withLock { $0[state.directory] = state }
    }
}
