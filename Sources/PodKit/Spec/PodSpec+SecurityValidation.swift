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
    }

    mutating func checkContainerSecurity(_ context: SecurityContext, _ path: FieldPath) {
        checkID(context.runAsUser, path.child("runAsUser"))
        checkID(context.runAsGroup, path.child("runAsGroup"))
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
        // Every pod here shares the host's user namespace (`hostUsers: false` is not supported).
        if context.procMount == .unmasked {
            add(.invalid, path.child("procMount"), value: FieldError.quoted("Unmasked"), detail: "`hostUsers` must be false to use `Unmasked`")
        }
    }
}
