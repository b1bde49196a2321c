/// Encoding a `PodSpec` to the node trees of its v1 manifest: the one tree both the manifest
/// writer (YAML text) and the flat Lua form are made from, so no text round trip stands between
/// a spec and a Lua table. Maps are in sorted key order; fields at their Kubernetes default
/// (false booleans, empty lists) are left out, as the API server writes them.
extension PodSpec {
    /// The manifest documents of this pod: a `ConfigMap` per distinct inline configMap volume,
    /// a `Secret` per imagePullSecret that came with its Secret, then the `v1.Pod`.
    public var manifestDocuments: [SpecNode] {
        ManifestNodes.configMapDocuments(self) + ManifestNodes.secretDocuments(self) + [ManifestNodes.podDocument(self)]
    }

    /// The spec in the flat form Lua scripts write (`name`, `labels` and the `spec` fields side
    /// by side), with the manifest's field choices (defaults left out, quantities as canonical
    /// strings, sorted keys) and configMap data inline. `PodSpec(flat:)` reads it back.
    public var flatNode: SpecNode {
        guard case .map(let top) = ManifestNodes.podDocument(self).value else { return SpecNode(.map([])) }
        var entries: [SpecNode.Entry] = []
        if case .map(let fields)? = top.first(where: { $0.key == "metadata" })?.node.value {
            entries += fields
        }
        if case .map(let fields)? = top.first(where: { $0.key == "spec" })?.node.value {
            entries += fields.map { entry in
                entry.key == "volumes" ? SpecNode.Entry("volumes", ManifestNodes.inlineConfigMaps(entry.node, of: self)) : entry
            }
        }
        return SpecNode(.map(entries.sorted { $0.key < $1.key }))
    }
}

/// The node builders of `manifestDocuments`.
enum ManifestNodes {
    static let apiVersion = "v1"

    static func configMapDocuments(_ spec: PodSpec) -> [SpecNode] {
        var seen: Set<String> = []
        var out: [SpecNode] = []
        for volume in spec.volumes {
            guard case .configMap(let source) = volume.source else { continue }
            let name = source.objectName(pod: spec.name, volume: volume.name)
            guard seen.insert(name).inserted else { continue }
            out.append(
                map([
                    ("apiVersion", string(apiVersion)),
                    ("data", stringMap(source.data)),
                    ("kind", string("ConfigMap")),
                    ("metadata", map([("name", string(name))])),
                ]))
        }
        return out
    }

    static func secretDocuments(_ spec: PodSpec) -> [SpecNode] {
        var seen: Set<String> = []
        return spec.imagePullSecrets.compactMap { reference -> SpecNode? in
            guard let secret = reference.secret, seen.insert(secret.name).inserted else { return nil }
            return map([
                ("apiVersion", string(apiVersion)),
                ("data", secret.data.isEmpty ? nil : SpecNode(.map(secret.data.keys.sorted().map { .init($0, string(Base64.encode(secret.data[$0] ?? []))) }))),
                ("kind", string("Secret")),
                ("metadata", map([("name", string(secret.name))])),
                ("type", string(secret.type)),
            ])
        }
    }

    static func podDocument(_ spec: PodSpec) -> SpecNode {
        var metadata: [(String, SpecNode?)] = [("name", string(spec.name))]
        if !spec.labels.isEmpty { metadata.append(("labels", stringMap(spec.labels))) }
        let podSpec: [(String, SpecNode?)] = [
            ("containers", list(spec.containers.map(container))),
            ("hostIPC", flag(spec.hostIPC)),
            ("hostNetwork", flag(spec.hostNetwork)),
            ("hostPID", flag(spec.hostPID)),
            ("hostUsers", spec.hostUsers.map { SpecNode(.bool($0)) }),
            ("hostname", spec.hostname.map(string)),
            ("imagePullSecrets", list(spec.imagePullSecrets.map { map([("name", string($0.name))]) })),
            ("initContainers", list(spec.initContainers.map(container))),
            ("resources", spec.resources.flatMap(resources)),
            ("restartPolicy", string(spec.restartPolicy.rawValue)),
            ("securityContext", spec.securityContext.flatMap(podSecurity)),
            ("shareProcessNamespace", flag(spec.shareProcessNamespace)),
            ("terminationGracePeriodSeconds", integer(spec.terminationGracePeriodSeconds)),
            ("volumes", list(spec.volumes.map { volume($0, pod: spec.name) })),
        ]
        return map([
            ("apiVersion", string(apiVersion)),
            ("kind", string("Pod")),
            ("metadata", map(metadata)),
            ("spec", map(podSpec)),
        ])
    }

    static func container(_ c: ContainerSpec) -> SpecNode {
        map([
            ("args", c.args.isEmpty ? nil : list(c.args.map(string))),
            ("command", c.command.isEmpty ? nil : list(c.command.map(string))),
            (
                "env",
                list(
                    c.env.map { v in
                        map([("name", string(v.name)), ("value", v.value.isEmpty ? nil : string(v.value))])
                    })
            ),
            ("image", c.image.isEmpty ? nil : string(c.image)),
            ("imagePullPolicy", c.imagePullPolicy.map { string($0.rawValue) }),
            ("name", string(c.name)),
            (
                "ports",
                list(
                    c.ports.map { p in
                        map([
                            ("containerPort", integer(Int64(p.containerPort))),
                            ("hostPort", p.hostPort.map { integer(Int64($0)) }),
                            ("protocol", string(p.protocol.rawValue)),
                        ])
                    })
            ),
            ("resources", resources(c.resources)),
            ("restartPolicy", c.restartPolicy.map { string($0.rawValue) }),
            ("securityContext", c.securityContext.flatMap(security)),
            (
                "volumeMounts",
                list(
                    c.volumeMounts.map { m in
                        map([
                            ("mountPath", string(m.mountPath)),
                            ("name", string(m.name)),
                            ("readOnly", flag(m.readOnly)),
                            ("subPath", m.subPath.map(string)),
                        ])
                    })
            ),
            ("workingDir", c.workingDir.map(string)),
        ])
    }

