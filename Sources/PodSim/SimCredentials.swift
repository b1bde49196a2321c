import PodKit

/// A process's credentials as the simulated kernel checks them: uid, gid, supplementary groups
/// and effective capabilities (a non-root uid has none, as after runc's setuid), and who may
/// write what, by the owners and modes of the simulated files.
struct SimCredentials: Equatable {
    var uid: Int
    var gid: Int
    var groups: [Int]
    /// Effective capabilities, names without `CAP_`.
    var capabilities: Set<String>

    /// Every capability: the kernel's own processes and the host's.
    static let root = SimCredentials()

    func has(_ capability: String) -> Bool { capabilities.contains(capability) }

    /// Credentials with the capabilities they keep (none for a uid other than 0).
    init(uid: Int = 0, gid: Int = 0, groups: [Int] = [], capabilities: Set<String> = LinuxCapability.all) {
        // The kernel keeps the supplementary groups sorted (setgroups sorts them).
        (self.uid, self.gid, self.groups) = (uid, gid, groups.count > 1 ? groups.sorted() : groups)
        self.capabilities = uid == 0 ? capabilities : []
    }

    /// A container's credentials: `user` (the image's, resolved) overridden by the security
    /// context.
    init(image user: (uid: Int, gid: Int)?, security: ContainerSecurity) {
        var uid = user?.uid ?? 0
        var gid = user?.gid ?? 0
        if let runAsUser = security.runAsUser {
            // The sim's image has a passwd entry for root only: another uid's group is 0.
            if user?.uid != Int(runAsUser) { gid = 0 }
            uid = Int(runAsUser)
        }
        if let runAsGroup = security.runAsGroup { gid = Int(runAsGroup) }
        // A process whose user was set has its primary group among its groups (as runc sets
        // them); one left as the runtime's root has none.
        let userSet = user != nil || security.runAsUser != nil || security.runAsGroup != nil || !security.supplementalGroups.isEmpty
        var groups: [Int] = userSet ? [gid] : []
        for group in security.supplementalGroups.map({ Int($0) }) where !groups.contains(group) { groups.append(group) }
        self.init(uid: uid, gid: gid, groups: groups, capabilities: security.capabilities)
    }

    /// Whether these credentials may write to a node owned by `owner`: the owner's, group's or
    /// others' write bit, or CAP_DAC_OVERRIDE.
    func mayWrite(_ owner: SimOwner) -> Bool {
        if has("DAC_OVERRIDE") { return true }
        if uid == owner.uid { return owner.mode & 0o200 != 0 }
        if gid == owner.gid || groups.contains(owner.gid) { return owner.mode & 0o020 != 0 }
        return owner.mode & 0o002 != 0
    }

    /// Whether these credentials may remove or rename `entry` of a directory owned by
    /// `directory` (its sticky bit: only the entry's or the directory's owner).
    func mayUnlink(_ entry: SimOwner, in directory: SimOwner) -> Bool {
        guard mayWrite(directory) else { return false }
        if directory.mode & 0o1000 == 0 || has("FOWNER") { return true }
        return uid == entry.uid || uid == directory.uid
    }

    /// The owner of a file (0644) or directory (0755) these credentials create in `directory`:
    /// its group, and for a directory its set-group-ID bit, when `directory` is set-group-ID.
    func owner(creatingIn directory: SimOwner, isDirectory: Bool) -> SimOwner {
        let setgid = directory.mode & 0o2000 != 0
        let mode = isDirectory ? (setgid ? 0o2755 : 0o755) : 0o644
        return SimOwner(uid: uid, gid: setgid ? directory.gid : gid, mode: mode)
    }
}

/// Who owns a simulated file or directory, and its permission bits.
struct SimOwner: Equatable {
    var uid = 0
    var gid = 0
    var mode = 0o755
}
