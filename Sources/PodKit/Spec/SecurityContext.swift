/// `spec.securityContext`: the pod-level security settings (`v1.PodSecurityContext`'s supported
/// fields). A container's own `securityContext` wins for the fields both have.
public struct PodSecurityContext: Sendable, Equatable {
    /// `runAsUser`: the uid of every container's process, unless the container sets its own.
    public var runAsUser: Int64?
    /// `runAsGroup`: the primary gid.
    public var runAsGroup: Int64?
    /// `runAsNonRoot`: a container that would run as uid 0 does not start
    /// (`CreateContainerConfigError`).
    public var runAsNonRoot: Bool?
    /// `supplementalGroups`: groups every container's first process has besides its primary one.
    public var supplementalGroups: [Int64]
    /// `fsGroup`: a supplementary group of every container, and the group that owns the pod's
    /// emptyDir and configMap volumes (set-group-ID directories, group-writable), as kubelet
    /// applies it.
    public var fsGroup: Int64?
    /// `fsGroupChangePolicy`: `Always` (the default) or `OnRootMismatch`; the volumes here are
    /// made by the pod, so both change every file.
    public var fsGroupChangePolicy: FSGroupChangePolicy?
    /// `seccompProfile`: every container's, unless it sets its own.
    public var seccompProfile: SeccompProfile?

    public init(
        runAsUser: Int64? = nil, runAsGroup: Int64? = nil, runAsNonRoot: Bool? = nil, supplementalGroups: [Int64] = [],
        fsGroup: Int64? = nil, fsGroupChangePolicy: FSGroupChangePolicy? = nil, seccompProfile: SeccompProfile? = nil
    ) {
        (self.runAsUser, self.runAsGroup, self.runAsNonRoot, self.supplementalGroups) =
            (runAsUser, runAsGroup, runAsNonRoot, supplementalGroups)
        (self.fsGroup, self.fsGroupChangePolicy, self.seccompProfile) = (fsGroup, fsGroupChangePolicy, seccompProfile)
    }

    /// Whether nothing is set (the manifest leaves the field out).
    public var isEmpty: Bool { self == PodSecurityContext() }
}

/// `fsGroupChangePolicy`.
public enum FSGroupChangePolicy: String, Sendable, Equatable, CaseIterable {
    case always = "Always"
    case onRootMismatch = "OnRootMismatch"
}

/// A container's `securityContext` (`v1.SecurityContext`'s supported fields).
public struct SecurityContext: Sendable, Equatable {
    /// `runAsUser`, `runAsGroup`, `runAsNonRoot`: as the pod's, and winning over them.
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    /// `capabilities`: added to and dropped from the runtime's default set.
    public var capabilities: Capabilities?
    /// `privileged`: every capability, no masked or read-only /proc and /sys paths, device
    /// nodes allowed.
    public var privileged: Bool?
    /// `readOnlyRootFilesystem`: the container's root is mounted read-only (volumes and the
    /// container's /tmp tmpfs stay writable).
    public var readOnlyRootFilesystem: Bool?
    /// `allowPrivilegeEscalation`: false sets no_new_privs (set-user-ID programs and file
    /// capabilities give nothing).
    public var allowPrivilegeEscalation: Bool?
    /// `procMount`: `Default` (masked and read-only /proc paths) or `Unmasked` (none; Kubernetes
    /// allows it only with `hostUsers: false`).
    public var procMount: ProcMountType?
    /// `seccompProfile`: RuntimeDefault (the default here, as in Podman), Unconfined, or a
    /// Localhost profile file.
    public var seccompProfile: SeccompProfile?

