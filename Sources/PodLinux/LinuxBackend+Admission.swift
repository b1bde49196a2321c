import PodKit

/// What the linux backend refuses of a valid spec before it makes anything: a container
/// without an image (there is no default root here, as in Kubernetes), the host's root unless
/// `allowHostImage`, and — as the Pod Security Standards' baseline, when the options say so —
/// host namespaces, hostPath volumes (`allowHostPaths: []`), privileged containers and the
/// rest of what baseline forbids of a securityContext.
extension LinuxBackend {
    /// The capabilities baseline lets a container add.
    static let baselineCapabilities: Set<String> = [
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
        "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    ]

    public func admissionErrors(_ spec: PodSpec) -> [FieldError] {
        var errors: [FieldError] = []
        let path = FieldPath("spec")
        func how(_ option: String, _ flag: String, _ allow: String) -> String {
            "(the backend option \(option); podsh \(flag), or PODSH_ALLOW=\(allow))"
        }
        func container(_ c: ContainerSpec, _ at: FieldPath) {
            if spec.hostUsers == false && c.image == ImageStore.hostImage {
                errors.append(
                    FieldError(
                        .forbidden, at.child("image"),
                        detail: "\"host\" with `hostUsers: false`: the host's root file system is not mapped into a pod's user namespace"))
            }
            if c.image.isEmpty {
                errors.append(FieldError(.required, at.child("image"), detail: "the linux backend has no default image"))
            } else if c.image == ImageStore.hostImage && !options.allowHostImage {
                errors.append(
                    FieldError(
                        .forbidden, at.child("image"),
                        detail: "\"host\" is the host's own root file system, not allowed \(how("allowHostImage", "--allow-host-image", "host-image"))"))
            }
            guard !options.allowPrivileged, let security = c.securityContext else { return }
            let sc = at.child("securityContext")
            let why = "violates PodSecurity \"baseline\" \(how("allowPrivileged", "--allow-privileged", "privileged"))"
            if security.privileged == true { errors.append(FieldError(.forbidden, sc.child("privileged"), detail: why)) }
            // Baseline compares the names as written: `CAP_CHOWN` is not in its list.
            for (i, name) in (security.capabilities?.add ?? []).enumerated() where !Self.baselineCapabilities.contains(name) {
                errors.append(FieldError(.forbidden, sc.child("capabilities").child("add").index(i), value: FieldError.quoted(name), detail: why))
            }
            if security.seccompProfile?.type == .unconfined {
                errors.append(FieldError(.forbidden, sc.child("seccompProfile").child("type"), value: "\"Unconfined\"", detail: why))
            }
        }
        for (i, c) in spec.initContainers.enumerated() { container(c, path.child("initContainers").index(i)) }
        for (i, c) in spec.containers.enumerated() { container(c, path.child("containers").index(i)) }
        if !options.allowPrivileged, spec.securityContext?.seccompProfile?.type == .unconfined {
            errors.append(
                FieldError(
                    .forbidden, path.child("securityContext").child("seccompProfile").child("type"), value: "\"Unconfined\"",
                    detail: "violates PodSecurity \"baseline\" \(how("allowPrivileged", "--allow-privileged", "privileged"))"))
        }
        if !options.allowHostNamespaces {
            for (field, on) in [("hostNetwork", spec.hostNetwork), ("hostPID", spec.hostPID), ("hostIPC", spec.hostIPC)] where on {
                errors.append(
                    FieldError(
                        .forbidden, path.child(field),
                        detail: "host namespaces violate PodSecurity \"baseline\" \(how("allowHostNamespaces", "--allow-host-namespaces", "host-namespaces"))"))
            }
        }
        if options.allowHostPaths?.isEmpty == true {
            for (i, volume) in spec.volumes.enumerated() {
                guard case .hostPath = volume.source else { continue }
                errors.append(
                    FieldError(
                        .forbidden, path.child("volumes").index(i).child("hostPath"),
                        detail: "hostPath volumes violate PodSecurity \"baseline\" (the backend option allowHostPaths; podsh --allow-host-path PREFIX, or PODSH_ALLOW=host-path:PREFIX)"))
            }
        }
        return errors
    }
}
