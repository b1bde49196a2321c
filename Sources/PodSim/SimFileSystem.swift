import PodKit

/// In-memory file trees for the simulated kernel: directories and files, volumes with their
/// accounting, mounts, and path resolution through a mount namespace.
///
/// Container roots share one image tree until a container first writes to its root, which
/// then gets its own copy (copy-on-write at tree granularity: the image is small, and a pod
/// that never writes to its root costs nothing).
final class SimDir {
    var entries: [String: SimNode] = [:]
    var owner: SimOwner

    init(_ entries: [String: SimNode] = [:], owner: SimOwner = SimOwner()) { (self.entries, self.owner) = (entries, owner) }

    func deepCopy() -> SimDir {
        SimDir(
            entries.mapValues { node in
                switch node {
                case .dir(let dir): return .dir(dir.deepCopy())
                case .file(let file): return .file(SimFile(file.content, owner: file.owner))
                }
            }, owner: owner)
    }
}

final class SimFile {
    var content: String {
        didSet {
            let old = size
            size = Int64(content.utf8.count)
            ledger?.bytes += Int(size - old)
        }
    }
    /// The cgroup charged for this file's bytes (files on a Memory emptyDir).
    var charged: SimCgroup?
    /// The kernel ledger that counts this file's bytes (files a process wrote), until it goes.
    var ledger: SimLedger? {
        didSet {
            oldValue?.bytes -= Int(size)
            ledger?.bytes += Int(size)
        }
    }
    private(set) var size: Int64
    var owner: SimOwner

    init(_ content: String, owner: SimOwner = SimOwner(mode: 0o644)) {
        self.content = content
        self.owner = owner
        size = Int64(content.utf8.count)
    }

    deinit { ledger?.bytes -= Int(size) }
}

enum SimNode {
    case dir(SimDir)
    case file(SimFile)

    var isDirectory: Bool {
        if case .dir = self { return true }
        return false
    }

    var owner: SimOwner {
        switch self {
        case .dir(let dir): return dir.owner
        case .file(let file): return file.owner
        }
    }
}

/// A pod volume: its tree (or file, for a hostPath of type File) and its accounting.
final class SimVolume {
    enum Medium {
        case disk
        /// tmpfs: bytes written are charged to the writer's memory cgroup.
        case memory
    }

    let name: String
    let root: SimNode
    let medium: Medium
    /// `sizeLimit`, as given and in bytes.
    let limit: Quantity?
    let sizeLimit: Int64?
    var usage: Int64 = 0
    /// A disk volume past its sizeLimit is reported here once (kubelet's eviction manager sees
    /// it); the sandbox it belongs to, for the report.
    let evictions: SimEvictions?
    var sandbox: SandboxID?
    private var reported = false

    init(name: String, root: SimNode, medium: Medium = .disk, limit: Quantity? = nil, evictions: SimEvictions? = nil) {
        (self.name, self.root, self.medium, self.limit, self.evictions) = (name, root, medium, limit, evictions)
        sizeLimit = limit?.value
    }

    /// Called after a write that left more than sizeLimit in it.
    func exceededLimit() {
        guard !reported, let evictions else { return }
        reported = true
        evictions.volumes.append(self)
    }
}

/// Disk volumes that went past their sizeLimit, oldest first, for the backend to report as
/// evictions (a real disk takes the writes; kubelet then evicts the pod).
final class SimEvictions {
    var volumes: [SimVolume] = []
}

/// A mount: a volume's tree (or a part of it, for subPath) at a path of a mount namespace.
struct SimMount {
    let path: [String]
    let node: SimNode
    let readOnly: Bool
    /// The volume whose accounting applies (nil for host trees).
    let volume: SimVolume?
}

/// Path operations through a mount namespace. Errors are errno values, as the syscalls give.
struct SimFileSystem {
    let namespace: SimMountNamespace
    let cwd: String
    /// Whose writes these are: permission bits are checked against them.
    var credentials = SimCredentials.root

