import PodKit

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
/// Each kind keeps its own state in a subclass.
public class SimNamespace {
    public let kind: NamespaceKind
    public let inode: UInt64

    init(kind: NamespaceKind, inode: UInt64) {
        (self.kind, self.inode) = (kind, inode)
    }

    /// `net:[4026532201]`, as `readlink /proc/PID/ns/net` prints it.
    public var identity: String { "\(kind.rawValue):[\(inode)]" }
}

/// A PID namespace: its process table (namespace pid -> host pid) and PID 1.
final class SimPIDNamespace: SimNamespace {
    let parent: SimPIDNamespace?
    @exclusivity(unchecked) var pids: [Int: Int] = [:]
    var nextPid = 1
    /// Host pid of PID 1, once there is one.
    var initHostPid: Int?
    /// PID 1 has exited, so no process can be created here any more.
    var isDead = false

    init(inode: UInt64, parent: SimPIDNamespace?) {
        self.parent = parent
        super.init(kind: .pid, inode: inode)
    }

    /// This namespace and its ancestors, outermost (the host's) first.
    var chain: [SimPIDNamespace] {
        var out: [SimPIDNamespace] = []
        var current: SimPIDNamespace? = self
        while let ns = current {
            out.insert(ns, at: 0)
            current = ns.parent
        }
        return out
    }
}

/// A UTS namespace: the hostname.
final class SimUTSNamespace: SimNamespace {
    var hostname: String

    init(inode: UInt64, hostname: String) {
        self.hostname = hostname
        super.init(kind: .uts, inode: inode)
    }
}

/// A network namespace: the loopback interface (always up) and its listening TCP sockets.
final class SimNetNamespace: SimNamespace {
    /// Port -> listening socket.
    var listeners: [Int: SimListener] = [:]

    init(inode: UInt64) { super.init(kind: .net, inode: inode) }
}

/// An IPC namespace: System V shared memory, message queues and semaphore sets.
final class SimIPCNamespace: SimNamespace {
    var objects: [SimIPCObject] = []
    var nextID: [SimIPCObject.Kind: Int] = [:]
    /// State of the key generator (deterministic per namespace).
    var keySeed: UInt64

    init(inode: UInt64) {
        keySeed = inode &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        super.init(kind: .ipc, inode: inode)
    }
}

/// A mount namespace: a root file tree and the mounts on it.
final class SimMountNamespace: SimNamespace {
    /// The root tree; shared with the image until the first write (copy-on-write).
    var root: SimDir
    var rootShared: Bool
    /// readOnlyRootFilesystem: writes to the root tree fail with EROFS (mounts stay writable).
    var rootReadOnly = false
    /// Mounts, in the order made (a later mount on the same path hides an earlier one).
    var mounts: [SimMount] = []

    init(inode: UInt64, root: SimDir, shared: Bool) {
        self.root = root
        self.rootShared = shared
        super.init(kind: .mnt, inode: inode)
    }
}

/// The namespaces of a process, one of each kind.
struct SimNamespaces {
    var pid: SimPIDNamespace
    var net: SimNetNamespace
    var ipc: SimIPCNamespace
    var uts: SimUTSNamespace
    var mnt: SimMountNamespace

    subscript(kind: NamespaceKind) -> SimNamespace {
        switch kind {
        case .pid: return pid
        case .net: return net
        case .ipc: return ipc
        case .uts: return uts
        case .mnt: return mnt
        }
    }

    var all: [SimNamespace] { [pid, net, ipc, uts, mnt] }
}
