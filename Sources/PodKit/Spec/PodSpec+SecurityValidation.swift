/// Validation of `securityContext`, pod and container level, with Kubernetes' messages.
extension SpecValidator {
    /// The range Kubernetes allows for a uid or gid.
    static let idRange: ClosedRange<Int64> = 0...2_147_483_647

    mutating func checkID(_ id: Int64?, _ path: @autoclosure () -> FieldPath) {
        guard let id, !Self.idRange.contains(id) else { return }
        add(.invalid, path(), value: String(id), detail: "must be between 0 and 2147483647, inclusive")
    }

    mutating func checkPodSecurity(_ context: PodSecurityContext, _ path: FieldPath) {
        checkID(context.runAsUser, path.child("runAsUser"))
        checkID(context.runAsGroup, path.child("runAsGroup"))
        checkID(context.fsGroup, path.child("fsGroup"))
        for (i, group) in context.supplementalGroups.enumerated() { checkID(group, path.child("supplementalGroups").index(i)) }
        if let profile = context.seccompProfile { checkSeccomp(profile, path.child("seccompProfile")) }
    }

    /// Kubernetes' seccompProfile rules; a Localhost file must stay below the seccomp directory.
    mutating func checkSeccomp(_ profile: SeccompProfile, _ path: FieldPath) {
        let file = path.child("localhostProfile")
        guard profile.type == .localhost else {
            if let given = profile.localhostProfile {
                add(.invalid, file, value: FieldError.quoted(given), detail: "can only be set when seccomp type is Localhost")
            }
            return
        }
        guard let given = profile.localhostProfile, !given.isEmpty else {
            add(.required, file, detail: "must be set when seccomp type is Localhost")
            return
        }
        if given.hasPrefix("/") {
            add(.invalid, file, value: FieldError.quoted(given), detail: "must be a relative path")
        } else if PathRules.hasDotDot(given) {
            add(.invalid, file, value: FieldError.quoted(given), detail: "must not contain '..'")
        } else if given.utf8.contains(0) {
            add(.invalid, file, value: FieldError.quoted(given), detail: "must not contain a NUL byte")
        }
    }

    mutating func checkContainerSecurity(_ context: SecurityContext, _ path: FieldPath, hostUsers: Bool?) {
        checkID(context.runAsUser, path.child("runAsUser"))
        checkID(context.runAsGroup, path.child("runAsGroup"))
        if let profile = context.seccompProfile { checkSeccomp(profile, path.child("seccompProfile")) }
        if let capabilities = context.capabilities {
            for (key, names) in [("add", capabilities.add), ("drop", capabilities.drop)] {
                for (i, name) in names.enumerated() where LinuxCapability.canonical(name) == nil {
                    add(
                        .unsupportedValue, path.child("capabilities").child(key).index(i), value: FieldError.quoted(name),
                        detail: "not a Linux capability (a name such as NET_ADMIN or SYS_TIME, without CAP_; or ALL)")
                }
            }
        }
        if context.allowPrivilegeEscalation == false {
            if context.privileged == true {
                add(.invalid, path, value: "privileged: true", detail: "cannot set `allowPrivilegeEscalation` to false and `privileged` to true")
            }
            if context.capabilities?.add.contains(where: { LinuxCapability.canonical($0) == "SYS_ADMIN" }) == true {
                add(
                    .invalid, path, value: "capabilities.add: SYS_ADMIN",
                    detail: "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN")
            }
        }
        if context.procMount == .unmasked && hostUsers != false {
            add(.invalid, path.child("procMount"), value: FieldError.quoted("Unmasked"), detail: "`hostUsers` must be false to use `Unmasked`")
        }
    }
}