    /// The components of `path` made absolute against the working directory, with `.` and
    /// `..` resolved lexically.
    func components(_ path: String) -> [String] {
        let full = path.hasPrefix("/") ? path : cwd + "/" + path
        var out: [String] = []
        for part in full.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !out.isEmpty { out.removeLast() }
                continue
            }
            out.append(String(part))
        }
        return out
    }

    /// Where `path` lands: the mount holding it (nil: the root tree) and the rest of the path.
    private func locate(_ parts: [String]) -> (node: SimNode, rest: ArraySlice<String>, mount: SimMount?) {
        var best: SimMount?
        for mount in namespace.mounts where mount.path.count <= parts.count && Array(parts.prefix(mount.path.count)) == mount.path {
            if mount.path.count >= (best?.path.count ?? -1) { best = mount }
        }
        if let best { return (best.node, parts[best.path.count...], best) }
        return (.dir(namespace.root), parts[0...], nil)
    }

    private func walk(_ start: SimNode, _ rest: ArraySlice<String>) -> Result<SimNode, SimErrno> {
        var node = start
        for name in rest {
            guard case .dir(let dir) = node else { return .failure(.ENOTDIR) }
            guard let next = dir.entries[name] else { return .failure(.ENOENT) }
            node = next
        }
        return .success(node)
    }

    /// Linux's limits on a path: PATH_MAX (4,096 bytes with the NUL) and NAME_MAX (255 bytes a
    /// component); past them every call fails with ENAMETOOLONG ("File name too long").
    static let pathMax = 4096
    static let nameMax = 255

    static func nameError(_ path: String) -> SimErrno? {
        if path.utf8.count >= pathMax { return .ENAMETOOLONG }
        if path.utf8.split(separator: UInt8(ascii: "/")).contains(where: { $0.count > nameMax }) { return .ENAMETOOLONG }
        return nil
    }

    func stat(_ path: String) -> Result<SimNode, SimErrno> {
        if let error = SimFileSystem.nameError(path) { return .failure(error) }
        let located = locate(components(path))
        return walk(located.node, located.rest)
    }

    func read(_ path: String) -> Result<String, SimErrno> {
        switch stat(path) {
        case .failure(let error): return .failure(error)
        case .success(.dir): return .failure(.EISDIR)
        case .success(.file(let file)): return .success(file.content)
        }
    }

    /// Names in a directory, sorted; a file lists as itself.
    func list(_ path: String) -> Result<[String], SimErrno> {
        switch stat(path) {
        case .failure(let error): return .failure(error)
        case .success(.file): return .success([components(path).last ?? path])
        case .success(.dir(let dir)): return .success(dir.entries.keys.sorted())
        }
    }

    /// The directory that will hold `parts.last`, made writable (copy-on-write of the root),
    /// with the mount it is on.
    private func parentForWriting(_ parts: [String]) -> Result<(dir: SimDir, mount: SimMount?), SimErrno> {
        guard !parts.isEmpty else { return .failure(.EEXIST) }
        var located = locate(Array(parts.dropLast()))
        if let mount = located.mount, mount.readOnly { return .failure(.EROFS) }
        if located.mount == nil && namespace.rootReadOnly { return .failure(.EROFS) }
        if located.mount == nil && namespace.rootShared {
            namespace.root = namespace.root.deepCopy()
            namespace.rootShared = false
            located = locate(Array(parts.dropLast()))
        }
        switch walk(located.node, located.rest) {
        case .failure(let error): return .failure(error)
        case .success(.file): return .failure(.ENOTDIR)
        case .success(.dir(let dir)):
            guard credentials.mayWrite(dir.owner) else { return .failure(.EACCES) }
            return .success((dir, located.mount))
        }
    }

    /// Creates or replaces (or appends to) a file. `charge` is asked to account bytes written
    /// to a Memory volume (it may refuse: the writer was OOM-killed); `ledger` counts the file's
    /// bytes from then on (the kernel's, for what processes write).
    func write(
        _ path: String, _ data: String, append: Bool, ledger: SimLedger? = nil, charge: (SimFile, Int64) -> Bool
    ) -> SimErrno? {
        if let error = SimFileSystem.nameError(path) { return error }
        let parts = components(path)
        // A file mounted at exactly this path (hostPath of type File).
        let located = locate(parts)
        if located.rest.isEmpty, let mount = located.mount, case .file(let file) = mount.node {
            if mount.readOnly { return .EROFS }
            if !credentials.mayWrite(file.owner) { return .EACCES }
            file.content = append ? file.content + data : data
            if file.ledger == nil { file.ledger = ledger }
            return nil
        }
        let parent: (dir: SimDir, mount: SimMount?)
        switch parentForWriting(parts) {
        case .failure(let error): return error
        case .success(let found): parent = found
        }
        let name = parts[parts.count - 1]
        let existing = parent.dir.entries[name]
        if case .dir = existing { return .EISDIR }
        var file: SimFile
        if case .file(let old) = existing {
            // Writing an existing file takes its own write permission, not the directory's.
            guard credentials.mayWrite(old.owner) else { return .EACCES }
            file = old
        } else {
            file = SimFile("", owner: credentials.owner(creatingIn: parent.dir.owner, isDirectory: false))
        }
        let newContent = append ? file.content + data : data
        let delta = Int64(newContent.utf8.count) - file.size
        if let volume = parent.mount?.volume {
            // A Memory emptyDir is a tmpfs of that size: the write fails. A disk takes it, and
            // the pod is evicted.
            let over = volume.sizeLimit.map { delta > 0 && volume.usage + delta > $0 } ?? false
            if over && volume.medium == .memory { return .ENOSPC }
            if volume.medium == .memory, !charge(file, Int64(newContent.utf8.count)) { return .ENOMEM }
            volume.usage += delta
            if over { volume.exceededLimit() }
        }
        file.content = newContent
        if file.ledger == nil { file.ledger = ledger }
        if existing == nil {
            parent.dir.entries[name] = .file(file)
        }
        return nil
    }

    func mkdir(_ path: String, parents: Bool) -> SimErrno? {
        if let error = SimFileSystem.nameError(path) { return error }
        let parts = components(path)
        if parents {
            for depth in 1...max(1, parts.count) where !parts.isEmpty {
                let prefix = Array(parts.prefix(depth))
                switch stat("/" + prefix.joined(separator: "/")) {
                case .success(.dir): continue
                case .success(.file): return .ENOTDIR
                case .failure:
                    if let error = makeDirectory(prefix) { return error }
                }
            }
            return nil
        }
        if case .success = stat(path) { return .EEXIST }
        return makeDirectory(parts)
    }

    private func makeDirectory(_ parts: [String]) -> SimErrno? {
        switch parentForWriting(parts) {
        case .failure(let error): return error
        case .success(let parent):
            let name = parts[parts.count - 1]
            if parent.dir.entries[name] != nil { return .EEXIST }
            parent.dir.entries[name] = .dir(SimDir(owner: credentials.owner(creatingIn: parent.dir.owner, isDirectory: true)))
            return nil
        }
    }

    /// Removes a file, or a directory tree with `recursive`; `uncharge` gives back the memory
    /// of removed files.
    func remove(_ path: String, recursive: Bool, uncharge: (SimFile) -> Void) -> SimErrno? {
        if let error = SimFileSystem.nameError(path) { return error }
        let parts = components(path)
        if parts.isEmpty || namespace.mounts.contains(where: { $0.path == parts }) { return .EBUSY }
        let target: SimNode
        switch stat(path) {
        case .failure(let error): return error
        case .success(let node): target = node
        }
        if case .dir = target, !recursive { return .EISDIR }
        let parent: (dir: SimDir, mount: SimMount?)
        switch parentForWriting(parts) {
        case .failure(let error): return error
        case .success(let found): parent = found
        }
        let name = parts[parts.count - 1]
        if let entry = parent.dir.entries[name], !credentials.mayUnlink(entry.owner, in: parent.dir.owner) { return .EPERM }
        guard let node = parent.dir.entries.removeValue(forKey: name) else { return .ENOENT }
        var freed: Int64 = 0
        func release(_ node: SimNode) {
            switch node {
            case .file(let file):
                freed += file.size
                uncharge(file)
            case .dir(let dir):
                for child in dir.entries.values { release(child) }
            }
        }
        release(node)
        if let volume = parent.mount?.volume { volume.usage -= freed }
        return nil
    }
}

