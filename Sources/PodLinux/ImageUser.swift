import CImageLibs
import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// An image's `User` (`uid`, `uid:gid`, `name`, `name:group`) resolved as runc resolves it: names
/// from the image's own /etc/passwd and /etc/group (the top layer that has the file), the gid of
/// a user given alone from its passwd entry (0 when it has none), and the supplementary groups
/// the image's /etc/group gives it.
struct ImageUser: Equatable {
    var uid: uid_t
    var gid: gid_t
    var groups: [gid_t]

    /// `lower`: the container's lower directories, top first.
    static func resolve(_ user: String, lower: [String]) throws(BackendError) -> ImageUser {
        let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        func failure(_ message: String) -> BackendError { BackendError(.unsupported, "user \(user)", message) }
        let passwd = table("etc/passwd", lower)
        let groupTable = table("etc/group", lower)
        let entry: [String]?
        if let number = UInt32(parts[0]) {
            entry = passwd.first { $0.count > 3 && $0[2] == String(number) }
        } else {
            entry = passwd.first { $0.count > 3 && $0[0] == parts[0] }
            if entry == nil { throw failure("unable to find user \(parts[0]): no matching entries in passwd file") }
        }
        guard let uid = UInt32(parts[0]) ?? entry.flatMap({ UInt32($0[2]) }) else {
            throw failure("unable to find user \(parts[0]): no matching entries in passwd file")
        }
        var gid = entry.flatMap { UInt32($0[3]) } ?? 0
        if parts.count == 2 {
            if let number = UInt32(parts[1]) {
                gid = number
            } else if let group = groupTable.first(where: { $0.count > 2 && $0[0] == parts[1] }), let number = UInt32(group[2]) {
                gid = number
            } else {
                throw failure("unable to find group \(parts[1]): no matching entries in group file")
            }
        }
        var groups: [gid_t] = [gid]
        if let name = entry?[0] {
            for group in groupTable where group.count > 3 && group[3].split(separator: ",").contains(Substring(name)) {
                if let number = UInt32(group[2]), !groups.contains(number) { groups.append(number) }
            }
        }
        return ImageUser(uid: uid, gid: gid, groups: Array(groups.prefix(Int(PODSPAWN_MAX_GROUPS))))
    }

    /// The colon-separated lines of `relative` in the first of `lower` that has it as a regular
    /// file (read beneath the layer: a symlink there is not followed out of it).
    static func table(_ relative: String, _ lower: [String]) -> [[String]] {
        for dir in lower {
            let dirFD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dirFD >= 0 else { continue }
            defer { close(dirFD) }
            let fd = podimage_open_beneath(dirFD, relative, O_RDONLY, 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size < 4 << 20 else { continue }
            let text = String(decoding: LinuxSystem.readAll(fd: fd), as: UTF8.self)
            return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
                $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            }
        }
        return []
    }
}

extension ImageUser {
    /// What a container runs as: the image's `User` (nil: root), overridden by `runAsUser` (its
    /// gid then from the image's passwd entry for that uid, 0 without one, as containerd does)
    /// and `runAsGroup`, with the groups the image's /etc/group gives the user, then the pod's
    /// `supplementalGroups` and `fsGroup`. nil when all of it is root with no groups to set.
    static func effective(_ container: ContainerRequest, lower: [String]) throws(BackendError) -> ImageUser? {
        let security = container.security
        var user: ImageUser?
        if let name = container.user { user = try resolve(name, lower: lower) }
        if let uid = security.runAsUser {
            // The passwd entry of that uid, if the image has one, gives its gid and groups.
            let entry = table("etc/passwd", lower).first { $0.count > 3 && $0[2] == String(uid) }
            user = try resolve(entry.map { $0[0] } ?? String(uid), lower: lower)
            user?.uid = uid_t(uid)
        }
        if let gid = security.runAsGroup {
            var resolved = user ?? ImageUser(uid: 0, gid: 0, groups: [])
            resolved.groups.removeAll { $0 == resolved.gid }
            resolved.gid = gid_t(gid)
            resolved.groups.insert(resolved.gid, at: 0)
            user = resolved
        }
        if !security.supplementalGroups.isEmpty {
            var resolved = user ?? ImageUser(uid: 0, gid: 0, groups: [0])
            for group in security.supplementalGroups where !resolved.groups.contains(gid_t(group)) {
                resolved.groups.append(gid_t(group))
            }
            resolved.groups = Array(resolved.groups.prefix(Int(PODSPAWN_MAX_GROUPS)))
            user = resolved
        }
        return user
    }
}

extension ContainerSecurity {
    /// The capabilities kept, as the bit mask of capability.h.
    var capabilityMask: UInt64 {
        capabilities.reduce(0) { mask, name in LinuxCapability.number(name).map { mask | (1 << UInt64($0)) } ?? mask }
    }
}
