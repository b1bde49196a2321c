import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// A pod's volumes on the host: emptyDir as a per-pod directory (a tmpfs with `size=` for
/// medium Memory), configMap files written into a per-pod directory, hostPath after Kubernetes'
/// type checks and the allowed prefixes. A container's mounts are opened as descriptors here,
/// subPath resolved beneath the volume (`openat2` with RESOLVE_BENEATH: no `..`, no symlink
/// out), so no path is resolved again by the child.
struct LinuxVolumes {
    struct Volume {
        let name: String
        /// The directory (or file, for a hostPath of type File) on the host.
        let path: String
        /// configMap volumes are always read-only.
        let forcedReadOnly: Bool
        /// Missing subPath directories may be made in it (not in a configMap).
        let writable: Bool
        /// hostPath only: the prefixes its resolved path must stay within (nil: any).
        let allowed: [String]?
    }

    /// Gives the tree at `path` (made by the pod) to `uid`:`gid`, not following symlinks.
    static func chownTree(_ path: String, uid: uid_t, gid: gid_t, volume: String, operation: String) throws(BackendError) {
        guard lchown(path, uid, gid) == 0 else {
            throw BackendError(.unsupported, operation, "volume \"\(volume)\": \(call("chown", path, errno))")
        }
        for entry in LinuxSystem.entries(of: path) {
            let child = path + "/" + entry.name
            if entry.isDirectory {
                try chownTree(child, uid: uid, gid: gid, volume: volume, operation: operation)
            } else if lchown(child, uid, gid) != 0 {
                throw BackendError(.unsupported, operation, "volume \"\(volume)\": \(call("chown", child, errno))")
            }
        }
    }