    public init(
        runAsUser: Int64? = nil, runAsGroup: Int64? = nil, runAsNonRoot: Bool? = nil, capabilities: Capabilities? = nil,
        privileged: Bool? = nil, readOnlyRootFilesystem: Bool? = nil, allowPrivilegeEscalation: Bool? = nil,
        procMount: ProcMountType? = nil, seccompProfile: SeccompProfile? = nil
    ) {
        (self.runAsUser, self.runAsGroup, self.runAsNonRoot, self.capabilities) = (runAsUser, runAsGroup, runAsNonRoot, capabilities)
        (self.privileged, self.readOnlyRootFilesystem, self.allowPrivilegeEscalation, self.procMount) =
            (privileged, readOnlyRootFilesystem, allowPrivilegeEscalation, procMount)
        self.seccompProfile = seccompProfile
    }

    /// Whether nothing is set (the manifest leaves the field out).
    public var isEmpty: Bool { self == SecurityContext() }
}

/// `capabilities`: names as Kubernetes writes them (`NET_ADMIN`; `CAP_NET_ADMIN` is accepted
/// too, as containerd does), or `ALL`.
public struct Capabilities: Sendable, Equatable {
    public var add: [String]
    public var drop: [String]

    public init(add: [String] = [], drop: [String] = []) { (self.add, self.drop) = (add, drop) }
}

/// `seccompProfile`: which seccomp filter a container runs under.
public struct SeccompProfile: Sendable, Equatable, Hashable {
    public enum ProfileType: String, Sendable, Equatable, Hashable, CaseIterable {
        /// The runtime's default profile (moby's default.json, here built in).
        case runtimeDefault = "RuntimeDefault"
        /// No filter.
        case unconfined = "Unconfined"
        /// A profile file (the OCI/Docker JSON format) below the backend's seccomp directory.
        case localhost = "Localhost"
    }

    public var type: ProfileType
    /// With `Localhost`: the file, relative to the backend's seccomp directory.
    public var localhostProfile: String?

    public init(type: ProfileType, localhostProfile: String? = nil) { (self.type, self.localhostProfile) = (type, localhostProfile) }

    public static let runtimeDefault = SeccompProfile(type: .runtimeDefault)
    public static let unconfined = SeccompProfile(type: .unconfined)
}

/// `procMount`.
public enum ProcMountType: String, Sendable, Equatable, CaseIterable {
    case `default` = "Default"
    case unmasked = "Unmasked"
}

/// The Linux capabilities by number (capability.h, kernel 6.x), the names without `CAP_`.
public enum LinuxCapability {
    public static let names: [String] = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    ]

    /// Every capability, as a set (built once).
    public static let all = Set(names)

    /// The set a container starts with: Docker's default without MKNOD (as Podman 4 has it).
    public static let defaultSet: Set<String> = [
        "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE",
        "NET_RAW", "SYS_CHROOT", "AUDIT_WRITE", "SETFCAP",
    ]

    /// `name` without a `CAP_` prefix and in upper case, if it names a capability (or `ALL`).
    public static func canonical(_ name: String) -> String? {
        var upper = name.uppercased()
        if upper.hasPrefix("CAP_") { upper.removeFirst(4) }
        return upper == "ALL" || names.contains(upper) ? upper : nil
    }

    /// The number of a capability name (without `CAP_`).
    public static func number(_ name: String) -> Int? { names.firstIndex(of: name) }
}

/// What a container runs as and with, resolved from its own and its pod's `securityContext`
/// (the container's fields winning), as kubelet hands it to the runtime.
public struct ContainerSecurity: Sendable, Equatable {
    /// `runAsUser`; nil: the image's user.
    public var runAsUser: Int64?
    /// `runAsGroup`; nil: the image user's group (or the passwd entry's of `runAsUser`).
    public var runAsGroup: Int64?
    /// The pod's `supplementalGroups` followed by its `fsGroup`, added to the groups the image's
    /// /etc/group gives the user.
    public var supplementalGroups: [Int64]
    /// The capabilities the process keeps (names without `CAP_`): every one when privileged.
    public var capabilities: Set<String>
    public var privileged: Bool
    public var readOnlyRootFilesystem: Bool
    /// no_new_privs: `allowPrivilegeEscalation: false`.
    public var noNewPrivileges: Bool
    /// No masked or read-only /proc paths (privileged, or `procMount: Unmasked`).
    public var unmaskedProc: Bool
    /// The seccomp profile: the container's, else the pod's, else RuntimeDefault; Unconfined
    /// when privileged (as Docker and containerd do).
    public var seccomp: SeccompProfile

