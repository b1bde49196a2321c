import PodKit

/// A cgroup of the simulated kernel: hierarchical memory accounting with a limit (over it, the
/// OOM killer ends the largest process of the cgroup) and a pids limit (fork fails with EAGAIN).
final class SimCgroup {
    let parent: SimCgroup?
    /// memory.max / memory.limit_in_bytes; nil for no limit.
    let memoryLimit: Int64?
    /// pids.max; nil for no limit.
    let pidsLimit: Int?
    /// Bytes charged here and below.
    var memoryUsage: Int64 = 0
    var pidsCurrent = 0
    /// OOM kills in this cgroup (memory.events oom_kill).
    var oomKills = 0

    init(parent: SimCgroup?, memoryLimit: Int64?, pidsLimit: Int?) {
        (self.parent, self.memoryLimit, self.pidsLimit) = (parent, memoryLimit, pidsLimit)
    }

    /// This cgroup and its ancestors, innermost first.
    var lineage: [SimCgroup] {
        var out: [SimCgroup] = []
        var current: SimCgroup? = self
        while let c = current {
            out.append(c)
            current = c.parent
        }
        return out
    }

    /// Whether `self` is `other` or below it.
    func isWithin(_ other: SimCgroup) -> Bool { lineage.contains { $0 === other } }

    /// Calls `body` for this cgroup and each ancestor, innermost first (no allocation).
    func forEachLevel(_ body: (SimCgroup) -> Void) {
        var current: SimCgroup? = self
        while let level = current {
            body(level)
            current = level.parent
        }
    }

    /// Whether forking one more task stays within every pids.max on the way up.
    var canFork: Bool {
        var current: SimCgroup? = self
        while let level = current {
            if let limit = level.pidsLimit, level.pidsCurrent + 1 > limit { return false }
            current = level.parent
        }
        return true
    }
}