    static func podSecurity(_ s: PodSecurityContext) -> SpecNode? {
        if s.isEmpty { return nil }
        return map([
            ("fsGroup", s.fsGroup.map(integer)),
            ("fsGroupChangePolicy", s.fsGroupChangePolicy.map { string($0.rawValue) }),
            ("runAsGroup", s.runAsGroup.map(integer)),
            ("runAsNonRoot", s.runAsNonRoot.map { SpecNode(.bool($0)) }),
            ("runAsUser", s.runAsUser.map(integer)),
            ("seccompProfile", s.seccompProfile.map(seccomp)),
            ("supplementalGroups", list(s.supplementalGroups.map(integer))),
        ])
    }

    static func security(_ s: SecurityContext) -> SpecNode? {
        if s.isEmpty { return nil }
        let capabilities = s.capabilities.map { c in
            map([("add", list(c.add.map(string))), ("drop", list(c.drop.map(string)))])
        }
        return map([
            ("allowPrivilegeEscalation", s.allowPrivilegeEscalation.map { SpecNode(.bool($0)) }),
            ("capabilities", capabilities),
            ("privileged", s.privileged.map { SpecNode(.bool($0)) }),
            ("procMount", s.procMount.map { string($0.rawValue) }),
            ("readOnlyRootFilesystem", s.readOnlyRootFilesystem.map { SpecNode(.bool($0)) }),
            ("runAsGroup", s.runAsGroup.map(integer)),
            ("runAsNonRoot", s.runAsNonRoot.map { SpecNode(.bool($0)) }),
            ("runAsUser", s.runAsUser.map(integer)),
            ("seccompProfile", s.seccompProfile.map(seccomp)),
        ])
    }

    static func seccomp(_ p: SeccompProfile) -> SpecNode {
        map([("localhostProfile", p.localhostProfile.map(string)), ("type", string(p.type.rawValue))])
    }

    static func resources(_ r: ResourceRequirements) -> SpecNode? {
        func resourceList(_ l: ResourceList) -> SpecNode? {
            l.isEmpty ? nil : map(ResourceName.allCases.map { ($0.rawValue, l[$0].map { string($0.canonical) }) })
        }
        if r.isEmpty { return nil }
        return map([("limits", resourceList(r.limits)), ("requests", resourceList(r.requests))])
    }

    static func volume(_ v: VolumeSpec, pod: String) -> SpecNode {
        let source: (String, SpecNode)
        switch v.source {
        case .emptyDir(let e):
            source = (
                "emptyDir",
                map([
                    ("medium", e.medium == .disk ? nil : string(e.medium.rawValue)),
                    ("sizeLimit", e.sizeLimit.map { string($0.canonical) }),
                ])
            )
        case .hostPath(let h):
            source = (
                "hostPath",
                map([
                    ("path", string(h.path)),
                    ("type", h.type == .unset ? nil : string(h.type.rawValue)),
                ])
            )
        case .configMap(let c):
            source = ("configMap", map([("name", string(c.objectName(pod: pod, volume: v.name)))]))
        }
        return map([("name", string(v.name)), source])
    }

    /// Replaces each `configMap: {name: X}` reference of a volumes list by the inline
    /// `{data = ..., name = X}` of the flat form.
    static func inlineConfigMaps(_ node: SpecNode, of spec: PodSpec) -> SpecNode {
        guard case .array(let items) = node.value else { return node }
        return SpecNode(
            .array(
                items.map { item in
                    guard case .map(let fields) = item.value,
                        case .string(let name)? = fields.first(where: { $0.key == "name" })?.node.value,
                        case .configMap(let source)? = spec.volume(named: name)?.source
                    else { return item }
                    var inline: [(String, SpecNode?)] = [("data", stringMap(source.data))]
                    if let objectName = source.name { inline.append(("name", string(objectName))) }
                    return SpecNode(.map(fields.map { $0.key == "configMap" ? SpecNode.Entry("configMap", map(inline)) : $0 }))
                }))
    }

    // MARK: Node builders

    static func string(_ s: String) -> SpecNode { SpecNode(.string(s)) }
    static func integer(_ i: Int64) -> SpecNode { SpecNode(.number(String(i))) }
    /// `true` for true; nil (field left out) for false.
    static func flag(_ b: Bool) -> SpecNode? { b ? SpecNode(.bool(true)) : nil }
    /// A sequence, or nil (field left out) when empty.
    static func list(_ items: [SpecNode]) -> SpecNode? { items.isEmpty ? nil : SpecNode(.array(items)) }
    /// A mapping of the present entries, in sorted key order.
    static func map(_ entries: [(String, SpecNode?)]) -> SpecNode {
        let present = entries.compactMap { key, value in value.map { SpecNode.Entry(key, $0) } }
        return SpecNode(.map(present.sorted { $0.key < $1.key }))
    }
    static func stringMap(_ values: [String: String]) -> SpecNode {
        map(values.map { ($0.key, string($0.value)) })
    }
}