    public init(
        runAsUser: Int64? = nil, runAsGroup: Int64? = nil, supplementalGroups: [Int64] = [],
        capabilities: Set<String> = LinuxCapability.defaultSet, privileged: Bool = false, readOnlyRootFilesystem: Bool = false,
        noNewPrivileges: Bool = false, unmaskedProc: Bool = false, seccomp: SeccompProfile = .runtimeDefault
    ) {
        (self.runAsUser, self.runAsGroup, self.supplementalGroups, self.capabilities) =
            (runAsUser, runAsGroup, supplementalGroups, capabilities)
        (self.privileged, self.readOnlyRootFilesystem, self.noNewPrivileges, self.unmaskedProc) =
            (privileged, readOnlyRootFilesystem, noNewPrivileges, unmaskedProc)
        self.seccomp = seccomp
    }

    /// The resolution for `container` of a pod with `pod`'s security context.
    public init(_ container: SecurityContext?, pod: PodSecurityContext?) {
        let c = container ?? SecurityContext()
        let p = pod ?? PodSecurityContext()
        let privileged = c.privileged ?? false
        var caps = LinuxCapability.defaultSet
        if let requested = c.capabilities {
            let drop = requested.drop.compactMap(LinuxCapability.canonical)
            let add = requested.add.compactMap(LinuxCapability.canonical)
            // As containerd: ALL in drop empties the set, then the adds; ALL in add is every one.
            if drop.contains("ALL") { caps = [] }
            caps.subtract(drop)
            caps.formUnion(add.filter { $0 != "ALL" })
            if add.contains("ALL") { caps = LinuxCapability.all }
        }
        if privileged { caps = LinuxCapability.all }
        var groups = p.supplementalGroups
        if let fsGroup = p.fsGroup, !groups.contains(fsGroup) { groups.append(fsGroup) }
        self.init(
            runAsUser: c.runAsUser ?? p.runAsUser, runAsGroup: c.runAsGroup ?? p.runAsGroup, supplementalGroups: groups,
            capabilities: caps, privileged: privileged, readOnlyRootFilesystem: c.readOnlyRootFilesystem ?? false,
            noNewPrivileges: c.allowPrivilegeEscalation == false,
            unmaskedProc: privileged || c.procMount == .unmasked,
            seccomp: privileged ? .unconfined : c.seccompProfile ?? p.seccompProfile ?? .runtimeDefault)
    }

    /// kubelet's `verifyRunAsNonRoot`: why a container with `runAsNonRoot` may not start as
    /// `imageUser` (the image's `User`; nil or empty: root), or nil when it may. `pod` is the
    /// pod as kubelet formats it in the message.
    public static func runAsNonRootViolation(
        _ container: SecurityContext?, pod: PodSecurityContext?, imageUser: String?, podName: String, containerName: String
    ) -> String? {
        guard (container?.runAsNonRoot ?? pod?.runAsNonRoot) == true else { return nil }
        let location = "(pod: \"\(podName)\", container: \(containerName))"
        if let uid = container?.runAsUser ?? pod?.runAsUser {
            return uid == 0 ? "container's runAsUser breaks non-root policy \(location)" : nil
        }
        let user = imageUser.map { String($0.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") } ?? ""
        if user.isEmpty || Int64(user) == 0 { return "container has runAsNonRoot and image will run as root \(location)" }
        if Int64(user) == nil {
            return "container has runAsNonRoot and image has non-numeric user (\(user)), cannot verify user is non-root \(location)"
        }
        return nil
    }
}