    /// Gives the tree at `path` (made by the pod, so no symlink leads out of it) to `group`.
    static func own(_ path: String, group: gid_t, writable: Bool, volume: String, operation: String) throws(BackendError) {
        func visit(_ path: String) throws(BackendError) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return }
            let isDirectory = info.st_mode & S_IFMT == S_IFDIR
            let added: mode_t = isDirectory ? (writable ? 0o2070 : 0o2050) : (writable ? 0o060 : 0o040)
            guard lchown(path, uid_t.max, group) == 0, info.st_mode & S_IFMT == S_IFLNK || chmod(path, (info.st_mode & 0o7777) | added) == 0
            else {
                throw BackendError(.unsupported, operation, "volume \"\(volume)\": fsGroup \(group): \(call("chown", path, errno))")
            }
            guard isDirectory else { return }
            for entry in LinuxSystem.entries(of: path) { try visit(path + "/" + entry.name) }
        }
        try visit(path)
    }

    private(set) var volumes: [String: Volume] = [:]
    /// tmpfs mounts made on the host (Memory emptyDirs), to unmount at removal.
    private(set) var mounts: [String] = []
    /// Disk emptyDirs with a sizeLimit, which kubelet's eviction manager watches (a Memory one
    /// is a tmpfs of that size: it cannot hold more).
    private(set) var sizeLimited: [(name: String, path: String, limit: Quantity)] = []

    /// Prepares every volume of `spec` below `podDir`; on a failure, undoes what it made.
    /// With `fsGroup`, the emptyDir and configMap volumes belong to that group as kubelet's
    /// `SetVolumeOwnership` makes them: set-group-ID directories (files made in them get the
    /// group), group-writable (emptyDir) or group-readable (configMap).
    /// With `idBase` (a pod of `hostUsers: false`), the emptyDir and configMap volumes belong
    /// to the pod's root (host ID `idBase`), and fsGroup is a group inside the pod's range.
    static func make(
        _ volumes: [VolumeSpec], podDir: String, allowHostPaths: [String]?, fsGroup: Int64? = nil, idBase: UInt32? = nil,
        operation: String
    ) throws(BackendError) -> LinuxVolumes {
        var made = LinuxVolumes()
        do {
            for volume in volumes {
                try made.add(volume, podDir: podDir, allowHostPaths: allowHostPaths, operation: operation)
                if case .hostPath = volume.source { continue }
                guard let made = made.volumes[volume.name] else { continue }
                if let idBase {
                    try Self.chownTree(made.path, uid: uid_t(idBase), gid: gid_t(idBase), volume: volume.name, operation: operation)
                }
                if let fsGroup {
                    let group = gid_t(fsGroup) + gid_t(idBase ?? 0)
                    try Self.own(made.path, group: group, writable: made.writable, volume: volume.name, operation: operation)
                }
            }
        } catch {
            made.release()
            throw error
        }
        return made
    }

    private mutating func add(_ volume: VolumeSpec, podDir: String, allowHostPaths: [String]?, operation: String) throws(BackendError) {
        func fail(_ message: String) -> BackendError {
            BackendError(.unsupported, operation, "volume \"\(volume.name)\": \(message)")
        }
        let dir = podDir + "/volumes/" + volume.name
        switch volume.source {
        case .emptyDir(let source):
            if let code = LinuxSystem.makeDirectories(dir, mode: 0o777) { throw fail(call("mkdir", dir, code)) }
            if source.medium == .memory {
                var options = "mode=1777"
                if let limit = source.sizeLimit?.value { options += ",size=\(max(limit, 4096))" }
                guard mount("tmpfs", dir, "tmpfs", UInt(MS_NOSUID | MS_NODEV), options) == 0 else {
                    throw fail(call("mount", "tmpfs, \(dir), \(options)", errno))
                }
                mounts.append(dir)
            } else if let limit = source.sizeLimit, limit > .zero {
                sizeLimited.append((volume.name, dir, limit))
            }
            volumes[volume.name] = Volume(name: volume.name, path: dir, forcedReadOnly: false, writable: true, allowed: nil)
        case .configMap(let source):
            if let code = LinuxSystem.makeDirectories(dir, mode: 0o755) { throw fail(call("mkdir", dir, code)) }
            for (key, value) in source.data.sorted(by: { $0.key < $1.key }) {
                guard !key.isEmpty, !key.contains("/"), key != ".", key != ".." else { throw fail("bad key \"\(key)\"") }
                if let code = LinuxSystem.writeFile(dir + "/" + key, value) { throw fail(call("write", dir + "/" + key, code)) }
            }
            volumes[volume.name] = Volume(name: volume.name, path: dir, forcedReadOnly: true, writable: false, allowed: nil)
        case .hostPath(let source):
            let path = source.path
            guard path.hasPrefix("/") else { throw fail("hostPath \(path) is not absolute") }
            if let allowed = allowHostPaths, !allowed.contains(where: { LinuxSystem.isWithin(path, $0) }) {
                throw fail("hostPath \(path) is outside the allowed prefixes (\(allowed.joined(separator: ", ")))")
            }
            var info = stat()
            let exists = stat(path, &info) == 0
            let isDir = exists && (info.st_mode & S_IFMT) == S_IFDIR
            func typeFail(_ what: String) -> BackendError { fail("hostPath type check failed: \(path) \(what)") }
            switch source.type {
            case .directoryOrCreate where !exists, .unset where !exists:
                if let allowed = allowHostPaths {
                    try Self.createBeneath(path, allowed: allowed, file: false, fail: typeFail)
                } else if let code = LinuxSystem.makeDirectories(path, mode: 0o755) {
                    throw typeFail("cannot be created: \(call("mkdir", path, code))")
                }
            case .fileOrCreate where !exists:
                if let allowed = allowHostPaths {
                    try Self.createBeneath(path, allowed: allowed, file: true, fail: typeFail)
                } else {
                    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
                    guard fd >= 0 else { throw typeFail("cannot be created: \(call("open", path, errno))") }
                    close(fd)
                }
            case .directory where !exists, .file where !exists:
                throw typeFail("does not exist")
            case .directory where !isDir, .directoryOrCreate where !isDir:
                throw typeFail("is not a directory")
            case .file where isDir, .fileOrCreate where isDir:
                throw typeFail("is not a file")
            default:
                break
            }
            // The resolved path must stay within the prefixes too (a symlink out of them is refused).
            let resolvedPrefixes = allowHostPaths.map { $0.map { LinuxSystem.realPath($0) ?? $0 } }
            if let allowed = resolvedPrefixes, let resolved = LinuxSystem.realPath(path),
                !allowed.contains(where: { LinuxSystem.isWithin(resolved, $0) })
            {
                throw fail("hostPath \(path) resolves to \(resolved), outside the allowed prefixes")
            }
            volumes[volume.name] = Volume(
                name: volume.name, path: path, forcedReadOnly: false, writable: true,
                allowed: resolvedPrefixes)
        }
    }

    /// Creates the missing hostPath `path` — its directories, or (`file`) an empty file in a
    /// directory that exists, as kubelet's FileOrCreate — below the allowed prefix that holds
    /// it, resolved one component at a time with `openat2` (RESOLVE_BENEATH): a symlink or `..`
    /// on the way that leads out of the prefix creates nothing (checking the resolved path only
    /// afterwards would have created it already).
    static func createBeneath(
        _ path: String, allowed: [String], file: Bool, fail: (String) -> BackendError
    ) throws(BackendError) {
        guard let prefix = allowed.first(where: { LinuxSystem.isWithin(path, $0) }) else {
            throw fail("is outside the allowed prefixes")
        }
        let base = LinuxSystem.realPath(prefix) ?? prefix
        let root = Glibc.open(base, podspawn_o_path() | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw fail("cannot be created: \(call("open", base, errno))") }
        defer { close(root) }
        var relative = String(path.dropFirst(prefix.count))
        while relative.hasPrefix("/") { relative.removeFirst() }
        while relative.hasSuffix("/") { relative.removeLast() }
        let escape = "leads out of the allowed prefix \(prefix)"
        if !file {
            guard !relative.isEmpty else { return }
            close(try openBeneath(root, relative, create: true, what: "hostPath", escape: escape, fail: fail))
            return
        }
        let slash = relative.lastIndex(of: "/")
        let name = slash.map { String(relative[relative.index(after: $0)...]) } ?? relative
        let parentPath = slash.map { String(relative[..<$0]) } ?? ""
        guard !name.isEmpty, name != ".", name != ".." else { throw fail("cannot be created: it names no file") }
        let parent = parentPath.isEmpty ? dup(root) : try openBeneath(root, parentPath, create: false, what: "hostPath", escape: escape, fail: fail)
        defer { close(parent) }
        let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if fd < 0 && errno != EEXIST { throw fail("cannot be created: \(call("openat", path, errno))") }
        if fd >= 0 { close(fd) }
    }

    /// Unmounts what was mounted on the host.
    mutating func release() {
        for dir in mounts.reversed() { umount2(dir, Int32(MNT_DETACH)) }
        mounts = []
    }

    /// A container's mount, opened.
    struct Opened {
        let fd: Int32
        let target: String
        let readOnly: Bool
        let isFile: Bool
    }

    /// Opens the sources of `container`'s volume mounts (the caller closes the descriptors).
    func open(_ container: ContainerRequest, operation: String) throws(BackendError) -> [Opened] {
        var opened: [Opened] = []
        do {
            for mount in container.mounts {
                opened.append(try open(mount, operation: operation))
            }
        } catch {
            for o in opened { close(o.fd) }
            throw error
        }
        if opened.count > Int(PODSPAWN_MAX_MOUNTS) {
            for o in opened { close(o.fd) }
            throw BackendError(.unsupported, operation, "more than \(PODSPAWN_MAX_MOUNTS) volume mounts")
        }
        return opened
    }

    private func open(_ mount: VolumeMount, operation: String) throws(BackendError) -> Opened {
        func fail(_ message: String) -> BackendError {
            BackendError(.unsupported, operation, "volumeMount \"\(mount.name)\" at \(mount.mountPath): \(message)")
        }
        guard let volume = volumes[mount.name] else { throw fail("no volume named \(mount.name)") }
        var fd = Glibc.open(volume.path, podspawn_o_path() | O_CLOEXEC)
        guard fd >= 0 else { throw fail(call("open", volume.path, errno)) }
        if let allowed = volume.allowed, let resolved = LinuxSystem.pathOf(fd: fd),
            !allowed.contains(where: { LinuxSystem.isWithin(resolved, $0) })
        {
            close(fd)
            throw fail("hostPath resolves to \(resolved), outside the allowed prefixes")
        }
        if let subPath = mount.subPath, !subPath.isEmpty {
            let root = fd
            defer { close(root) }
            fd = try Self.openBeneath(root, subPath, create: volume.writable, fail: fail)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw fail(call("fstat", mount.subPath ?? volume.path, code))
        }
        return Opened(
            fd: fd, target: mount.mountPath, readOnly: mount.readOnly || volume.forcedReadOnly,
            isFile: (info.st_mode & S_IFMT) != S_IFDIR)
    }

    /// `path` below the directory `root`, never out of it; missing directories made one level at a
    /// time (each `mkdirat` names one entry of a directory already checked to be inside).
    static func openBeneath(
        _ root: Int32, _ path: String, create: Bool, what: String = "subPath", escape: String = "escapes the volume",
        fail: (String) -> BackendError
    ) throws(BackendError) -> Int32 {
        let flags = podspawn_o_path()
        let whole = podspawn_open_beneath(root, path, flags)
        if whole >= 0 { return whole }
        if errno == EXDEV || errno == ELOOP { throw fail("\(what) \(path) \(escape)") }
        guard errno == ENOENT, create else { throw fail(call("openat2", "\(what) \(path)", errno)) }
        var current = dup(root)
        var prefix = ""
        for part in path.split(separator: "/") where part != "." {
            prefix += (prefix.isEmpty ? "" : "/") + part
            var next = podspawn_open_beneath(root, prefix, flags)
            if next < 0 && errno == ENOENT {
                if mkdirat(current, String(part), 0o755) != 0 && errno != EEXIST {
                    let code = errno
                    close(current)
                    throw fail(call("mkdirat", "\(what) \(path), \(prefix)", code))
                }
                next = podspawn_open_beneath(root, prefix, flags)
            }
            guard next >= 0 else {
                let code = errno
                close(current)
                if code == EXDEV || code == ELOOP { throw fail("\(what) \(path) \(escape)") }
                throw fail(call("openat2", "\(what) \(path), \(prefix)", code))
            }
            close(current)
            current = next
        }
        return current
    }
}

/// `call(target): strerror`, as the funnel names failures (`SystemCall`).
private func call(_ name: String, _ target: String, _ code: Int32) -> String {
    "\(SystemCall.named(name, target)): \(LinuxSystem.describe(code))"
}