/// The trees the simulated kernel starts with.
enum SimTrees {
    /// The container image: a busybox-like root, shared by every container until it writes.
    static func image() -> SimDir {
        SimDir([
            "bin": .dir(SimDir()), "dev": .dir(SimDir()), "home": .dir(SimDir()), "proc": .dir(SimDir()),
            "root": .dir(SimDir(owner: SimOwner(mode: 0o700))), "sys": .dir(SimDir()),
            "tmp": .dir(SimDir(owner: SimOwner(mode: 0o1777))), "usr": .dir(SimDir()),
            "var": .dir(SimDir()),
            "etc": .dir(
                SimDir([
                    "passwd": .file(SimFile("root:x:0:0:root:/root:/bin/sh\n")),
                    "group": .file(SimFile("root:x:0:\n")),
                ])),
        ])
    }

    /// The host's root.
    static func host() -> SimDir {
        SimDir([
            "bin": .dir(SimDir()), "etc": .dir(SimDir(["hostname": .file(SimFile("\(SimKernel.hostHostname)\n"))])),
            "home": .dir(SimDir()), "root": .dir(SimDir()), "srv": .dir(SimDir()), "tmp": .dir(SimDir()),
            "var": .dir(SimDir(["log": .dir(SimDir())])),
        ])
    }
}
