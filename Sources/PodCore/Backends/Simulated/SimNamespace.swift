/// The kinds of namespace the simulated kernel models, with the inode numbers a fresh Linux
/// host shows for its own (`readlink /proc/1/ns/*`). One table, used everywhere.
public enum NamespaceKind: String, Sendable, CaseIterable {
    case pid, net, ipc, uts, mnt

    /// The host's namespace inode of this kind.
    var hostInode: UInt64 {
        switch self {
        case .pid: return 4_026_531_836
        case .net: return 4_026_531_992
        case .ipc: return 4_026_531_839
        case .uts: return 4_026_531_838
        case .mnt: return 4_026_531_841
        }
    }
}

/// A namespace of the simulated kernel: an object with an identity (`net:[4026532201]`).
/// PID namespaces hold a process table; UTS namespaces a hostname.
public final class SimNamespace {
    public let kind: NamespaceKind
    public let inode: UInt64
    /// The parent PID namespace (nil for the host's and for other kinds).
    let parent: SimNamespace?
    /// UTS: the hostname.
    var hostname: String
    /// PID: namespace pid -> host pid.
    var pids: [Int: Int] = [:]
    var nextPid = 1
    /// PID: host pid of PID 1, once there is one.
    var initHostPid: Int?
    /// PID: PID 1 has exited, so no process can be created here any more.
    var isDead = false

    init(kind: NamespaceKind, inode: UInt64, parent: SimNamespace? = nil, hostname: String = "") {
        self.kind = kind
        self.inode = inode
        self.parent = parent
        self.hostname = hostname
    }

    /// `net:[4026532201]`, as `readlink /proc/PID/ns/net` prints it.
    public var identity: String { "\(kind.rawValue):[\(inode)]" }

    /// This PID namespace and its ancestors, outermost (the host's) first.
    var chain: [SimNamespace] {
        var out: [SimNamespace] = []
        var current: SimNamespace? = self
        while let ns = current {
            out.insert(ns, at: 0)
            current = ns.parent
        }
        return out
    }
}
